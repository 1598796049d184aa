"""A flow whose step raises: the play fails with the traceback."""
from hero_tracing import flow


@flow
def explode(reason: str):
    raise ValueError(f"boom: {reason}")


@flow
def main(reason: str = "on purpose"):
    explode(reason)
    return "unreachable"

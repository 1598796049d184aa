"""A flow that does not parse: the syntax error is on line 7."""
from hero_tracing import flow


@flow
def main(name: str = "world"):
    total = = 1
    return total

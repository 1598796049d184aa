"""A question with a deadline: `mode` says what happens when nobody
answers it in time: `default` takes a default, `catch` catches
PauseTimeout, `raise` lets it end the play."""
from hero_tracing import PauseTimeout, flow


@flow
def main(mode: str, timeout_s: float = 2.0):
    schema = {"type": "string"}
    if mode == "default":
        return {"answer": flow.pause("q", schema=schema, timeout_s=timeout_s, default="nobody")}
    if mode == "catch":
        try:
            return {"answer": flow.pause("q", schema=schema, timeout_s=timeout_s)}
        except PauseTimeout as e:
            return {"timed_out": str(e)}
    return {"answer": flow.pause("q", schema=schema, timeout_s=timeout_s)}

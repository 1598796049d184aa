"""Time asked for wrongly, one `case` at a time: each must fail clearly
(or, for a time already past, return at once) and store nothing."""
from hero_tracing import flow


@flow
def main(case: str):
    if case == "negative":
        return flow.pause("q", timeout_s=-1)
    if case == "nan":
        return flow.pause("q", timeout_s=float("nan"))
    if case == "past":
        flow.sleep_until("2020-01-01T00:00:00Z")
        return "woke"
    if case == "default":
        return flow.pause("q", schema={"type": "integer"}, timeout_s=60, default="x")
    raise ValueError(f"no case {case}")

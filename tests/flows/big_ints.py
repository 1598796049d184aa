"""Integers beyond 64 bits through every path: the input, a step's
checkpoint, a pause's answer (checked by its schema) and the output."""
from hero_tracing import flow


@flow
def twice(n: int) -> int:
    return n * 2


@flow
def main(n: int, m: int):
    doubled = twice(n)
    answer = flow.pause("big", schema={"type": "integer", "minimum": 0})
    return {"n": n, "m": m, "doubled": doubled, "answer": answer, "sum": n + answer}

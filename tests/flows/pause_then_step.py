"""A pause, then one durable step: the smallest resume, for volume."""
from hero_tracing import flow


@flow
def step(i: int) -> int:
    return i + 1


@flow
def main():
    flow.pause("go")
    return step(i=1)

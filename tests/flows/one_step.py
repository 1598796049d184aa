"""One durable step: the smallest play that checkpoints, for volume."""
from hero_tracing import flow


@flow
def step(i: int) -> int:
    return i + 1


@flow
def main(i: int = 0):
    return step(i=i)

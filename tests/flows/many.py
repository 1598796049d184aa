"""`n` quick steps: `main(n)` sums `step(i=i)` for `i < n`. The benches'
flow of many steps, and the tests' of flows checkpointing at once."""
from hero_tracing import flow


@flow
def step(i: int) -> int:
    return i


@flow
def main(n: int):
    return sum(step(i=i) for i in range(n))

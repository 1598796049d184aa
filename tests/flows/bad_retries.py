"""A step decorated with a negative retry count: refused when the flow is
saved (its `@flow(...)` is read, never run), before anything is stored."""
from hero_tracing import flow


@flow(retries=-1)
def step() -> int:
    return 1


@flow
def main():
    return step()

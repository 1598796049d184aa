"""pack: a child flow that the compose example runs in-process."""
from hero_tracing import flow


@flow
def weigh(items: list) -> int:
    return 250 * len(items)


@flow(name="pack")
def main(items: list):
    return {"boxes": 1 + len(items) // 3, "grams": weigh(items=items)}

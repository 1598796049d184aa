"""ship: a child flow that the compose example spawns as a play of its own.

It asks which carrier to use, so the spawned child pauses; its parent then
pauses too, holding no process, and goes on by itself when the child ends.
"""
from hero_tracing import ask_user, flow


@flow
def label(order: str, carrier: str) -> str:
    return f"{carrier.upper()}-{order}"


@flow(name="ship")
def main(order: str, grams: int):
    carrier = ask_user.choice("carrier", ["post", "courier"], prompt=f"Ship {order} ({grams} g) by?")
    return {"carrier": carrier, "label": label(order=order, carrier=carrier)}

"""Waits until a gate file exists (when given one), then for a signal
`paid` and two signals `item`: the signal tests send them before and after
each pause is reached."""
import os
import time

from hero_tracing import flow


@flow
def main(gate: str = ""):
    while gate and not os.path.exists(gate):
        time.sleep(0.01)
    paid = flow.pause("paid", schema={"type": "object", "required": ["tx"],
                                      "properties": {"tx": {"type": "string"}}})
    first = flow.pause("item", schema={"type": "integer"})
    second = flow.pause("item", schema={"type": "integer"})
    return {"tx": paid["tx"], "items": [first, second]}

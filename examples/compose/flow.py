"""compose: one flow built from two others with `flow.invoke`.

`pack` runs in-process: its steps become part of this play, under a span of
kind `subflow`. `ship` is spawned with `spawn=True` as a child play of its
own; this play waits for it, and pauses (holding no process) while the
child waits for its question to be answered.
"""
from hero_tracing import flow


@flow(name="compose")
def main(order: str, items: list):
    packed = flow.invoke("pack", items=items)
    shipped = flow.invoke("ship", spawn=True, order=order, grams=packed["grams"])
    return {"order": order, **packed, **shipped}

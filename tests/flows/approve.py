"""A step, then a person's yes or no: the dashboard's end-to-end test opens
this play, answers the confirm, and watches it reach `success`."""
from hero_tracing import flow


@flow
def prepare(order: int) -> dict:
    return {"order": order}


@flow
def main(order: int = 42):
    prepared = prepare(order=order)
    approved = flow.pause("approve", ui={"kind": "confirm", "prompt": f"Approve order {order}?"},
                          schema={"type": "boolean"})
    return {"order": prepared["order"], "approved": approved}

"""webhook: an order waits for its payment provider's callback.

`reserve` is the side effect that must happen once. `flow.pause("paid")`
is a machine pause (`ui` is None): no form, just a JSON answer with a
transaction id, which a payment provider's webhook posts to the pause's
`resume_url`. The schema refuses anything else with `422`, and the pause
stays open for the right answer.
"""
from hero_tracing import flow


@flow(outputs=["order"])
def reserve(order: str) -> dict:
    print(f"reserving stock for {order}")
    return {"order": order}


@flow(name="webhook")
def main(order: str = "order-1"):
    reserved = reserve(order=order)
    paid = flow.pause("paid", schema={
        "type": "object",
        "required": ["tx"],
        "properties": {"tx": {"type": "string"}, "amount": {"type": "number"}},
    })
    return {"order": reserved["order"], "tx": paid["tx"]}

"""headless: the approve flow, run without anyone there.

`--prefill 'approve=true'` answers the pause named `approve` before it is
asked: the pause returns the payload at once, is recorded as a received
resume, and the play runs to the end in one run. A glob works too:
`--prefill 'appro*=true'`.
"""
from hero_tracing import ask_user, flow


@flow(outputs=["record"])
def create_record(ledger: str, item: str) -> dict:
    with open(ledger, "a") as f:
        f.write(f"{item}\n")
    return {"record": item}


@flow
def main(ledger: str, item: str = "order-1"):
    created = create_record(ledger=ledger, item=item)
    approved = ask_user.confirm("approve", prompt=f"Approve {created['record']}?")
    return {"record": created["record"], "approved": approved}

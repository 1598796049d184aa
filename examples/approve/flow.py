"""approve: a side effect, then a person's yes or no.

`create_record` appends a line to a ledger file: a side effect that must
happen once. `ask_user.confirm` then pauses the play: the script exits, no
process waits, and the play is `awaiting_resume`. When the answer comes the
script runs again, `create_record` is replayed from its checkpoint (the
ledger gets no second line) and the confirm returns the answer.
"""
from hero_tracing import ask_user, flow


@flow(outputs=["record"])
def create_record(ledger: str, item: str) -> dict:
    with open(ledger, "a") as f:
        f.write(f"{item}\n")
    return {"record": item}


@flow(name="approve")
def main(ledger: str, item: str = "order-1"):
    created = create_record(ledger=ledger, item=item)
    approved = ask_user.confirm("approve", prompt=f"Approve {created['record']}?")
    return {"record": created["record"], "approved": approved}

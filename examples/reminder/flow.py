"""reminder: ask for an approval, remind once, then escalate.

The first question waits `wait_s` seconds for an answer. Nobody answers, so
the pause times out and raises `PauseTimeout`: the flow sends a reminder (a
step: it happens once) and asks again, this time with `default=False`, so
when that deadline passes too the pause resolves by itself as "not
approved" and the flow escalates. No process waits meanwhile: each question
parks the play and the server answers it at its deadline.
"""
from hero_tracing import PauseTimeout, ask_user, flow


@flow
def notify(log: str, message: str) -> str:
    with open(log, "a") as f:
        f.write(f"{message}\n")
    return message


@flow(name="reminder")
def main(log: str, item: str = "invoice-7", wait_s: float = 3.0):
    notify(log=log, message=f"asked to approve {item}")
    try:
        approved = ask_user.confirm("approve", prompt=f"Approve {item}?", timeout_s=wait_s)
        return {"approved": approved, "escalated": False}
    except PauseTimeout:
        notify(log=log, message=f"reminder: {item} still waits")
    # A default must be an answer the question takes: a confirm's is a boolean.
    approved = ask_user.confirm("approve_again", prompt=f"Approve {item}? (last call)",
                                timeout_s=wait_s, default=False)
    if not approved:
        notify(log=log, message=f"escalated {item} to the manager")
    return {"approved": approved, "escalated": not approved}

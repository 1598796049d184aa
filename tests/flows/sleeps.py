"""A step, a durable sleep, a step: each step notes in a ledger when its body
runs (with the process id), so a test can see that the sleep held no
process and that the step before it ran once."""
import os

from hero_tracing import flow


def note(ledger, line):
    with open(ledger, "a") as f:
        f.write(line + "\n")


@flow
def before(ledger: str) -> int:
    note(ledger, f"before {os.getpid()}")
    return os.getpid()


@flow
def after(ledger: str) -> int:
    note(ledger, f"after {os.getpid()}")
    return os.getpid()


@flow
def main(ledger: str, seconds: float = 3.0):
    first = before(ledger=ledger)
    flow.sleep(seconds)
    second = after(ledger=ledger)
    return {"before": first, "after": second}

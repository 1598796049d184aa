"""Steps that fail before they work: each attempt notes itself in a ledger.
`flaky` waits 0.1 s between attempts, `slow` 2.5 s (so the play parks on a
timer between them), `doomed` raises Fatal, which is never retried."""
from hero_tracing import Fatal, flow


def attempt(ledger, what):
    with open(ledger, "a+") as f:
        f.seek(0)
        n = sum(1 for line in f if line.startswith(what)) + 1
        f.write(f"{what} {n}\n")
    return n


@flow(retries=2, retry_delay_s=0.1)
def flaky(ledger: str, fail_times: int) -> int:
    n = attempt(ledger, "flaky")
    if n <= fail_times:
        raise RuntimeError(f"flaky attempt {n} failed")
    return n


@flow(retries=2, retry_delay_s=2.5, backoff=1.0)
def slow(ledger: str, fail_times: int) -> int:
    n = attempt(ledger, "slow")
    if n <= fail_times:
        raise RuntimeError(f"slow attempt {n} failed")
    return n


@flow(retries=3, retry_delay_s=0.1)
def doomed(ledger: str) -> int:
    attempt(ledger, "doomed")
    raise Fatal("no point in trying again")


@flow
def main(ledger: str, step: str = "flaky", fail_times: int = 2):
    if step == "flaky":
        return flaky(ledger=ledger, fail_times=fail_times)
    if step == "slow":
        return slow(ledger=ledger, fail_times=fail_times)
    return doomed(ledger=ledger)

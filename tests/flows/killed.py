# Half-way through, the first `kills` runs wait to be killed, after the
# step before has been checkpointed: each run notes its pid in `pids`, and
# in `waits` that it waits.

import os, time
from hero_tracing import flow

@flow
def step(i: int, ledger: str) -> int:
    with open(ledger, "a") as f:
        f.write(f"{i}\n")
    return i

def note(path, text):
    with open(path, "a") as f:
        f.write(f"{text}\n")

@flow
def main(ledger: str, pids: str, waits: str, n: int, kills: int):
    note(pids, os.getpid())
    for i in range(n):
        step(i=i, ledger=ledger)
        if i == n // 2:
            with open(pids) as f:
                runs = len(f.readlines())
            if runs <= kills:
                note(waits, runs)
                time.sleep(120)
    return "done"

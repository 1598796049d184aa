# A flow whose steps run until a gate file appears, each appending to a
# ledger: `run I` when its body runs, `ack I` once it returned in `main`
# (its checkpoint acknowledged).

import os, time
from hero_tracing import flow

def note(ledger, line):
    with open(ledger, "a") as f:
        f.write(line + "\n")

@flow
def step(ledger: str, i: int) -> int:
    note(ledger, f"run {i}")
    time.sleep(0.001)
    return i

@flow
def main(ledger: str, gate: str, n: int, pause_at: int = -1):
    total = 0
    for i in range(n):
        total += step(ledger=ledger, i=i)
        note(ledger, f"ack {i}")
        if i == pause_at:
            open(gate + ".reached", "w").close()
            while not os.path.exists(gate):
                time.sleep(0.01)
    return total

import os, time
from hero_tracing import flow

@flow
def step(log: str, i: int) -> int:
    with open(log, "a") as f:
        f.write(f"{i}\n")
    return i

@flow
def main(log: str, gate: str, pids: str):
    with open(pids, "a") as f:
        f.write(f"{os.getpid()}\n")
    total = step(log=log, i=0) + step(log=log, i=1)
    open(gate + ".acked", "w").close()
    while not os.path.exists(gate):
        time.sleep(0.01)
    return total + step(log=log, i=2)

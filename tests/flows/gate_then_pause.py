# A flow that waits for a gate file (telling the test it reached it), then
# pauses for an answer and returns it: its first write after the gate is
# the pause.

import os, time
from hero_tracing import flow

@flow
def main(gate: str):
    open(gate + ".reached", "w").close()
    while not os.path.exists(gate):
        time.sleep(0.01)
    ok = flow.pause("approve", schema={"type": "boolean"})
    return {"approved": ok}

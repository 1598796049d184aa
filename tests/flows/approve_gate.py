# A flow that waits for an answer, then for a gate file (telling the test it
# reached it), then returns the answer: a run that is alive for as long as
# the test wants, after a pause another worker may answer.

import os, time
from hero_tracing import flow

@flow
def main(gate: str):
    ok = flow.pause("approve", schema={"type": "boolean"})
    open(gate + ".reached", "w").close()
    while not os.path.exists(gate):
        time.sleep(0.01)
    return {"approved": ok}

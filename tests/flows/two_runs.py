# A flow of two runs: the first stops at a pause, the second (after the
# answer, on whichever worker took it) ends. Each run notes in a per-play
# log when it began and ended and on which server, so that a test can see
# that no two runs of one play ever overlapped.

import atexit, json, os, time
from hero_tracing import flow

def note(log, what):
    with open(log, "a") as f:
        f.write(json.dumps({"what": what, "worker": os.environ.get("HERO_LOGIC_DATA_DIR"),
                            "pid": os.getpid(), "t": time.time()}) + "\n")

@flow
def main(log: str):
    note(log, "begin")
    atexit.register(note, log, "end")
    ok = flow.pause("go", schema={"type": "boolean"})
    return {"go": ok}

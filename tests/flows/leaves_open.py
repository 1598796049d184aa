"""A flow that leaves a file open and unflushed and registers an atexit
function: both must reach the disk when its run ends, forked or cold."""
import atexit

from hero_tracing import flow

_kept = []


@flow
def main(folder: str):
    unflushed = open(f"{folder}/unflushed.txt", "w")
    unflushed.write("written, never closed")
    _kept.append(unflushed)

    def goodbye():
        with open(f"{folder}/atexit.txt", "w") as file:
            file.write("atexit ran")

    atexit.register(goodbye)
    return "left"

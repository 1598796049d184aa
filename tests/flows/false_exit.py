"""A flow that tells the server it exited, then goes on: forked runs write
their exit code on their own socket as they exit (see `_zygote.py`)."""
import os
import time

from hero_tracing import _zygote, flow


@flow
def main(pid_file: str, marker: str):
    forked = _zygote._exit_fd is not None
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()} {'forked' if forked else 'cold'}")
    if forked:
        os.write(_zygote._exit_fd, b"0\n")
    time.sleep(1.0)
    with open(marker, "w") as f:
        f.write("still running after it said it had exited")
    return 1

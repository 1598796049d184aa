"""A flow that leaves a process behind: a fork of itself that outlives the
run with its standard streams on /dev/null and every other descriptor the
run had still open. Returns the process's pid."""
import os
import time

from hero_tracing import flow


@flow
def main(seconds: float = 30.0):
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            time.sleep(seconds)
        finally:
            os._exit(0)
    return pid

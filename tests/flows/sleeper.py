"""A flow that sleeps, with a child process in its process group.

It writes "<its pid> <the child's pid>" into `pid_file` (atomically, so a
test never reads half of it), then sleeps: tests cancel it or let it time
out, then check that both processes are gone.
"""
import os
import subprocess
import time

from hero_tracing import flow


@flow
def main(pid_file: str, seconds: float = 30.0):
    child = subprocess.Popen(["sleep", str(seconds)])
    partial = pid_file + ".partial"
    with open(partial, "w") as file:
        file.write(f"{os.getpid()} {child.pid}")
    os.replace(partial, pid_file)
    time.sleep(seconds)
    child.wait()
    return "woke up"

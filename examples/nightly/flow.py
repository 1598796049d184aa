"""nightly: a report a schedule starts by the clock.

Each play appends one line to the report file, stamped with the fire time
the schedule started it for; `run.sh` adds a schedule that fires every few
seconds, and shows that each fire time makes exactly one play.
"""
from hero_tracing import flow


@flow
def write_line(report: str, line: str) -> str:
    with open(report, "a") as f:
        f.write(f"{line}\n")
    return line


@flow(name="nightly")
def main(report: str, title: str = "nightly report"):
    return {"line": write_line(report=report, line=title)}

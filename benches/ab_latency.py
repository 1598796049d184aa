#!/usr/bin/env python3
"""Two hero_logic binaries side by side: `play start --wait` of a one-step
flow and `resume` + `play wait` of a play paused before its one step, each
followed by a `status`, the binaries alternated sample by sample so both see
the same machine. Prints each binary's medians and the median of each
sample's ratio to the `status` after it (as `cargo bench --bench volume`
does, where one binary is measured).

    benches/ab_latency.py BIN_A BIN_B [SAMPLES]     SAMPLES defaults to 150

Each binary gets a server of its own on temporary folders; both are stopped
at the end.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The flows `cargo bench --bench volume` times.
FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "flows")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binaries = [os.path.abspath(b) for b in sys.argv[1:3]]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    work = tempfile.mkdtemp(prefix="hero_ab_")
    one = os.path.join(FLOWS, "one_step.py")
    pauses = os.path.join(FLOWS, "pause_then_step.py")
    envs = []
    for i, binary in enumerate(binaries):
        env = dict(os.environ, HERO_SOCKET_DIR=os.path.join(work, f"sock{i}"),
                   HERO_LOGIC_DATA_DIR=os.path.join(work, f"data{i}"),
                   HERO_LOGIC_NO_AUTOSTART="1")
        os.makedirs(env["HERO_LOGIC_DATA_DIR"])
        subprocess.run([binary, "start"], env=env, check=True, capture_output=True)
        envs.append(env)

    def run(i, *args):
        return subprocess.run([binaries[i], *args], env=envs[i], capture_output=True, text=True)

    def timed(i, *args):
        start = time.perf_counter()
        run(i, *args)
        return time.perf_counter() - start

    figures = [{"start": [], "resume": [], "start_ratio": [], "resume_ratio": []} for _ in binaries]
    try:
        for i in range(len(binaries)):
            run(i, "play", "start", one, "--wait")
            run(i, "play", "start", pauses, "--wait")
        for _ in range(samples):
            for i, f in enumerate(figures):
                play = json.loads(run(i, "play", "start", pauses, "--wait", "--json").stdout)
                sid, pause = play["sid"], play["pending_resumes"][0]["id"]
                start = time.perf_counter()
                run(i, "resume", sid, pause, "true")
                run(i, "play", "wait", sid)
                resume = time.perf_counter() - start
                f["resume"].append(resume)
                f["resume_ratio"].append(resume / timed(i, "status"))
                started = timed(i, "play", "start", one, "--wait")
                f["start"].append(started)
                f["start_ratio"].append(started / timed(i, "status"))
    finally:
        for i in range(len(binaries)):
            run(i, "stop")
    median = statistics.median
    print(f"load {open('/proc/loadavg').read().split()[:3]}, {samples} samples each")
    for binary, f in zip(binaries, figures):
        print(f"{binary}: start --wait {median(f['start']) * 1e3:.2f} ms "
              f"({median(f['start_ratio']):.2f}x status), resume + wait "
              f"{median(f['resume']) * 1e3:.2f} ms ({median(f['resume_ratio']):.2f}x status)")


if __name__ == "__main__":
    main()

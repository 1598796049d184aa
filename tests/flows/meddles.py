"""A flow that reports what earlier runs left behind, then leaves all it can.

It says whether it finds a module, a global of a module the zygote imported
(`json`) and of the SDK, an environment variable and a working folder that
an earlier run of it changed, whether it was forked by the zygote (its
parent is `hero_tracing zygote`), whether `colorsys` was preloaded and what
of the environment a preload changed it sees; then it changes all of them,
as a careless flow would.
"""
import json
import os
import sys

from hero_tracing import _flow, flow


@flow
def main(folder: str):
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as file:
        parent = file.read().split(b"\0")
    seen = {
        "module": "hero_meddled" in sys.modules,
        "global": getattr(json, "meddled", False),
        "sdk_global": getattr(_flow, "meddled", False),
        "env": os.environ.get("HERO_MEDDLED"),
        "preload_env": os.environ.get("HERO_PRELOAD_MEDDLED"),
        "start_env": os.environ.get("HERO_KEPT_FROM_START"),
        "cwd": os.getcwd(),
        "preloaded": "colorsys" in sys.modules,
        "forked": b"zygote" in parent,
        "pid": os.getpid(),
    }
    sys.modules["hero_meddled"] = sys
    json.meddled = True
    _flow.meddled = True
    os.environ["HERO_MEDDLED"] = "yes"
    os.chdir(folder)
    return seen

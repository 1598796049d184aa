"""hero_tracing: the Python SDK of hero_logic, a durable workflow engine.

This package owns everything that happens inside a flow's Python process:

* `_flow`: the flow API (SPEC section 4). `@flow` makes every call of a
  decorated function a traced span and a memoized step; `flow.pause`,
  `ask_user`, `flow.invoke` and `flow.cost`.
* `_run`: one run of a play, `python -m hero_tracing run FILE` or a child
  of the zygote: step keys (SPEC section 5), replay
  from the step and answer caches, checkpoints, pauses and sub-flows.
* `_zygote`: the fork server, `python -m hero_tracing zygote [MODULES]`,
  which forks a fresh child per run from an interpreter that has imported
  the SDK (and the preloaded modules).
* `_channel`: the run's side of the wire, one Unix-socket connection per run
  attached by the run's token (SPEC section 4: a run's own channel).
* `_analysis`: `python -m hero_tracing inspect FILE` and `lint FILE` for the
  server and for users, done with `ast` alone so that user code is never
  executed.

`python -m hero_tracing ...` runs `_cli` below, through `__main__`.

Invariants:
* The standard library only: the binary ships these files and nothing else.
* `import hero_tracing` loads this module and the flow API, and nothing of
  the standard library beyond `sys`: the run's modules with `json`,
  `hashlib` and `socket` load when a run starts, the analysis with `ast`
  when a file is inspected. Outside a run the decorated functions are plain
  functions.
* The SDK owns no play state: the server stores and decides, the SDK asks
  (see `_run`).
"""

import sys

from ._flow import ChildFlowError, Fatal, FlowOutputError, PauseTimeout, ask_user, flow

__all__ = ["flow", "ask_user", "FlowOutputError", "ChildFlowError", "PauseTimeout", "Fatal"]


def __getattr__(name):
    """The SDK's private names, as they were when it was one module.

    Each is read from its module at every access, so `hero_tracing._rt` is
    always the run in progress; a module loads on the first such access.
    """
    if name.startswith("_") and not name.startswith("__"):
        for home in ("_flow", "_run", "_time", "_channel", "_analysis"):
            # Not `from . import`: that would ask this function for the module.
            full = f"{__name__}.{home}"
            if full not in sys.modules:
                __import__(full)
            module = sys.modules[full]
            if name == home:
                return module
            if name in module.__dict__:
                return module.__dict__[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _cli(argv):
    """`python -m hero_tracing ...`: the commands the binary runs; the exit code."""
    if len(argv) == 2 and argv[0] == "run":
        from ._run import _run_file

        return _run_file(argv[1])
    if argv and argv[0] == "zygote" and len(argv) <= 2:
        from ._zygote import _zygote

        return _zygote(*argv[1:])
    if len(argv) == 2 and argv[0] == "inspect":
        import json

        from ._analysis import _inspect

        print(json.dumps(_inspect(argv[1])))
        return 0
    if len(argv) == 2 and argv[0] == "lint":
        from ._analysis import _lint

        return _lint(argv[1])
    sys.stderr.write("usage: python -m hero_tracing run|inspect|lint FILE | zygote [MODULES]\n")
    return 2

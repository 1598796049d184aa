"""The run: one process that executes one run of a play.

`_run_file` (`python -m hero_tracing run FILE`, or a child of the zygote,
`_zygote.py`) loads the replay files the runner wrote, makes the `_Run`,
loads the flow's file and calls its `main` as the root step, then reports
the outcome and exits: 0 for success, 1 for a
failure, 75 for a pause (BSD's EX_TEMPFAIL).

`_Run` gives every step call a deterministic step key (SPEC section 5),
returns the recorded output of a step whose key is in the step cache without
running it, and otherwise runs the step and checkpoints its output before
the flow goes on. It answers pauses from the answer cache and runs
sub-flows, in process or as child plays.

Invariants:
* The run owns no play state: statuses, storage, resume validation and the
  decision of when a play runs again belong to the server. It trusts the
  replay files it is given and asks the server to store, never to decide,
  except whether a pause is already answered and how a child play ended.
* A step's key depends only on the version, the parent's key, the step's
  name, its canonical arguments and how often that call came before under
  the same parent; the stack of open steps and those counters are per
  process, and steps run one after another on one thread.
* A step returns the same value live and replayed: its output is what its
  JSON decodes to.
"""

import os
import sys
import time

from . import _flow
from ._channel import _Channel, _not_json, _now, _reused_encoder
from ._flow import (_UNSET, ChildFlowError, FlowOutputError, PauseTimeout, _Paused,
                    _Step)
from ._time import _Timers

# The exit code of a run that stopped at a pause, as in BSD's EX_TEMPFAIL.
_EXIT_PAUSED = 75

# Replayed spans are sent in batches of this many events, so that replaying a
# long flow costs one system call per batch rather than one per step.
_REPLAY_BATCH = 500

# A step whose last call took less than this many milliseconds is taken to
# be quick: its start is held back (see `_Channel.defer`).
_QUICK_MS = 20.0

_MISSING = object()



# Values that JSON gives back as they were: a step's output of one of these
# types needs no decoding to be what a replay would return.
_SAME_REPLAYED = (int, float, str, bool, type(None))


class _Frame:
    """One open step instance: the parent of the steps and pauses it calls."""

    __slots__ = ("span", "key", "version", "id_json", "counts", "pauses")

    def __init__(self, span, key, version):
        self.span = span
        self.key = key
        # The version sid in the keys of this frame's children: the child
        # workflow's inside an in-process sub-flow.
        self.version = version
        self.id_json = "null" if span is None else f'"{span["id"]}"'
        # "name|canonical kwargs" -> calls so far, and pause name -> pauses
        # so far: what makes a repeated identical call a distinct step.
        self.counts = {}
        self.pauses = {}


class _Run(_Timers, _Channel):
    """The state of the run in progress; its connection is the `_Channel`."""

    def __init__(self, env):
        import hashlib

        super().__init__(env)
        json = self.json
        self.sha1 = hashlib.sha1
        # The canonical form of step arguments (SPEC section 5): on the
        # replay path, so built once.
        self.canon = _reused_encoder(json, sort_keys=True)
        self.strict = _reused_encoder(json, sort_keys=False, default=_not_json,
                                      allow_nan=False)
        self.version = env.get("HERO_WORKFLOW_VERSION_SID", "")
        self.steps = {}
        self.answers = {}
        # Pauses whose deadline answered them and that had no default: each
        # raises `PauseTimeout` where the flow reaches it.
        self.timed_out = set()
        self.stack = [_Frame(None, "", self.version)]
        self.seq = 0
        # Sub-flows run in-process: version sid -> main, and sources already
        # fetched by `workflow_resolve`.
        self.subflows = {}
        self.sources = {}
        # The root step's checkpoint, held until the run's outcome goes out.
        self.root_checkpoint = None

    # ---- checkpoints and the outcome

    def checkpoint(self, key, output, span):
        """Stores a step's output durably; returns once the server has it."""
        self.request("step_output", {"play_sid": self.play_sid, "run": self.run,
                                     "step_key": key, "output": output, "span": span})
        self.steps[key] = output

    def finish(self, status, output, error):
        """Reports the run's outcome and returns the process exit code."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        params = {"play_sid": self.play_sid, "run": self.run, "status": status,
                  "output": output, "error": _clip(error)}
        root, self.root_checkpoint = self.root_checkpoint, None
        if root is None:
            self.request("run_result", params)
        else:
            # The root's checkpoint, then the outcome, in one write: the
            # server takes them in order and answers the checkpoint once it
            # is durable, so this saves a round trip, not a guarantee.
            checkpoint = self.request_id + 1
            self.request_id += 2
            self.send(
                f'{{"jsonrpc":"2.0","id":{checkpoint},"method":"step_output","params":{root}}}\n'
                + self.message({"jsonrpc": "2.0", "id": self.request_id,
                                "method": "run_result", "params": params}) + "\n")
            self.request_id = checkpoint
            self.answer("step_output")
            self.request_id += 1
            self.answer("run_result")
        return {"success": 0, "failed": 1, "paused": _EXIT_PAUSED}[status]

    # ---- steps

    def key(self, parent, name, canon):
        """The step key of the next call of `name` with `canon` under `parent`."""
        ident = f"{name}|{canon}"
        counts = parent.counts
        occurrence = counts.get(ident, 0)
        counts[ident] = occurrence + 1
        return self.sha1(
            f"{parent.version}|{parent.key}|{ident}|{occurrence}".encode()
        ).hexdigest()

    def call(self, info, kwargs_bound, args, kwargs, kind, version):
        """One call of a step: replayed from the cache, or run and recorded.

        `version` is the version sid the step's children are keyed with, when
        it differs from the parent's (an in-process sub-flow).
        """
        parent = self.stack[-1]
        canon = self.canon(kwargs_bound)
        key = self.key(parent, info.name, canon)
        output = self.steps.get(key, _MISSING)
        if output is not _MISSING:
            child = "null"
            if kind == "subflow" and info.name.startswith("flow.invoke:"):
                child = self.spawned_child(parent, key, info.name, canon)
            self.replayed(info, kind, parent, key, child)
            return output
        if info.retry is not None:
            return self.retrying(info, kind, parent, canon, key, args, kwargs,
                                 version or parent.version)
        return self.execute(info, kind, parent, canon, key, args, kwargs,
                            version or parent.version)

    def replayed(self, info, kind, parent, key, child):
        self.seq += 1
        wire = info.wire or self.wire_of(info)
        # A few dozen bytes a step, not a whole span: the server writes the
        # span out itself, and fills in its inputs, output and source from
        # the run that did the work, so replay costs only a few microseconds
        # a step on both sides.
        self.buffer.append(f'[{self.seq},{parent.id_json},"{key}",{child},{wire[2]},"{kind}"]')
        if len(self.buffer) >= _REPLAY_BATCH:
            self.send("")

    def wire_of(self, info):
        file, line = info.source()
        dumps = self.json.dumps
        info.wire = (f'"name":{dumps(info.name)}',
                     f'"source_file":{dumps(file)},"source_line":{dumps(line)}',
                     dumps(info.name))
        return info.wire

    def execute(self, info, kind, parent, canon, key, args, kwargs, version, attempt=None):
        self.seq += 1
        file, line = info.source()
        span = {"id": f"{self.run}.{self.seq}", "play_sid": self.play_sid,
                "run": self.run, "parent_id": parent.span and parent.span["id"],
                "name": info.name, "kind": kind, "status": "running",
                "started_at": _now(), "ended_at": None, "duration_ms": 0.0,
                # The canonical text, so the recorded inputs are the ones the
                # key was made of even if the step mutates them; decoded only
                # if the span is ever sent as a dict (see `notify_span`).
                "inputs": canon, "output": None, "error": None,
                "source_file": file, "source_line": line, "step_key": key,
                "child_play_sid": None, "cost_usd": 0.0}
        more = ""
        if attempt is not None:
            span["attempt"] = attempt
            more = f',"attempt":{attempt}'
        wire = info.wire or self.wire_of(info)
        # The span's JSON is written as text around the canonical inputs:
        # encoding the whole span twice a step was most of the SDK's time.
        head = (f'"id":"{span["id"]}","play_sid":{self.play_json},"run":{self.run},'
                f'"parent_id":{parent.id_json},{wire[0]},"kind":"{kind}",')
        tail = f'"inputs":{canon},'
        start = lambda: (  # noqa: E731 (written only if it is sent)
            f'{self.span_event_head}{{{head}"status":"running","started_at":"{span["started_at"]}",'
            f'"ended_at":null,"duration_ms":0.0,{tail}"output":null,"error":null,{wire[1]},'
            f'"step_key":"{key}","child_play_sid":null,"cost_usd":0.0{more}}}}}}}\n')
        # A step that was quick last time is likely quick again: its start is
        # held back. One that was not is shown running from the start; so is
        # the first call of each step.
        if info.quick:
            self.defer(start)
        else:
            self.send(start())
        self.stack.append(_Frame(span, key, version))
        started = time.perf_counter()
        try:
            result = info.fn(*args, **kwargs)
            text = self.output_text(info, result)
        except _Paused:
            self.end(span, started, "paused", None)
            raise
        except BaseException as exc:
            self.end(span, started, "failed", _format_exception(exc))
            raise
        finally:
            self.stack.pop()
            # The end reports the step whole; its start is news no more.
            self.withdraw(start)
            info.quick = (time.perf_counter() - started) * 1000.0 < _QUICK_MS
        # The value a replay would return, so a step behaves the same live
        # and replayed (tuples become lists, dict keys become strings).
        output = result if type(result) in _SAME_REPLAYED else self.json.loads(text)
        ended = _now()
        duration = (time.perf_counter() - started) * 1000.0
        child = span["child_play_sid"]
        child = "null" if child is None else f'"{child}"'
        params = (
            f'{{"play_sid":{self.play_json},"run":{self.run},"step_key":"{key}",'
            f'"output":{text},"span":{{{head}"status":"success",'
            f'"started_at":"{span["started_at"]}","ended_at":"{ended}",'
            f'"duration_ms":{duration!r},{tail}"output":{text},"error":null,{wire[1]},'
            f'"step_key":"{key}","child_play_sid":{child},'
            f'"cost_usd":{float(span["cost_usd"])!r}{more}}}}}')
        if kind == "flow_root":
            # Nothing runs between the root's return and the run's outcome:
            # both go out together (see `finish`).
            self.root_checkpoint = params
        else:
            self.request_text("step_output", params, checkpoint=True)
        self.steps[key] = output
        return output

    def output_text(self, info, result):
        """`result` as JSON, or the error that a step's return value earns."""
        try:
            text = self.strict(result)
        except RecursionError:
            raise TypeError(
                f"step `{info.name}` returned a value that contains itself: a step's "
                "output is recorded as JSON for replay") from None
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"step `{info.name}` returned a value that is not JSON-serializable "
                f"({exc}): a step's output is recorded as JSON for replay") from None
        if info.outputs:
            missing = [name for name in info.outputs
                       if not isinstance(result, dict) or name not in result]
            if missing:
                raise FlowOutputError(
                    f"step `{info.name}` must return a dict with the fields declared "
                    f"in outputs=: missing {', '.join(missing)}")
        return text

    def end(self, span, started, status, error):
        span["status"] = status
        span["ended_at"] = _now()
        span["duration_ms"] = (time.perf_counter() - started) * 1000.0
        span["error"] = _clip(error)
        self.notify_span(span)

    # ---- pauses

    def pause_id(self, frame, name, consume):
        count = frame.pauses.get(name, 0)
        if consume:
            frame.pauses[name] = count + 1
        return self.sha1(f"{frame.key}|pause|{name}|{count}".encode()).hexdigest()[:20]

    def pause(self, name, schema, ui, timeout_s=None, default=_UNSET, kind="pause"):
        frame = self.stack[-1]
        resume_id = self.pause_id(frame, name, True)
        if resume_id in self.answers:
            if resume_id in self.timed_out:
                raise PauseTimeout(name, timeout_s)
            return self.answers[resume_id]
        request = self.request_of(frame, resume_id, name, kind)
        request["schema"] = schema
        request["ui"] = ui
        if timeout_s is not None:
            # Pinned, so that every run of the play has the first deadline.
            expires = self.pin(frame, f"flow.pause:{name}#expires", {"id": resume_id},
                               lambda: self.instant(time.time() + timeout_s))
            request["expires_at"] = expires["at"]
            request["on_timeout"] = "raise" if default is _UNSET else {"default": default}
        # A pause the server refuses as asked (a schema that is not a valid
        # JSON Schema, a default that fails it) raises here, in the flow.
        result = self.request("pause", {"play_sid": self.play_sid, "run": self.run,
                                        "request": request}, refusable=True)
        if result.get("answered"):
            self.answers[resume_id] = result.get("payload")
            if result.get("timed_out"):
                self.timed_out.add(resume_id)
                raise PauseTimeout(name, timeout_s)
            return self.answers[resume_id]
        raise _Paused(resume_id)

    def request_of(self, frame, resume_id, name, kind):
        """A new ResumeRequest as the SDK sends it: what only the SDK knows."""
        return {"id": resume_id, "name": name, "kind": kind, "schema": None, "ui": None,
                "asked_at_span_id": frame.span and frame.span["id"], "asked_at": _now(),
                "payload": None, "resumed_at": None, "wake_at": None, "expires_at": None}

    # ---- sub-flows

    def pin(self, frame, name, kwargs, compute):
        """A decision made once and checkpointed like a step, for every replay.

        Pins carry no span: they record a decision (which version, which
        child play), not work a user would look for in the flow tree.
        """
        key = self.key(frame, name, self.canon(kwargs))
        value = self.steps.get(key)
        if value is None:
            value = compute()
            self.checkpoint(key, value, None)
        return value

    def invoke_inline(self, name, inputs, site):
        # The version is pinned once per play, not per call: every in-process
        # call of `name` in a play runs the same source.
        play_root = _Frame(None, "", self.version)
        version = self.pin(play_root, f"flow.invoke:{name}#version", {},
                           lambda: self.resolve(name))["version_sid"]

        def body():
            main = self.subflow_main(name, version)
            result = main.fn(**inputs)
            # The child's own `outputs=` contract; the span checks the rest.
            self.output_text(main, result)
            return result

        return self.call(_Step(body, name, None, site), inputs, (), {}, "subflow",
                         version)

    def resolve(self, name):
        found = self.request("workflow_resolve", {"play_sid": self.play_sid, "name": name})
        self.sources[found["version_sid"]] = found
        return {"version_sid": found["version_sid"]}

    def subflow_main(self, name, version):
        main = self.subflows.get(version)
        if main is None:
            found = self.sources.pop(version, None) or self.request(
                "workflow_source", {"version_sid": version})
            # A name no real file has, so that the lines registered for
            # tracebacks cannot shadow a file on disk or another sub-flow.
            filename = f"<{name}@{version}>/{found.get('file_name') or 'flow.py'}"
            module = _load_module(f"__hero_subflow_{version}__", filename,
                                  found["source"])
            main = self.subflows[version] = _main_of(module, f"workflow `{name}`")
        return main

    def invoke_spawn(self, name, inputs, site):
        step_name = f"flow.invoke:{name}"
        try:
            self.strict(inputs)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"the inputs of child play `{name}` must be JSON: {exc}") from None

        def body():
            frame = self.stack[-1]
            span = frame.span
            # Pinned, so that however often this step is re-entered the play
            # has one child for it, never a second.
            child = self.pin(frame, f"{step_name}#spawn", inputs, lambda: {
                "child_play_sid": self.request("play_run_async", {
                    "workflow_sid": name, "input_data": inputs,
                    "parent_span_id": span["id"], "parent_play_sid": self.play_sid}),
            })["child_play_sid"]
            span["child_play_sid"] = child
            self.notify_span(span)
            waiting = f"child_play:{child}"
            if self.pause_id(frame, waiting, False) not in self.answers:
                play = self.request("play_wait", {"play_sid": child, "timeout_ms": 0})
                status = play.get("status")
                if status == "success":
                    return play.get("output_data")
                if status != "awaiting_resume":
                    raise ChildFlowError(name, child, status, play.get("error"))
            # The child waits for an answer, so this play waits for the child
            # without holding a process: a machine pause that the engine
            # answers with the child's outcome when the child ends.
            outcome = self.pause(waiting, None, None, kind="child")
            if outcome.get("status") == "success":
                return outcome.get("output_data")
            raise ChildFlowError(name, child, outcome.get("status"), outcome.get("error"))

        return self.call(_Step(body, step_name, None, site), inputs, (), {},
                         "subflow", None)

    def spawned_child(self, parent, key, name, canon):
        """The child play sid of a replayed spawn step, as JSON, for its span."""
        pin_key = self.sha1(
            f"{parent.version}|{key}|{name}#spawn|{canon}|0".encode()).hexdigest()
        pinned = self.steps.get(pin_key)
        return self.json.dumps(pinned["child_play_sid"]) if pinned else "null"


# The longest error text sent for a span or a run, in characters: four
# bytes each at most, within the server's limit of 1 MiB.
_MAX_ERROR_CHARS = 200_000


def _clip(error):
    """An error text cut to what the server takes, saying so."""
    if error is None or len(error) <= _MAX_ERROR_CHARS:
        return error
    return error[:_MAX_ERROR_CHARS] + f"\n... ({len(error) - _MAX_ERROR_CHARS} more characters cut)"


def _load_module(module_name, filename, source, code=None):
    """Executes a flow's source (or its `code`, compiled from it) as a fresh
    module named `module_name`."""
    module = type(sys)(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    if isinstance(source, str):
        import linecache

        # Tracebacks and span sites read the lines from here rather than
        # from the file; no modification time, so `linecache.checkcache`
        # keeps the entry.
        linecache.cache[filename] = (len(source), None, source.splitlines(True),
                                     filename)
    if code is None:
        code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


# Flow files the zygote compiled ahead of their next runs: path ->
# (modification time in ns, size, source text, code). A version's file never
# changes, so a child forked after its first run skips reading, decoding and
# compiling it (most of a short run's start, in a fresh child's page faults).
_COMPILED = {}
_COMPILED_MAX = 64


def precompile(path):
    """In the zygote, after it handed a run of `path` on: compiles the file
    for the children it forks next. Compiling runs none of the flow's code;
    a file that does not compile is left for its run to report."""
    try:
        stat = os.stat(path)
        known = _COMPILED.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return
        with open(path, "rb") as file:
            raw = file.read()
        import importlib.util

        text = importlib.util.decode_source(raw)
        code = compile(raw, path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return
    if len(_COMPILED) >= _COMPILED_MAX:
        del _COMPILED[next(iter(_COMPILED))]
    _COMPILED[path] = (stat.st_mtime_ns, stat.st_size, text, code)


def _flow_module(path):
    """The flow's file loaded as the module `__hero_flow__`."""
    known = _COMPILED.get(path)
    if known is not None:
        stat = os.stat(path)
        if known[:2] == (stat.st_mtime_ns, stat.st_size):
            return _load_module("__hero_flow__", path, known[2], known[3])
    with open(path, "rb") as file:
        source = file.read()
    return _load_module("__hero_flow__", path, source)


def _main_of(module, what):
    main = module.__dict__.get("main")
    if not callable(main):
        raise RuntimeError(f"no function named `main` in {what}: "
                           "a flow needs a root `@flow def main(...)`")
    return getattr(main, "__hero_step__", None) or _Step(main, "main", None)


def _format_exception(exc):
    """The traceback of `exc` as a user reads it.

    The frames of the SDK (every module of this package) and of the import
    machinery are left out: they are plumbing between the user's lines, and
    would bury them.
    """
    import traceback

    own = os.path.dirname(_format_exception.__code__.co_filename)
    report = traceback.TracebackException.from_exception(exc)
    pending = [report]
    while pending:
        part = pending.pop()
        part.stack = traceback.StackSummary.from_list(
            [frame for frame in part.stack
             if os.path.dirname(frame.filename) != own
             and not frame.filename.startswith("<frozen ")])
        pending.extend(chained for chained in (part.__cause__, part.__context__)
                       if chained is not None)
    return "".join(report.format())


def _run_file(path):
    """`run FILE`: one run of a play; returns the exit code."""
    if not os.environ.get("HERO_PLAY_SID"):
        sys.stderr.write(
            "error: `hero_tracing run` is started by hero_logic for one run of a "
            "play (HERO_PLAY_SID is not set)\nhint: run a flow with "
            "`hero_logic play start FILE`\n")
        return 2
    rt = _flow._rt = _Run(os.environ)
    try:
        rt.steps = _load_json_object(rt.json, os.environ.get("HERO_REPLAY_STEP_OUTPUTS_FILE"))
        resumes = _load_json_object(rt.json, os.environ.get("HERO_REPLAY_RESUMES_FILE"))
        rt.answers = resumes.get("answers") or {}
        rt.timed_out = set(resumes.get("timed_out") or ())
        inputs = _load_input(rt.json, os.environ.get("HERO_INPUT_FILE"))
        if not isinstance(inputs, dict):
            raise TypeError(f"the play's input must be a JSON object, not {inputs!r}")
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        sys.argv = [path]
        # Not `__main__`: the file's `if __name__ == "__main__":` block is for
        # running it by hand, not for the engine.
        main = _main_of(_flow_module(path), path)
        output = rt.call(main, main.bind((), inputs), (), inputs, "flow_root", None)
    except _Paused:
        return rt.finish("paused", None, None)
    except BaseException as exc:
        error = _format_exception(exc)
        sys.stderr.write(error)
        return rt.finish("failed", None, error)
    return rt.finish("success", output, None)


def _load_input(json, path):
    """The play's input, from the file the runner wrote: a file, not the
    environment, since the environment's size is limited by the kernel."""
    if not path:
        return {}
    with open(path, "rb") as file:
        return json.loads(file.read())


def _load_json_object(json, path):
    """A replay file: a JSON object, or an empty one when there is no file."""
    if not path:
        return {}
    try:
        with open(path, "rb") as file:
            data = json.load(file)
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise TypeError(f"{path} must hold a JSON object")
    return data

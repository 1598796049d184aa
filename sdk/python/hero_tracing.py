"""hero_tracing: the Python SDK of hero_logic, a durable workflow engine.

This one file owns everything that happens inside a flow's Python process:

* `@flow`, which makes every call of a decorated function a traced span and a
  memoized step with a deterministic step key (SPEC section 5);
* replay: a step whose key is in the step cache returns its recorded output
  without running, and a pause whose id is in the answer cache returns its
  recorded answer;
* `flow.pause`, `ask_user`, `flow.invoke` and `flow.cost` (SPEC section 4);
* the run entry point, `python -m hero_tracing run FILE`, and its side of the
  wire: JSON-RPC 2.0, one JSON object per line, on one Unix-socket connection
  per run, attached to the run by the token the runner gave it (`run_attach`,
  SPEC section 4: a run's own channel);
* static analysis for the server and for users, `python -m hero_tracing
  inspect FILE` and `lint FILE`, done with `ast` alone so that user code is
  never executed.

It deliberately owns no play state: statuses, storage, resume validation and
the decision of when a play runs again belong to the server. The SDK trusts
the replay files it is given and asks the server to store, never to decide,
except whether a pause is already answered and how a child play ended.

Steps of one run execute on one thread: the stack of open steps and the
occurrence counters that make step keys deterministic are per process.

Only `os`, `sys` and `time` are imported up front. `json`, `hashlib` and
`socket` load when a run starts, and `ast` when a file is inspected, so that
`import hero_tracing` in a unit test costs about a millisecond once its
byte-code is cached. Outside a run the decorated functions are plain
functions.
"""

import os
import sys
import time

__all__ = ["flow", "ask_user", "FlowOutputError", "ChildFlowError"]

# The exit code of a run that stopped at a pause, as in BSD's EX_TEMPFAIL.
_EXIT_PAUSED = 75

# Replayed spans are sent in batches of this many events, so that replaying a
# long flow costs one system call per batch rather than one per step.
_REPLAY_BATCH = 500

# A step whose last call took less than this many milliseconds is taken to
# be quick: its start is held back (see `_Run.defer`).
_QUICK_MS = 20.0

# The longest a flow waits for a checkpoint's answer without sleeping (see
# `_Run.poll`), in seconds: a few times a small fsync's.
_SPIN_S = 0.002

# The runtime of the run in progress, or None outside a run.
_rt = None

_MISSING = object()

# Code-object flags (see `inspect.CO_*`), spelled here so that checking them
# does not import `inspect`.
_CO_VARARGS_OR_VARKEYWORDS = 0x04 | 0x08
_CO_ASYNC = 0x80 | 0x200  # coroutine or async generator


class FlowOutputError(ValueError):
    """A step returned a value that lacks fields declared in `outputs=`."""


class ChildFlowError(RuntimeError):
    """A child play started with `flow.invoke(..., spawn=True)` did not succeed."""

    def __init__(self, name, child_play_sid, status, error):
        super().__init__(
            f"child play {child_play_sid} of workflow `{name}` ended {status}: {error}"
        )
        self.child_play_sid = child_play_sid
        self.status = status
        self.error = error


class _Paused(BaseException):
    """Unwinds the flow once a pause is durably recorded.

    It derives from BaseException so that a user's `except Exception` cannot
    swallow it and carry on past a pause that has no answer yet.
    """


def _type_key(value):
    """Stands in for a value JSON cannot carry: such arguments key by type."""
    return f"<{type(value).__name__}>"


# Values that JSON gives back as they were: a step's output of one of these
# types needs no decoding to be what a replay would return.
_SAME_REPLAYED = (int, float, str, bool, type(None))

_stamp_second = -1
_stamp_prefix = ""


def _now():
    """The current time in RFC 3339 UTC with microseconds.

    The formatted date and second are cached, because replay stamps every step
    and `strftime` would otherwise be a large part of its cost.
    """
    global _stamp_second, _stamp_prefix
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    if second != _stamp_second:
        _stamp_second = second
        _stamp_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_stamp_prefix}.{nanos // 1000:06d}Z"


def _die(message):
    """Ends the process at once when the server refused a request or is gone.

    The server is the one that knows why (the play was cancelled, say), so
    nothing more is sent, and `os._exit` keeps user cleanup from running
    steps that could no longer be recorded.
    """
    sys.stderr.write(f"hero_tracing: {message}\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(1)


# --------------------------------------------------------------------------
# The decorator and the public namespaces.


class _Step:
    """What the SDK knows of one step function, worked out once per function."""

    __slots__ = ("fn", "name", "outputs", "names", "defaults", "signature",
                 "site", "wire", "quick")

    def __init__(self, fn, name, outputs, site=None):
        self.fn = fn
        self.name = name
        self.outputs = outputs
        # Where the span points in the source: (file, line), found lazily.
        self.site = site
        # The span fields that never change, as JSON text for replayed spans.
        self.wire = None
        # Whether the last call ended within `_QUICK_MS`; unknown at first.
        self.quick = False
        self.signature = None
        code = getattr(fn, "__code__", None)
        # Functions without *args or **kwargs are bound from the code object,
        # which is several times faster than `inspect.signature(...).bind`.
        if code is None or code.co_flags & _CO_VARARGS_OR_VARKEYWORDS:
            self.names = None
            self.defaults = None
            return
        self.names = code.co_varnames[:code.co_argcount]
        positional = fn.__defaults__ or ()
        self.defaults = dict(zip(self.names[len(self.names) - len(positional):],
                                 positional))
        self.defaults.update(fn.__kwdefaults__ or {})

    def bind(self, args, kwargs):
        """The call's arguments by parameter name, defaults applied."""
        names = self.names
        if names is None:
            return self._bind_slow(args, kwargs)
        bound = self.defaults.copy()
        if args:
            bound.update(zip(names, args))
        if kwargs:
            bound.update(kwargs)
        return bound

    def _bind_slow(self, args, kwargs):
        import inspect

        if self.signature is None:
            self.signature = inspect.signature(self.fn)
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def source(self):
        """(file, line) of the function's `def`."""
        if self.site is None:
            code = getattr(self.fn, "__code__", None)
            self.site = (None, None) if code is None else (
                code.co_filename, _def_line(code))
        return self.site


def _def_line(code):
    """The line of the `def` itself.

    `co_firstlineno` is the line of the first decorator, which is not where a
    reader looks for the step, so the source is scanned down to the `def`.
    """
    import linecache

    first = code.co_firstlineno
    lines = linecache.getlines(code.co_filename)
    for number in range(first, min(len(lines), first + 100) + 1):
        if lines[number - 1].lstrip().startswith(("def ", "async def ")):
            return number
    return first


def _output_names(outputs):
    if outputs is None:
        return None
    if isinstance(outputs, str):
        return (outputs,)
    return tuple(outputs)


def _decorate(fn, name, outputs):
    if not callable(fn):
        raise TypeError(
            f"@flow takes a function, not {type(fn).__name__}: "
            "name a step with @flow(name=...)")
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & _CO_ASYNC:
        raise TypeError(
            f"@flow cannot wrap `{fn.__name__}`: async functions are not "
            "supported, a flow's steps run one after another on one thread")
    info = _Step(fn, name or getattr(fn, "__name__", "step"), _output_names(outputs))

    def step(*args, **kwargs):
        rt = _rt
        if rt is None:
            return fn(*args, **kwargs)
        return rt.call(info, info.bind(args, kwargs), args, kwargs, "step", None)

    # Copied by hand: `functools.update_wrapper` would import functools and
    # collections, which cost more than loading this whole module.
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(step, attribute, getattr(fn, attribute))
        except AttributeError:
            pass
    step.__dict__.update(getattr(fn, "__dict__", {}))
    step.__wrapped__ = fn
    step.__hero_step__ = info
    return step


def _runtime(what):
    if _rt is None:
        raise RuntimeError(
            f"{what} needs a play: it works only in a flow run by hero_logic "
            "(`hero_logic play start FILE`)")
    return _rt


class _Flow:
    """`@flow` / `@flow(name=None, outputs=None)` wraps a function as a step.

    The same object is the namespace of `flow.pause`, `flow.invoke` and
    `flow.cost`.
    """

    def __call__(self, fn=None, /, *, name=None, outputs=None):
        if fn is None:
            return lambda fn: _decorate(fn, name, outputs)
        return _decorate(fn, name, outputs)

    def __repr__(self):
        return "<hero_tracing.flow>"

    @staticmethod
    def pause(name, *, schema=None, ui=None):
        """Waits for a resume named `name` and returns its payload.

        The first time it is reached the request is recorded and the script
        exits with code 75; on the run after the answer it returns at once.
        `schema` is the JSON Schema the answer must satisfy; `ui` tells the
        dashboard how to ask (None: a machine resume, no form).
        """
        if not isinstance(name, str):
            raise TypeError(f"a pause is named by a string, not {type(name).__name__}")
        return _runtime("flow.pause()").pause(name, schema, ui)

    @staticmethod
    def invoke(name, /, *, spawn=False, **inputs):
        """Runs the saved workflow `name` with `inputs`; returns its output.

        In-process by default: its steps join this play under a `subflow`
        span. With `spawn=True` it runs as a child play, and this flow waits
        for it (pausing, without holding a process, while the child waits).
        """
        rt = _runtime("flow.invoke()")
        caller = sys._getframe(1)
        site = (caller.f_code.co_filename, caller.f_lineno)
        if spawn:
            return rt.invoke_spawn(name, inputs, site)
        return rt.invoke_inline(name, inputs, site)

    @staticmethod
    def cost(usd):
        """Adds `usd` to the cost of the current step and of the play."""
        usd = float(usd)
        if _rt is not None:
            span = _rt.stack[-1].span
            if span is not None:
                span["cost_usd"] += usd


flow = _Flow()


def _ask(name, kind, schema, prompt, default, **extra):
    ui = {"kind": kind, "prompt": prompt or name}
    for key, value in extra.items():
        if value is not None:
            ui[key] = value
    if default is not None:
        ui["default"] = default
    return flow.pause(name, schema=schema, ui=ui)


class _AskUser:
    """Questions to a person: thin helpers over `flow.pause` (SPEC section 4).

    Each builds the JSON Schema the server validates the answer against and
    the `ui` the dashboard and `hero_logic resume` render as a prompt.
    """

    def __repr__(self):
        return "<hero_tracing.ask_user>"

    @staticmethod
    def text(name, *, prompt=None, default=None):
        return _ask(name, "text", {"type": "string"}, prompt, default)

    @staticmethod
    def number(name, *, prompt=None, min=None, max=None, default=None):
        schema = {"type": "number"}
        if min is not None:
            schema["minimum"] = min
        if max is not None:
            schema["maximum"] = max
        return _ask(name, "number", schema, prompt, default, min=min, max=max)

    @staticmethod
    def choice(name, options, *, prompt=None, default=None):
        options = list(options)
        return _ask(name, "choice", {"enum": options}, prompt, default,
                    options=options)

    @staticmethod
    def multi_choice(name, options, *, prompt=None, default=None):
        options = list(options)
        schema = {"type": "array", "items": {"enum": options}, "uniqueItems": True}
        return _ask(name, "multi_choice", schema, prompt, default, options=options)

    @staticmethod
    def confirm(name, *, prompt=None, default=None):
        return _ask(name, "confirm", {"type": "boolean"}, prompt, default)


ask_user = _AskUser()


# --------------------------------------------------------------------------
# The runtime of one run.


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


class _Run:
    """The state of the run in progress and its connection to the server."""

    def __init__(self, env):
        import hashlib
        import json
        import socket

        self.json = json
        self.socket = socket
        self.sha1 = hashlib.sha1
        # The canonical form of step arguments (SPEC section 5): on the
        # replay path, so built once.
        self.canon = _reused_encoder(json, sort_keys=True)
        self.message = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=_type_key).encode
        self.strict = _reused_encoder(json, sort_keys=False, default=_not_json,
                                      allow_nan=False)
        self.play_sid = env["HERO_PLAY_SID"]
        self.run = int(env.get("HERO_RUN") or 1)
        # The run's secret (SPEC section 4, a run's own channel), taken out of
        # the environment so that the flow's code and the processes it starts
        # never see it, and a flow that prints its environment cannot leak it
        # into the play's logs.
        self.token = env.pop("HERO_RUN_TOKEN", None)
        # The parts of a replayed span event that are the same for every step.
        play_json = self.play_json = json.dumps(self.play_sid)
        self.span_event_head = (f'{{"jsonrpc":"2.0","method":"span_event","params":'
                                f'{{"play_sid":{play_json},"span":')
        self.replay_head = (f'{{"jsonrpc":"2.0","method":"spans_replayed","params":'
                            f'{{"play_sid":{play_json},"run":{self.run},')
        self.version = env.get("HERO_WORKFLOW_VERSION_SID", "")
        self.socket_path = env.get("HERO_LOGIC_SOCKET")
        self.steps = {}
        self.answers = {}
        self.stack = [_Frame(None, "", self.version)]
        self.seq = 0
        self.buffer = []
        # Messages held back by `defer`, sent before the next message.
        self.pending = []
        self.sock = None
        # What was read off the socket past the last line taken.
        self.inbox = bytearray()
        self.request_id = 0
        # Whether the next checkpoint's answer is waited for without
        # sleeping: the server allows it (it has a core to spare) and the
        # last answer came within `_SPIN_S`.
        self.spin = False
        # Sub-flows run in-process: version sid -> main, and sources already
        # fetched by `workflow_resolve`.
        self.subflows = {}
        self.sources = {}

    # ---- the wire

    def send(self, text):
        """Sends `text` after everything that waits to go out, in order."""
        text = self.drain() + text
        if self.pending:
            text = "".join([m if m.__class__ is str else m() for m in self.pending]) + text
            self.pending.clear()
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(text.encode())
        except OSError as exc:
            _die(f"lost the connection to the server: {exc}")

    def defer(self, message):
        """Holds `message` (a function that writes it) back until the next
        message goes out; returns it, for `withdraw`.

        For the start of a quick step: it is news only while the step runs,
        and a step that ends at once reports itself whole with its
        checkpoint. Sending every start would cost the server a wake-up and
        a write a step, and even writing it would cost the flow.
        """
        replayed = self.drain()
        if replayed:
            self.pending.append(replayed)
        self.pending.append(message)
        return message

    def withdraw(self, message):
        """Drops a held-back message that has not gone out yet."""
        pending = self.pending
        for i in range(len(pending) - 1, -1, -1):
            if pending[i] is message:
                del pending[i]
                return

    def connect(self):
        """Connects to the server and attaches the connection to this run.

        The run's token goes first: the server then takes this connection's
        messages for this play and run only, and refuses them on any
        connection that did not present it.
        """
        if not self.socket_path:
            _die("HERO_LOGIC_SOCKET is not set")
        if not self.token:
            _die("HERO_RUN_TOKEN is not set: a run gets its token from hero_logic, "
                 "which starts it (`hero_logic play start FILE`)")
        sock = self.socket.socket(self.socket.AF_UNIX, self.socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
            sock.sendall(self.message({"jsonrpc": "2.0", "id": 0, "method": "run_attach",
                                       "params": {"token": self.token}}).encode() + b"\n")
        except OSError as exc:
            _die(f"cannot connect to the server at {self.socket_path}: {exc}")
        self.sock = sock
        self.dontwait = self.socket.MSG_DONTWAIT
        line = self.read_line("run_attach")
        try:
            answer = self.json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("id") != 0:
            _die(f"unreadable answer to `run_attach`: {line[:200]!r}")
        if answer.get("error") is not None:
            error = answer["error"]
            _die((isinstance(error, dict) and error.get("message")) or error)

    def drain(self):
        """The replayed steps waiting in the buffer as one message, or ""."""
        if not self.buffer:
            return ""
        items = ",".join(self.buffer)
        self.buffer.clear()
        return f'{self.replay_head}"at":"{_now()}","items":[{items}]}}}}\n'

    def notify_span(self, span):
        if isinstance(span["inputs"], str):
            span["inputs"] = self.json.loads(span["inputs"])
        params = {"play_sid": self.play_sid, "span": span}
        self.send(self.message(
            {"jsonrpc": "2.0", "method": "span_event", "params": params}) + "\n")

    def request(self, method, params, refusable=False):
        """Sends a request and returns its result; an error ends the process.

        With `refusable`, a request the server refuses as malformed (-32602)
        raises ValueError in the flow instead, where the flow asked it.
        """
        self.request_id += 1
        self.send(self.message({"jsonrpc": "2.0", "id": self.request_id,
                                "method": method, "params": params}) + "\n")
        return self.answer(method, refusable=refusable)

    def answer(self, method, checkpoint=False, refusable=False):
        """Reads the answer to the request just sent; an error ends the process."""
        if checkpoint:
            started = time.perf_counter()
            if self.spin and not self.inbox:
                self.poll(started + _SPIN_S)
            line = self.read_line(method)
            head = b'{"jsonrpc":"2.0","id":%d,"result":{"ok":true,"spin":' % self.request_id
            if line.startswith(head):
                rest = line[len(head):]
                if rest == b"true}}\n" or rest == b"false}}\n":
                    # A checkpoint's answer, byte for byte: not worth decoding.
                    self.spin = (rest[0] == 116  # "t"
                                 and time.perf_counter() - started < _SPIN_S)
                    return {"ok": True}
        else:
            line = self.read_line(method)
        if not line.endswith(b"\n"):
            _die(f"the server closed the connection during `{method}`")
        try:
            answer = self.json.loads(line)
        except ValueError as exc:
            _die(f"unreadable answer to `{method}`: {exc}")
        if not isinstance(answer, dict):
            _die(f"unreadable answer to `{method}`: {line[:200]!r}")
        if answer.get("error") is not None:
            error = answer["error"]
            message = (isinstance(error, dict) and error.get("message")) or error
            if refusable and isinstance(error, dict) and error.get("code") == -32602:
                raise ValueError(message)
            _die(message)
        if answer.get("id") != self.request_id:
            _die(f"answer to `{method}` out of order: id {answer.get('id')}, "
                 f"expected {self.request_id}")
        return answer.get("result")

    def poll(self, deadline):
        """Waits for an answer until `deadline` without giving up the core.

        On a virtual machine, a core left idle for the fsync behind a
        checkpoint's answer is slow to wake, often slower than the fsync
        itself: polling the socket keeps it awake. Whatever arrives goes to
        the inbox; if nothing does in time, `read_line` sleeps for it.
        """
        recv = self.sock.recv
        flags = self.dontwait
        clock = time.perf_counter
        while True:
            try:
                chunk = recv(65536, flags)
            except BlockingIOError:
                if clock() < deadline:
                    continue
                return
            except OSError:
                return  # `read_line` meets it again and reports it
            self.inbox += chunk
            return

    def read_line(self, method):
        """The next line from the server, b"" or a partial line at its end."""
        inbox = self.inbox
        while True:
            end = inbox.find(b"\n")
            if end >= 0:
                line = bytes(inbox[:end + 1])
                del inbox[:end + 1]
                return line
            try:
                chunk = self.sock.recv(65536)
            except OSError as exc:
                _die(f"lost the connection to the server during `{method}`: {exc}")
            if not chunk:
                line = bytes(inbox)
                inbox.clear()
                return line
            inbox += chunk

    def request_text(self, method, params, checkpoint=False):
        """`request` with params already written as JSON text."""
        self.request_id += 1
        self.send(f'{{"jsonrpc":"2.0","id":{self.request_id},"method":"{method}",'
                  f'"params":{params}}}\n')
        return self.answer(method, checkpoint)

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
        self.request("run_result", {"play_sid": self.play_sid, "run": self.run,
                                    "status": status, "output": output,
                                    "error": _clip(error)})
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

    def execute(self, info, kind, parent, canon, key, args, kwargs, version):
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
        wire = info.wire or self.wire_of(info)
        # The span's JSON is written as text around the canonical inputs:
        # encoding the whole span twice a step was most of the SDK's time.
        head = (f'"id":"{span["id"]}","play_sid":{self.play_json},"run":{self.run},'
                f'"parent_id":{parent.id_json},{wire[0]},"kind":"{kind}",')
        tail = f'"inputs":{canon},'
        start = lambda: (  # noqa: E731 (written only if it is sent)
            f'{self.span_event_head}{{{head}"status":"running","started_at":"{span["started_at"]}",'
            f'"ended_at":null,"duration_ms":0.0,{tail}"output":null,"error":null,{wire[1]},'
            f'"step_key":"{key}","child_play_sid":null,"cost_usd":0.0}}}}}}\n')
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
        self.request_text(
            "step_output",
            f'{{"play_sid":{self.play_json},"run":{self.run},"step_key":"{key}",'
            f'"output":{text},"span":{{{head}"status":"success",'
            f'"started_at":"{span["started_at"]}","ended_at":"{ended}",'
            f'"duration_ms":{duration!r},{tail}"output":{text},"error":null,{wire[1]},'
            f'"step_key":"{key}","child_play_sid":{child},'
            f'"cost_usd":{float(span["cost_usd"])!r}}}}}', checkpoint=True)
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

    def pause(self, name, schema, ui):
        frame = self.stack[-1]
        resume_id = self.pause_id(frame, name, True)
        if resume_id in self.answers:
            return self.answers[resume_id]
        # A pause the server refuses as asked (a schema that is not a valid
        # JSON Schema, say) raises here, in the flow, naming the pause.
        result = self.request("pause", {
            "play_sid": self.play_sid, "run": self.run,
            "request": {"id": resume_id, "name": name, "schema": schema, "ui": ui,
                        "asked_at_span_id": frame.span and frame.span["id"],
                        "asked_at": _now(), "payload": None, "resumed_at": None}},
            refusable=True)
        if result.get("answered"):
            self.answers[resume_id] = result.get("payload")
            return self.answers[resume_id]
        raise _Paused(resume_id)

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
            outcome = self.pause(waiting, None, None)
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


def _not_json(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _reused_encoder(json, sort_keys, default=_type_key, allow_nan=True):
    """A compact JSON encoder built once and reused for every value.

    `JSONEncoder.encode` builds a new C encoder on every call, which is half
    its cost on the small values of a step. This one skips the check for
    circular references: a cyclic value fails with RecursionError instead.
    """
    make = json.encoder.c_make_encoder
    if make is None:  # an interpreter without CPython's C accelerator
        return json.JSONEncoder(sort_keys=sort_keys, separators=(",", ":"),
                                ensure_ascii=False, default=default,
                                allow_nan=allow_nan).encode
    encode = make(None, default, json.encoder.encode_basestring, None, ":", ",",
                  sort_keys, False, allow_nan)
    join = "".join
    return lambda value: join(encode(value, 0))


def _load_module(module_name, filename, source):
    """Executes a flow's source as a fresh module named `module_name`."""
    module = type(sys)(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    if isinstance(source, str):
        import linecache

        # Tracebacks and span sites read the lines of code that has no file;
        # no modification time, so `linecache.checkcache` keeps the entry.
        linecache.cache[filename] = (len(source), None, source.splitlines(True),
                                     filename)
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    return module


def _main_of(module, what):
    main = module.__dict__.get("main")
    if not callable(main):
        raise RuntimeError(f"no function named `main` in {what}: "
                           "a flow needs a root `@flow def main(...)`")
    return getattr(main, "__hero_step__", None) or _Step(main, "main", None)


def _format_exception(exc):
    """The traceback of `exc` as a user reads it.

    The frames of the SDK and of the import machinery are left out: they are
    plumbing between the user's lines, and would bury them.
    """
    import traceback

    own = _format_exception.__code__.co_filename
    report = traceback.TracebackException.from_exception(exc)
    pending = [report]
    while pending:
        part = pending.pop()
        part.stack = traceback.StackSummary.from_list(
            [frame for frame in part.stack
             if frame.filename != own and not frame.filename.startswith("<frozen ")])
        pending.extend(chained for chained in (part.__cause__, part.__context__)
                       if chained is not None)
    return "".join(report.format())


def _run_file(path):
    """`run FILE`: one run of a play; returns the exit code."""
    global _rt
    if not os.environ.get("HERO_PLAY_SID"):
        sys.stderr.write(
            "error: `hero_tracing run` is started by hero_logic for one run of a "
            "play (HERO_PLAY_SID is not set)\nhint: run a flow with "
            "`hero_logic play start FILE`\n")
        return 2
    rt = _rt = _Run(os.environ)
    try:
        rt.steps = _load_json_object(rt.json, os.environ.get("HERO_REPLAY_STEP_OUTPUTS_FILE"))
        rt.answers = _load_json_object(rt.json, os.environ.get("HERO_REPLAY_RESUMES_FILE"))
        inputs = _load_input(rt.json, os.environ.get("HERO_INPUT_FILE"))
        if not isinstance(inputs, dict):
            raise TypeError(f"the play's input must be a JSON object, not {inputs!r}")
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        sys.argv = [path]
        with open(path, "rb") as file:
            source = file.read()
        # Not `__main__`: the file's `if __name__ == "__main__":` block is for
        # running it by hand, not for the engine.
        main = _main_of(_load_module("__hero_flow__", path, source), path)
        output = rt.call(main, main.bind((), inputs), (), inputs, "flow_root", None)
    except _Paused:
        return rt.finish("paused", None, None)
    except BaseException as exc:
        error = _format_exception(exc)
        sys.stderr.write(error)
        return rt.finish("failed", None, error)
    return rt.finish("success", output, None)


def _warm():
    """`warm`: a spare interpreter, started before it is needed.

    The server keeps one started, with the modules a run needs already
    imported, and hands it the next run as one JSON line on stdin
    (`{"env": {...}, "file": PATH, "cwd": FOLDER}`): the run then starts without paying for
    the interpreter's start. End of input without a line means the server
    no longer needs it.
    """
    # Imported now, so that the run does not wait for them.
    import hashlib
    import json
    import socket

    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    spec = json.loads(line)
    os.environ.update(spec["env"])
    os.chdir(spec["cwd"])
    # A run has no input: what is left of stdin belongs to nobody.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, closefd=False)
    return _run_file(spec["file"])


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


# --------------------------------------------------------------------------
# Static analysis: `inspect` and `lint` read the source with `ast` and never
# execute it.

_FIELD_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool",
                "list": "list", "dict": "dict", "List": "list", "Dict": "dict"}

# Calls whose value differs on every run (SPEC section 5), by qualified name;
# every function of `random` and `secrets` counts too. The short spellings
# (`datetime.now`, `date.today`) are what a name that no import resolves
# leaves, and are flagged as well.
_NONDETERMINISTIC = frozenset({
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
    "time.perf_counter", "time.perf_counter_ns",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today", "datetime.now", "datetime.utcnow", "datetime.today",
    "date.today", "uuid.uuid1", "uuid.uuid4", "os.urandom",
})


class _Module:
    """What static analysis knows of one flow source."""

    def __init__(self, ast, tree):
        self.ast = ast
        self.tree = tree
        # Local name -> qualified name, from every import in the file.
        self.aliases = {}
        # Names that denote hero_tracing's `flow`, and the module itself.
        # `flow` counts without an import too, so that a file that gets it
        # through a star import is still checked.
        self.flow_names = {"flow"}
        self.sdk_names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.partition(".")[0]
                    self.aliases[alias.asname or top] = alias.name if alias.asname else top
                    if alias.name == "hero_tracing":
                        self.sdk_names.add(alias.asname or top)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    if node.module == "hero_tracing" and alias.name == "flow":
                        self.flow_names.add(alias.asname or alias.name)
        # Step functions: decorated with `@flow`, or bound as `x = flow(f)`.
        self.steps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(self.is_flow(_decorator_callee(ast, decorator))
                       for decorator in node.decorator_list):
                    self.steps.add(node.name)
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                  and self.is_flow(_decorator_callee(ast, node.value.func))):
                self.steps.update(target.id for target in node.targets
                                  if isinstance(target, ast.Name))

    def is_flow(self, node):
        ast = self.ast
        if isinstance(node, ast.Name):
            return node.id in self.flow_names
        return (isinstance(node, ast.Attribute) and node.attr == "flow"
                and isinstance(node.value, ast.Name) and node.value.id in self.sdk_names)

    def qualified(self, node):
        """The dotted name a callee denotes, imports resolved, or None."""
        ast = self.ast
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def step_of(self, call):
        """(label, workflow name or None) when `call` calls a step, else None."""
        ast = self.ast
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.steps:
            return func.id, None
        if isinstance(func, ast.Attribute) and func.attr == "invoke" and self.is_flow(func.value):
            first = call.args[0] if call.args else None
            name = first.value if isinstance(first, ast.Constant) else "..."
            return f"{ast.unparse(func)}({ast.unparse(first) if first else ''})", str(name)
        return None

    def main(self):
        """The last top-level `def main`, as Python would bind it, or None."""
        found = None
        for node in self.tree.body:
            if isinstance(node, (self.ast.FunctionDef, self.ast.AsyncFunctionDef)) \
                    and node.name == "main":
                found = node
        return found

    def warnings(self):
        ast = self.ast
        found = []
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call):
                continue
            step = self.step_of(call)
            if step is None:
                continue
            label, workflow = step
            for argument in call.args + [keyword.value for keyword in call.keywords]:
                for culprit in self.calls_in(argument):
                    found.append(_warning(ast, culprit, label, workflow))
        return sorted(found, key=lambda warning: (warning["line"], warning["col"]))

    def calls_in(self, node):
        """Non-deterministic calls evaluated as part of the expression `node`.

        A nested step call is a step of its own, with a memoized output, and a
        lambda's body is not evaluated by the call: neither is searched.
        """
        ast = self.ast
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Call):
            if self.step_of(node) is not None:
                return
            name = self.qualified(node.func)
            if name and (name in _NONDETERMINISTIC
                         or name.startswith(("random.", "secrets."))):
                yield node
        for child in ast.iter_child_nodes(node):
            yield from self.calls_in(child)


def _decorator_callee(ast, decorator):
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def _warning(ast, call, label, workflow):
    text = ast.unparse(call)
    if len(text) > 60:
        text = f"{ast.unparse(call.func)}(...)"
    if workflow is None:
        where = f"step `{label}`"
        hint = f"call `{text}` inside the body of `{label}` instead"
    else:
        where = f"`{label}`"
        hint = (f"call `{text}` inside the flow `{workflow}` instead, "
                "or inside a step whose result you pass in")
    return {"line": call.lineno, "col": call.col_offset + 1,
            "message": f"`{text}` in the arguments of {where} is not deterministic: "
                       "a replay computes a new value, so the step's key changes "
                       "and it runs again",
            "hint": hint}


def _parse(path):
    """(module, None) or (None, failure) for the file at `path`."""
    import ast

    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        return None, {"ok": False, "error": f"cannot read {path}: {exc.strerror}",
                      "line": None, "col": None}
    try:
        tree = ast.parse(source, filename=os.path.basename(path))
    except SyntaxError as exc:
        return None, {"ok": False,
                      "error": f"{type(exc).__name__}: {exc.msg} ({exc.filename}, "
                               f"line {exc.lineno}, column {exc.offset})",
                      "line": exc.lineno, "col": exc.offset}
    except ValueError as exc:
        return None, {"ok": False, "error": str(exc), "line": None, "col": None}
    return _Module(ast, tree), None


def _field_type(ast, node):
    """The FlowField type an annotation denotes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return "any"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _optional_type(ast, [node.left, node.right])
    if isinstance(node, ast.Subscript):
        outer = _last_name(ast, node.value)
        if outer == "Optional":
            return _field_type(ast, node.slice)
        if outer == "Union":
            members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return _optional_type(ast, members)
        node = node.value
    return _FIELD_TYPES.get(_last_name(ast, node), "any")


def _optional_type(ast, members):
    """The type of `X | None` or `Union[X, None]`; `any` for a real union."""
    members = [member for member in members
               if not (isinstance(member, ast.Constant) and member.value is None)]
    return _field_type(ast, members[0]) if len(members) == 1 else "any"


def _last_name(ast, node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(ast, json, node):
    """A default value as JSON data, or None when it is not a plain literal."""
    try:
        value = ast.literal_eval(node)
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value


def _inspect(path):
    import json

    module, failure = _parse(path)
    if failure is not None:
        return failure
    ast = module.ast
    main = module.main()
    if main is None:
        return {"ok": False,
                "error": "no function named `main`: a flow needs a root "
                         "`@flow def main(...)`",
                "line": None, "col": None}
    args = main.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    inputs = [{"name": arg.arg, "type": _field_type(ast, arg.annotation),
               "required": default is None,
               "default": None if default is None else _literal(ast, json, default)}
              for arg, default in zip(positional + args.kwonlyargs,
                                      defaults + args.kw_defaults)]
    outputs = []
    # `@flow(name="...")` on main names the workflow (SPEC §6).
    name = None
    for decorator in main.decorator_list:
        if isinstance(decorator, ast.Call) and module.is_flow(decorator.func):
            for keyword in decorator.keywords:
                if keyword.arg == "outputs":
                    outputs = _output_fields(ast, keyword.value)
                elif keyword.arg == "name" and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str):
                    name = keyword.value.value
    description = (ast.get_docstring(module.tree) or "").strip()
    return {"ok": True, "name": name, "any_keyword": args.kwarg is not None,
            "description": description.partition("\n")[0],
            "inputs": inputs, "outputs": outputs, "warnings": module.warnings()}


def _output_fields(ast, node):
    """`outputs=["a", "b"]` or `outputs={"a": "str"}` as FlowFields."""
    if isinstance(node, (ast.List, ast.Tuple)):
        fields = [(element, "any") for element in node.elts]
    elif isinstance(node, ast.Dict):
        fields = [(key, _field_type(ast, value)) for key, value in zip(node.keys, node.values)]
    else:
        return []
    return [{"name": name.value, "type": kind, "required": True, "default": None}
            for name, kind in fields
            if isinstance(name, ast.Constant) and isinstance(name.value, str)]


def _lint(path):
    module, failure = _parse(path)
    if failure is not None:
        print(f"{path}:{failure['line'] or 1}:{failure['col'] or 1}: {failure['error']}")
        return 1
    warnings = module.warnings()
    for warning in warnings:
        print(f"{path}:{warning['line']}:{warning['col']}: {warning['message']}\n"
              f"  hint: {warning['hint']}")
    if not warnings:
        sys.stderr.write(f"{path}: no issues\n")
    return 1 if warnings else 0


def _cli(argv):
    if len(argv) == 2 and argv[0] == "run":
        return _run_file(argv[1])
    if argv == ["warm"]:
        return _warm()
    if len(argv) == 2 and argv[0] == "inspect":
        import json

        print(json.dumps(_inspect(argv[1])))
        return 0
    if len(argv) == 2 and argv[0] == "lint":
        return _lint(argv[1])
    sys.stderr.write("usage: python -m hero_tracing run|inspect|lint FILE | warm\n")
    return 2


if __name__ == "__main__":
    # `-m` executes this file as `__main__`, but flows import `hero_tracing`:
    # the run must live in that module, or the flow would see no run at all.
    import hero_tracing

    sys.exit(hero_tracing._cli(sys.argv[1:]))

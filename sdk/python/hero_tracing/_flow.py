"""The flow API: `@flow`, `flow.pause`, `flow.invoke`, `flow.cost`, `ask_user`.

This is all a flow's code touches. Outside a run (`_rt` is None) a decorated
function is the plain function, and `import hero_tracing` loads this module
and nothing more than `sys`: a unit test that imports a flow pays next to
nothing for the SDK. Whatever a call needs beyond that is imported when it
is first needed.

Invariants:
* A step's identity is worked out once per function (`_Step`); its key,
  replay and recording belong to the run in progress (`_run._Run`), which
  this module only calls.
* `_rt` is the one run of this process, set by `_run._run_file` before the
  flow's module is loaded; steps run on one thread, so it needs no lock.
* A pause with no answer yet unwinds the flow with `_Paused`, which the
  user's code cannot catch by accident.
"""

import sys

# The run in progress (a `_run._Run`), or None outside a run.
_rt = None

# Code-object flags (see `inspect.CO_*`), spelled here so that checking them
# does not import `inspect`.
_CO_VARARGS_OR_VARKEYWORDS = 0x04 | 0x08
_CO_ASYNC = 0x80 | 0x200  # coroutine or async generator


class FlowOutputError(ValueError):
    """A step returned a value that lacks fields declared in `outputs=`."""

    # Named where users import it, in tracebacks as before the split.
    __module__ = "hero_tracing"


class ChildFlowError(RuntimeError):
    """A child play started with `flow.invoke(..., spawn=True)` did not succeed."""

    __module__ = "hero_tracing"

    def __init__(self, name, child_play_sid, status, error):
        super().__init__(
            f"child play {child_play_sid} of workflow `{name}` ended {status}: {error}"
        )
        self.child_play_sid = child_play_sid
        self.status = status
        self.error = error


class PauseTimeout(Exception):
    """A pause with `timeout_s` and no `default` was not answered in time.

    Raised in the flow at the pause, on the run after the deadline passed;
    the flow may catch it (to remind, escalate, ...). Uncaught, the play
    fails naming the pause.
    """

    __module__ = "hero_tracing"

    def __init__(self, name, timeout_s=None):
        after = "" if timeout_s is None else f" within {timeout_s:g} s"
        super().__init__(f"nobody answered the pause `{name}`{after}")
        self.name = name
        self.timeout_s = timeout_s


class Fatal(Exception):
    """A failure that retrying cannot fix: a step raising it is never retried,
    whatever its `retries=`."""

    __module__ = "hero_tracing"


class _Paused(BaseException):
    """Unwinds the flow once a pause is durably recorded.

    It derives from BaseException so that a user's `except Exception` cannot
    swallow it and carry on past a pause that has no answer yet.
    """


# `default=` left out: a pause with a deadline raises `PauseTimeout`.
_UNSET = object()


class _Retry:
    """A step's `retries=` policy, checked once when the step is decorated."""

    __slots__ = ("retries", "delay_s", "backoff", "max_delay_s", "retry_on")

    def __init__(self, retries, delay_s, backoff, max_delay_s, retry_on):
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"@flow(retries=...) takes a whole number ≥ 0, not {retries!r}")
        for label, value, least in (("retry_delay_s", delay_s, 0.0),
                                    ("max_delay_s", max_delay_s, 0.0),
                                    ("backoff", backoff, 1.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not value >= least or value == float("inf"):
                raise ValueError(
                    f"@flow({label}=...) takes a finite number ≥ {least:g}, not {value!r}")
        if isinstance(retry_on, type):
            retry_on = (retry_on,)
        retry_on = tuple(retry_on)
        if not all(isinstance(c, type) and issubclass(c, BaseException) for c in retry_on):
            raise ValueError("@flow(retry_on=...) takes exception classes")
        self.retries = retries
        self.delay_s = float(delay_s)
        self.backoff = float(backoff)
        self.max_delay_s = float(max_delay_s)
        self.retry_on = retry_on

    def delay(self, failed):
        """Seconds to wait after the `failed`-th failed attempt."""
        return min(self.delay_s * self.backoff ** (failed - 1), self.max_delay_s)

    def retries_after(self, exc, failed):
        """Whether an attempt that raised `exc`, the `failed`-th, is tried again."""
        return (failed <= self.retries and isinstance(exc, self.retry_on)
                and not isinstance(exc, Fatal))


class _Step:
    """What the SDK knows of one step function, worked out once per function."""

    __slots__ = ("fn", "name", "outputs", "names", "defaults", "signature",
                 "site", "wire", "quick", "retry")

    def __init__(self, fn, name, outputs, site=None, retry=None):
        self.fn = fn
        self.name = name
        self.outputs = outputs
        # The `retries=` policy, or None: tried once.
        self.retry = retry
        # Where the span points in the source: (file, line), found lazily.
        self.site = site
        # The span fields that never change, as JSON text for replayed spans.
        self.wire = None
        # Whether the last call ended within `_run._QUICK_MS`; unknown at first.
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


def _decorate(fn, name, outputs, retry=None):
    if not callable(fn):
        raise TypeError(
            f"@flow takes a function, not {type(fn).__name__}: "
            "name a step with @flow(name=...)")
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & _CO_ASYNC:
        raise TypeError(
            f"@flow cannot wrap `{fn.__name__}`: async functions are not "
            "supported, a flow's steps run one after another on one thread")
    info = _Step(fn, name or getattr(fn, "__name__", "step"), _output_names(outputs),
                 retry=retry)

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

    def __call__(self, fn=None, /, *, name=None, outputs=None, retries=0,
                 retry_delay_s=1.0, backoff=2.0, max_delay_s=300.0,
                 retry_on=(Exception,)):
        """`retries=N` tries a step that raises one of `retry_on` up to N more
        times, `min(retry_delay_s * backoff**(n-1), max_delay_s)` seconds
        after the n-th failure; `Fatal` is never retried. The attempts are
        counted durably: a crash or a pause between them does not reset it.
        """
        retry = _Retry(retries, retry_delay_s, backoff, max_delay_s, retry_on) \
            if retries else None
        if fn is None:
            return lambda fn: _decorate(fn, name, outputs, retry)
        return _decorate(fn, name, outputs, retry)

    def __repr__(self):
        return "<hero_tracing.flow>"

    @staticmethod
    def pause(name, *, schema=None, ui=None, timeout_s=None, default=_UNSET):
        """Waits for a resume named `name` and returns its payload.

        The first time it is reached the request is recorded and the script
        exits with code 75; on the run after the answer it returns at once.
        `schema` is the JSON Schema the answer must satisfy; `ui` tells the
        dashboard how to ask (None: a machine resume, no form). Unanswered
        after `timeout_s` seconds it returns `default`, or raises
        `PauseTimeout` when there is none.
        """
        if not isinstance(name, str):
            raise TypeError(f"a pause is named by a string, not {type(name).__name__}")
        if timeout_s is not None:
            timeout_s = _seconds("timeout_s", timeout_s)
        return _runtime("flow.pause()").pause(name, schema, ui, timeout_s, default)

    @staticmethod
    def sleep(seconds):
        """Waits `seconds` durably: a long wait parks the play with no process
        and the server wakes it; on replay a passed wait returns at once."""
        seconds = _seconds("flow.sleep()", seconds)
        return _runtime("flow.sleep()").sleep(lambda now: now + seconds)

    @staticmethod
    def sleep_until(when):
        """Waits durably until `when`: a `datetime` with a zone, or an RFC 3339
        string. A time already past returns at once."""
        import datetime

        if isinstance(when, str):
            try:
                when = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"flow.sleep_until() takes an RFC 3339 time, not {when!r}") \
                    from None
        if not isinstance(when, datetime.datetime) or when.tzinfo is None:
            raise ValueError(
                "flow.sleep_until() takes a datetime with a zone (or an RFC 3339 string), "
                f"not {when!r}")
        target = when.timestamp()
        return _runtime("flow.sleep_until()").sleep(lambda now: target)

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


def _seconds(what, value):
    """A wait in seconds: a finite number ≥ 0, or ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < float("inf"):
        raise ValueError(f"{what} takes a finite number of seconds ≥ 0, not {value!r}")
    return float(value)


def _ask(name, kind, schema, prompt, default, timeout_s, **extra):
    ui = {"kind": kind, "prompt": prompt or name}
    for key, value in extra.items():
        if value is not None:
            ui[key] = value
    if default is not _UNSET and default is not None:
        ui["default"] = default
    return flow.pause(name, schema=schema, ui=ui, timeout_s=timeout_s, default=default)


class _AskUser:
    """Questions to a person: thin helpers over `flow.pause` (SPEC section 4).

    Each builds the JSON Schema the server validates the answer against and
    the `ui` the dashboard and `hero_logic resume` render as a prompt.
    """

    def __repr__(self):
        return "<hero_tracing.ask_user>"

    @staticmethod
    def text(name, *, prompt=None, default=_UNSET, timeout_s=None):
        return _ask(name, "text", {"type": "string"}, prompt, default, timeout_s)

    @staticmethod
    def number(name, *, prompt=None, min=None, max=None, default=_UNSET, timeout_s=None):
        schema = {"type": "number"}
        if min is not None:
            schema["minimum"] = min
        if max is not None:
            schema["maximum"] = max
        return _ask(name, "number", schema, prompt, default, timeout_s, min=min, max=max)

    @staticmethod
    def choice(name, options, *, prompt=None, default=_UNSET, timeout_s=None):
        options = list(options)
        return _ask(name, "choice", {"enum": options}, prompt, default, timeout_s,
                    options=options)

    @staticmethod
    def multi_choice(name, options, *, prompt=None, default=_UNSET, timeout_s=None):
        options = list(options)
        schema = {"type": "array", "items": {"enum": options}, "uniqueItems": True}
        return _ask(name, "multi_choice", schema, prompt, default, timeout_s,
                    options=options)

    @staticmethod
    def confirm(name, *, prompt=None, default=_UNSET, timeout_s=None):
        return _ask(name, "confirm", {"type": "boolean"}, prompt, default, timeout_s)


ask_user = _AskUser()

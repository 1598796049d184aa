"""`python -m hero_tracing zygote [MODULES]`: the fork server.

The server keeps one zygote started. It imports what a run needs (and the
comma-separated MODULES of `HERO_LOGIC_PRELOAD`), then forks a fresh child
per run, so that a run skips the interpreter's start and those imports. The
zygote itself never runs a flow: every child starts from the same state.
Each child is forked ahead of its run (a spare, see `_fork_spare` for
when), and the server hands the run's message and descriptors to the spare
itself, then tells the zygote.

Its stdin is a SOCK_SEQPACKET socket to the server; one message each:
* zygote -> server: `{"ready": true}` once it can fork; `{"spare": PID}`
  with the socket of a fresh spare passed with SCM_RIGHTS, the server's
  alone from then on; `{"id": K, "status": S}` when the child of run K is
  reaped, S being the raw wait status, so that exit codes and signals
  reach the server as a cold run's would;
* server -> spare (on its socket) or, with no spare at hand, server ->
  zygote (which forks the run's child then): `{"id": K, "env": {...},
  "file": PATH, "cwd": FOLDER, "busy": B}` with three file descriptors
  passed with SCM_RIGHTS: the run's stdout and stderr (pipes the server
  reads) and a "go" socket; B says that more runs are queued or running,
  so the next spare is forked at once;
* server -> zygote: `{"took": PID, "id": K, "file": PATH, "busy": B}` once
  it handed run K to spare PID;
* child -> server: `{"id": K, "pid": PID}`, sent by the child itself once it
  leads its own session and process group, so that a kill of that group
  can never miss it; the child then reads a byte on the "go" socket, which
  the server wrote with the request, and exits if the socket closes without
  one (the server gave up on this fork, took the byte back and started the
  run cold); as it exits, the child writes its exit code and a newline on
  that socket, after closing its stdout and stderr.
The end of its input means that the server no longer needs it.

Invariants: the zygote is single-threaded when it forks (it refuses to serve
otherwise), reaps only its own children, and hands each child exactly the
environment and working folder of a cold run: its own environment as the
server started it, before any module was preloaded, plus the run's.
"""

import errno
import json
import os
import select
import signal
import socket
import sys

# A message from the server is one JSON object of a run's environment: small.
_MAX_MESSAGE = 1 << 20

# In a forked run: its "go" socket, on which it tells the server its exit
# code as it exits (the zygote's report of its wait status comes later).
_exit_fd = None

# The warm-up's flow (see `_warm`), compiled here once: a run compiles
# nothing (the zygote compiled its file), so a spare that compiled this
# itself spent about 0.2 ms and 50 page copies on work no run does.
_WARM_FLOW = compile("@flow\ndef step(i):\n    return {'i': i}\n", "<warm>", "exec")


def _serve(modules):
    """Serves forks until the server goes; returns the spec of the run to
    make in a child, or None in the zygote when it is done."""
    environ = dict(os.environ)
    import gc
    import hashlib  # noqa: F401
    import importlib
    import linecache  # noqa: F401  (a run loads its flow's source through it)

    from . import _run

    for name in filter(None, (m.strip() for m in modules.split(","))):
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a flow meets it itself
            sys.stderr.write(f"hero_tracing zygote: cannot preload {name}: {exc!r}\n")
    if dict(os.environ) != environ:
        # A preload changed the environment: a cold run would not see that,
        # so no child does. Put back once here, not in every child (undoing
        # and redoing the whole environment took a child about 0.5 ms).
        os.environ.clear()
        os.environ.update(environ)
    ctl = socket.socket(fileno=os.dup(0))
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        sys.stderr.write(
            f"hero_tracing zygote: {threads} threads after the preloads "
            "(HERO_LOGIC_PRELOAD): forking would copy a lock another thread "
            "holds; runs start cold\n")
        return None
    # What is imported now lives as long as the zygote: kept out of the
    # collector's sight, a child's collections do not touch (and so copy)
    # the pages it shares with the zygote.
    gc.freeze()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # Runs alive: pid -> run id. A spare handed to the server that ended
    # before the server said which run it took: pid -> wait status.
    children, early = {}, {}
    ctl.send(b'{"ready":true}')
    spare = _fork_spare(ctl, wake_r, wake_w)
    while not isinstance(spare, list):
        try:
            readable, _, _ = select.select([ctl, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            _drain(wake_r)
            for pid, status in _reap(ctl, children):
                if len(early) >= 64:
                    del early[next(iter(early))]
                early[pid] = status
                if pid == spare:
                    spare = None
            if spare is None and not children:
                # The last run ended: the next run's child is forked now,
                # off any run's way (see `_fork_spare`).
                spare = _fork_spare(ctl, wake_r, wake_w)
                continue
        if ctl not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(ctl, _MAX_MESSAGE, 3)
        if not message:
            return None
        spec = json.loads(message)
        if "took" in spec:
            # The server handed run `id` to the spare `took` itself.
            pid = spec["took"]
            if pid == spare:
                spare = None
            if pid in early:
                _tell(ctl, {"id": spec["id"], "status": early.pop(pid)})
            else:
                children[pid] = spec["id"]
        else:
            # A run the server had no spare for: its child is forked now.
            pid = os.fork()
            if pid == 0:
                _in_child(wake_r, wake_w)
                _ready()
                _become_run(ctl, spec, fds)
                return spec
            children[pid] = spec["id"]
            for fd in fds:
                os.close(fd)
        _run.precompile(spec["file"])
        gc.freeze()
        if spare is None and (len(children) > 1 or spec.get("busy")):
            # Runs overlap, or more are queued: the next one will not wait
            # for this one to end.
            spare = _fork_spare(ctl, wake_r, wake_w)
    # In a spare, handed its run.
    spec, fds = spare
    _become_run(ctl, spec, fds)
    return spec


def _in_child(wake_r, wake_w):
    """What a child drops of the zygote's own machinery."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.close(wake_r)
    os.close(wake_w)


def _fork_spare(ctl, wake_r, wake_w):
    """Forks the child of the next run ahead of it, and hands the server the
    socket to give it its run on: the fork (about 1.5 ms of a VM's page
    faults) is then off a run's start, and so is the zygote (the server
    sends the run to the spare itself, then tells the zygote which it
    took). In the zygote: the spare's pid. In the spare: a list [spec, fds]
    of its run, once handed one; it exits when the server closes the socket
    without one (the server does when the zygote goes). A spare has run
    nothing before its run, so it is the fresh process a fork at the run's
    start would be.

    When: at the zygote's start; once the last run alive has ended; at once
    after a run started while other runs are alive or the server says more
    are queued (`busy`: the next will not wait). Not while a lone run goes
    on: its fork and page faults (some 440 of them) took the cores from
    that run, a millisecond of each back-to-back one-step play.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid != 0:
        theirs.close()
        try:
            socket.send_fds(ctl, [json.dumps({"spare": pid}).encode()], [ours.fileno()])
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
        ours.close()
        return pid
    _in_child(wake_r, wake_w)
    ours.close()
    _ready()
    try:
        _warm(lambda: select.select([theirs], [], [], 0)[0])
    except Exception:  # noqa: BLE001 - only a head start: the run goes on without it
        pass
    try:
        message, fds, _, _ = socket.recv_fds(theirs, _MAX_MESSAGE, 3)
    except OSError:
        os._exit(0)
    if not message:
        os._exit(0)
    theirs.close()
    return [json.loads(message), fds]


def _ready():
    """In a child, before it knows its run: what every run has, so that a
    spare has it done ahead (its own session and process group, stdin from
    /dev/null)."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, closefd=False)


def _warm(arrived):
    """In a spare, before it knows its run: goes once through what every
    run does first (a flow's module run, JSON both ways, a step key's hash,
    a socket), so that the pages this touches are faulted in, and
    those it writes copied from the zygote, while the spare waits rather
    than on its run's way (about 0.7 ms of a fresh child here). It stops
    between steps once its run has `arrived()`, which then goes first.
    Nothing it makes outlives it."""
    import hashlib

    from . import _flow

    scope = {"flow": _flow.flow}
    steps = (
        lambda: exec(_WARM_FLOW, scope),
        lambda: json.loads(json.dumps({"jsonrpc": "2.0", "id": 1, "result": scope["step"](1)})),
        lambda: hashlib.sha1(b"warm").hexdigest(),
        lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close(),
    )
    for step in steps:
        if arrived():
            return
        step()


def _become_run(ctl, spec, fds):
    """In the child: the run's pipes, folder and environment."""
    try:
        ctl.send(json.dumps({"id": spec["id"], "pid": os.getpid()}).encode())
    except OSError:
        # The server gave up on this fork: the run is being started cold.
        os._exit(70)
    ctl.close()
    # Nothing runs before "go" (there already, unless the server took it back).
    out, err, go = fds
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    os.environ.update(spec["env"])
    if os.read(go, 1) != b"g":
        os._exit(70)
    os.set_inheritable(go, False)
    global _exit_fd
    _exit_fd = go
    os.chdir(spec["cwd"])


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _tell(ctl, message):
    try:
        ctl.send(json.dumps(message).encode())
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise


def _reap(ctl, children):
    """Tells the server how each run that ended ended; returns the (pid,
    status) of the other children that ended (spares)."""
    others = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return others
        if pid == 0:
            return others
        run = children.pop(pid, None)
        if run is None:
            others.append((pid, status))
        else:
            _tell(ctl, {"id": run, "status": status})


def _exit_as_python_would(code):
    """Ends a forked run the way Python's own exit does, less the teardown of
    every module: non-daemon threads are joined, `atexit` functions run, and
    every file still open is flushed, then the process exits with `code`.

    The teardown would write to nearly every page the child shares with the
    zygote (each object's reference count), and the kernel would copy each
    such page first: more than half of a short run's CPU. Python does not
    promise `__del__` at exit; what flows rely on (atexit, threads, flushed
    files) still happens.
    """
    import _io
    import atexit
    import gc
    import threading

    threading._shutdown()
    atexit._run_exitfuncs()
    # Only objects made since the fork: the zygote's are frozen, out of sight.
    for obj in gc.get_objects():
        if isinstance(obj, _io._IOBase):
            try:
                if not obj.closed:
                    obj.flush()
            except Exception:  # noqa: BLE001 - as at Python's own exit
                pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    if _exit_fd is not None:
        # Told here, the server need not wait for the kernel to tear the
        # process down (about a millisecond) and the zygote to reap it.
        try:
            os.close(1)
            os.close(2)
            os.write(_exit_fd, b"%d\n" % code)
        except OSError:
            pass
    os._exit(code)


def _zygote(modules=""):
    """The zygote's command: in a child, runs the run and exits."""
    spec = _serve(modules)
    if spec is None:
        return 0
    from ._run import _run_file

    _exit_as_python_would(_run_file(spec["file"]))

"""A run's side of the wire: its connection to the server and its messages.

JSON-RPC 2.0, one JSON object per line, on one Unix-socket connection per
run, attached to the run by the token the runner gave it (`run_attach`, SPEC
section 4: a run's own channel). `_Channel` is the base of `_run._Run`: the
run decides what to send, this module how it goes out and how its answer
comes back.

Invariants:
* Messages go out in the order they were made: replayed spans waiting in
  the buffer and starts held back by `defer` go before the next message.
* One request is in flight at a time, and its answer is the next line; an
  answer out of order, a refusal or a lost connection ends the process at
  once (`_die`): the server knows why, and nothing more can be recorded.
* The run's token leaves the environment when the channel is made, so the
  flow's code and the processes it starts never see it.
"""

import os
import sys
import time

# The longest a flow waits for a checkpoint's answer without sleeping (see
# `_Channel.poll`), in seconds: a few times a small fsync's.
_SPIN_S = 0.002


def _type_key(value):
    """Stands in for a value JSON cannot carry: such arguments key by type."""
    return f"<{type(value).__name__}>"


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


class _Channel:
    """The connection of the run in progress to the server."""

    def __init__(self, env):
        import json
        import socket

        self.json = json
        self.socket = socket
        self.message = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=_type_key).encode
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
        self.socket_path = env.get("HERO_LOGIC_SOCKET")
        # Replayed spans waiting to go out in one `spans_replayed` message.
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

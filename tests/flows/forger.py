"""A hostile flow: it forges the SDK's messages to write into other plays.

It tries, and returns every reply by a label for the test to check:
(a) on a raw connection of its own, without a token, each SDK message for
    the two victim plays, and `run_attach` with a made-up token;
(b) with its own token: a second connection attaching with it, then, on its
    own (attached) connection, each SDK message for the victims, and for
    another run of its own play;
(c) on its own connection, malformed messages about its own play: a bogus
    kind or status, huge and negative costs, NaN and Infinity, a number too
    large for a double, oversized names and keys, ids of another run, a
    pause that answers itself or has a schema that does not compile.

It writes its token into `token_file`, for the test to try once the run has
ended. With `late_file`, it also leaves a process behind that waits until
the play has ended and then sends a span on the run's own connection,
writing the reply into `late_file`.
"""
import json
import os
import socket
import time

import hero_tracing
from hero_tracing import flow

NOW = "2026-12-04T18:00:00.000001Z"


def span(play_sid, run, seq, **changes):
    """A well-formed span, but for `changes`."""
    record = {"id": f"{run}.{seq}", "play_sid": play_sid, "run": run, "parent_id": None,
              "name": "forged", "kind": "step", "status": "success", "started_at": NOW,
              "ended_at": NOW, "duration_ms": 1.0, "inputs": {}, "output": 1,
              "error": None, "source_file": None, "source_line": None,
              "step_key": f"k{seq}", "child_play_sid": None, "cost_usd": 0.0}
    record.update(changes)
    return record


def pause_request(**changes):
    request = {"id": "forged-pause", "name": "forged", "schema": None, "ui": None,
               "asked_at_span_id": None, "asked_at": NOW, "payload": None,
               "resumed_at": None}
    request.update(changes)
    return request


class Lines:
    """One line out, one line back, on a socket."""

    def __init__(self, sock, read_line):
        self.sock = sock
        self.read_line = read_line
        self.id = 1000

    def text(self, text):
        self.sock.sendall(text.encode() + b"\n")
        line = self.read_line()
        return json.loads(line) if line else {"closed": True}

    def call(self, method, params):
        self.id += 1
        return self.text(json.dumps({"jsonrpc": "2.0", "id": self.id, "method": method,
                                     "params": params}))


def raw_connection(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    reader = sock.makefile("rb")
    return Lines(sock, reader.readline)


def every_message(victim, run):
    """Each SDK message, well-formed, for `victim`'s run `run`."""
    return {
        "span_event": {"play_sid": victim, "span": span(victim, run, 89)},
        "span_event_bogus": {"play_sid": victim, "span": span(victim, run, 90, kind="bogus")},
        "span_event_costly": {"play_sid": victim, "span": span(victim, run, 91, cost_usd=5.0)},
        "spans_replayed": {"play_sid": victim, "run": run, "at": NOW,
                           "items": [[92, None, "k92", None, "forged", "step"]]},
        "step_output": {"play_sid": victim, "run": run, "step_key": "k93", "output": 1,
                        "span": span(victim, run, 93)},
        "pause": {"play_sid": victim, "run": run, "request": pause_request()},
        "run_result": {"play_sid": victim, "run": run, "status": "failed", "error": "forged"},
        "workflow_resolve": {"play_sid": victim, "name": "forger"},
    }


def method_of(label):
    return "span_event" if label.startswith("span_event") else label


def leave_late_writer(rt, late_file):
    """A process that outlives the run and writes on its channel afterwards."""
    if os.fork() != 0:
        return
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        public = raw_connection(os.environ["HERO_LOGIC_SOCKET"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            play = public.call("play_get", {"play_sid": rt.play_sid})
            if play.get("result", {}).get("status") == "success":
                break
            time.sleep(0.02)
        own = Lines(rt.sock, lambda: rt.read_line("late"))
        reply = own.call("span_event", {"span": span(rt.play_sid, rt.run, 95)})
        with open(late_file + ".partial", "w") as file:
            json.dump(reply, file)
        os.replace(late_file + ".partial", late_file)
    finally:
        os._exit(0)


@flow
def main(victim_running: str, victim_done: str, token_file: str, late_file: str = ""):
    rt = hero_tracing._rt
    me, run = rt.play_sid, rt.run
    path = os.environ["HERO_LOGIC_SOCKET"]
    replies = {}

    # (a) No token.
    stranger = raw_connection(path)
    for victim in (victim_running, victim_done):
        for label, params in every_message(victim, 1).items():
            replies[f"a/{label}/{victim}"] = stranger.call(method_of(label), params)
    replies["a/run_attach/made-up"] = stranger.call("run_attach", {"token": "0" * 32})
    replies["a/run_attach/no-token"] = stranger.call("run_attach", {})
    replies["a/span_event/self"] = stranger.call(
        "span_event", {"play_sid": me, "span": span(me, run, 80)})

    # (b) Its own token: once more on a second connection, then messages for
    # other plays and another run on its own connection.
    replies["b/run_attach/second"] = raw_connection(path).call("run_attach", {"token": rt.token})
    rt.send("")  # whatever the SDK held back goes out first
    own = Lines(rt.sock, lambda: rt.read_line("forged"))
    for victim in (victim_running, victim_done):
        for label, params in every_message(victim, 1).items():
            replies[f"b/{label}/{victim}"] = own.call(method_of(label), params)
    for other_run in (run + 1, 0):
        for label, params in every_message(me, other_run).items():
            if label != "workflow_resolve":
                replies[f"b/{label}/run {other_run}"] = own.call(method_of(label), params)
    replies["b/run_attach/again"] = own.call("run_attach", {"token": rt.token})

    # (c) Malformed, about its own play and run.
    bad_spans = {
        "kind bogus": span(me, run, 70, kind="bogus"),
        "status bogus": span(me, run, 70, status="bogus"),
        "cost 1e6": span(me, run, 70, cost_usd=1e6),
        "cost negative": span(me, run, 70, cost_usd=-1.0),
        "duration negative": span(me, run, 70, duration_ms=-5.0),
        "name empty": span(me, run, 70, name=""),
        "name 2000 bytes": span(me, run, 70, name="n" * 2000),
        "step_key 200 bytes": span(me, run, 70, step_key="k" * 200),
        "id of another run": span(me, run, 70, id=f"{run + 1}.70"),
        "id malformed": span(me, run, 70, id="seventy"),
        "parent of another run": span(me, run, 70, parent_id=f"{run + 1}.1"),
        "parent after its child": span(me, run, 70, parent_id=f"{run}.71"),
        "started_at bogus": span(me, run, 70, started_at="yesterday"),
        "source_line negative": span(me, run, 70, source_line=-1),
        "run as text": span(me, str(run), 70),
        "missing kind": {k: v for k, v in span(me, run, 70).items() if k != "kind"},
    }
    for label, bad in bad_spans.items():
        replies[f"c/span_event/{label}"] = own.call("span_event", {"span": bad})
    good = json.dumps(span(me, run, 70))
    literal = {
        "cost NaN": good.replace('"cost_usd": 0.0', '"cost_usd": NaN'),
        "cost Infinity": good.replace('"cost_usd": 0.0', '"cost_usd": Infinity'),
        "duration 1e400": good.replace('"duration_ms": 1.0', '"duration_ms": 1e400'),
    }
    for label, text in literal.items():
        assert text != good, label
        own.id += 1
        replies[f"c/span_event/{label}"] = own.text(
            '{"jsonrpc": "2.0", "id": %d, "method": "span_event", "params": {"span": %s}}'
            % (own.id, text))
    own.id += 1
    replies["c/step_output/output 1e400"] = own.text(
        '{"jsonrpc": "2.0", "id": %d, "method": "step_output", '
        '"params": {"step_key": "k71", "output": 1e400}}' % own.id)
    replies["c/step_output/step_key 200 bytes"] = own.call(
        "step_output", {"step_key": "k" * 200, "output": 1})
    replies["c/step_output/span of another step"] = own.call(
        "step_output", {"step_key": "k72", "output": 1, "span": span(me, run, 72, step_key="k0")})
    replies["c/step_output/unknown field"] = own.call(
        "step_output", {"step_key": "k73", "output": 1, "sneaky": True})
    replies["c/spans_replayed/seq 0"] = own.call(
        "spans_replayed", {"at": NOW, "items": [[0, None, "k", None, "forged", "step"]]})
    replies["c/spans_replayed/kind bogus"] = own.call(
        "spans_replayed", {"at": NOW, "items": [[74, None, "k", None, "forged", "bogus"]]})
    replies["c/spans_replayed/at bogus"] = own.call(
        "spans_replayed", {"at": "soon", "items": [[74, None, "k", None, "forged", "step"]]})
    bad_pauses = {
        "schema nonsense": pause_request(schema={"type": "nonsense"}),
        "answers itself": pause_request(payload={"ok": True}, resumed_at=NOW),
        "ui a string": pause_request(ui="confirm"),
        "name 2000 bytes": pause_request(name="p" * 2000),
        "id empty": pause_request(id=""),
        "asked in another run": pause_request(asked_at_span_id=f"{run + 1}.1"),
        "waits on a play not its child": pause_request(name=f"child_play:{victim_running}"),
    }
    for label, request in bad_pauses.items():
        replies[f"c/pause/{label}"] = own.call("pause", {"request": request})
    replies["c/run_result/status bogus"] = own.call("run_result", {"status": "bogus"})
    replies["c/run_result/error 2 MiB"] = own.call(
        "run_result", {"status": "failed", "error": "e" * (2 << 20)})

    with open(token_file + ".partial", "w") as file:
        file.write(rt.token)
    os.replace(token_file + ".partial", token_file)
    if late_file:
        leave_late_writer(rt, late_file)
    return replies

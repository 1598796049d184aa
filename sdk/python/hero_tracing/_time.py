"""Time inside a run: durable sleeps, retry delays and step retries.

A wait's end is pinned once (a checkpoint), so every replay of the play
waits for the same moment; a passed wait returns at once. A wait under
`_PARK_S` is slept in the process; a longer one asks the server for a timer
(a pause of kind `timer`) and parks the play, which holds no process until
the server answers the timer at its time.

Invariants:
* A step's failed attempts are checkpoints of their own (`attempt_key`), so
  the attempt count survives a crash or a pause between attempts.
* A retry's timer id derives from the step key and the attempt, never from
  call counters, so replays find the same timer whatever ran before.
"""

import time

from ._flow import _Paused

# A wait this long or longer parks the play (no process) until the server
# wakes it; a shorter one is slept in the process.
_PARK_S = 2.0


class _Timers:
    """What `_Run` does with time; mixed into it, sharing its state."""

    def retrying(self, info, kind, parent, canon, key, args, kwargs, version):
        """A step with `retries=`: each attempt a span, each failure a
        checkpoint, so the count survives a crash or a pause, and the delay
        before the next attempt a timer."""
        retry = info.retry
        failed = 0
        while self.attempt_key(key, failed + 1) in self.steps:
            failed += 1
        while True:
            if failed:
                record = self.steps[self.attempt_key(key, failed)]
                timer = self.sha1(f"{key}|retry|{failed}".encode()).hexdigest()[:20]
                self.wait_until(timer, f"retry:{info.name}", record, parent)
            try:
                return self.execute(info, kind, parent, canon, key, args, kwargs, version,
                                    failed + 1)
            except Exception as exc:
                if not retry.retries_after(exc, failed + 1):
                    raise
                failed += 1
                self.checkpoint(self.attempt_key(key, failed), {
                    **self.instant(time.time() + retry.delay(failed)),
                    "error": f"{type(exc).__name__}: {exc}"[:1000]}, None)

    def attempt_key(self, key, n):
        """The checkpoint key of a step's `n`-th failed attempt."""
        return self.sha1(f"{key}|attempt|{n}".encode()).hexdigest()

    @staticmethod
    def instant(ts):
        """A moment as the server and the replay keep it: RFC 3339 UTC, and
        seconds since the epoch to compare with."""
        second = int(ts)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return {"at": f"{stamp}.{int((ts - second) * 1e6):06d}Z", "ts": ts}

    def sleep(self, target_of):
        """`flow.sleep` / `flow.sleep_until`: a timer, its wake time pinned."""
        frame = self.stack[-1]
        resume_id = self.pause_id(frame, "sleep", True)
        if resume_id in self.answers:
            return None
        wake = self.pin(frame, "flow.sleep#wake", {"id": resume_id},
                        lambda: self.instant(target_of(time.time())))
        self.wait_until(resume_id, "sleep", wake, frame)
        return None

    def wait_until(self, resume_id, name, wake, frame):
        """Returns once `wake` (an `instant`) has passed: at once on replay,
        after a nap when it is near, else by parking the play on a timer
        that the server answers at that time."""
        if resume_id in self.answers:
            return
        left = wake["ts"] - time.time()
        if left <= 0:
            return
        if left < _PARK_S:
            time.sleep(left)
            return
        request = self.request_of(frame, resume_id, name, "timer")
        request["wake_at"] = wake["at"]
        result = self.request("pause", {"play_sid": self.play_sid, "run": self.run,
                                        "request": request}, refusable=True)
        if result.get("answered"):
            self.answers[resume_id] = result.get("payload")
            return
        raise _Paused(resume_id)

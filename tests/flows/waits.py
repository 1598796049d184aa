"""A flow that meets each kind of wait the clock answers.

A question with a deadline and a default; then `fetch`, which fails its
first attempt and passes its second (retried in the process: the delay is
short), so the run after the answer shows both attempts; then an hour's
sleep, which parks the play on a timer.
"""
from hero_tracing import ask_user, flow

attempts = 0


@flow(retries=2, retry_delay_s=0.1)
def fetch() -> str:
    global attempts
    attempts += 1
    if attempts == 1:
        raise ConnectionError("refused, the first time")
    return "fetched"


@flow
def main():
    go = ask_user.confirm("go", prompt="Go on?", timeout_s=3600, default=True)
    data = fetch()
    flow.sleep(3600)
    return {"data": data, "go": go}

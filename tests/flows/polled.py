"""A flow that counts its checkpoints whose answer it polled for.

Each of its steps is checkpointed; after each, it reads whether the SDK will
poll for the next checkpoint's answer rather than sleep, which the server
allows only while this flow has a core to spare.
"""
import hero_tracing
from hero_tracing import flow


@flow
def step(i: int) -> int:
    return i


@flow
def main(n: int):
    polled = 0
    for i in range(n):
        step(i=i)
        polled += hero_tracing._rt.spin
    return {"polled": polled}

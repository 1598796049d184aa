import time
from hero_tracing import flow

@flow
def step(i: int) -> int:
    time.sleep(0.001)
    return i

@flow
def main(seconds: float):
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        step(i=i)
        i += 1
    return i

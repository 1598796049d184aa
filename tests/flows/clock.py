import time
from hero_tracing import flow

@flow
def step(t: float) -> float:
    return t

@flow
def main():
    return step(t=time.time())

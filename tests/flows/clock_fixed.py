import time
from hero_tracing import flow

@flow
def step() -> float:
    return time.time()

@flow
def main():
    return step()

import os, time
from hero_tracing import flow

@flow
def main(gate: str):
    while not os.path.exists(gate):
        time.sleep(0.01)
    return "through"

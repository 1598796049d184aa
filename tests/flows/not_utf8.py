import sys
from hero_tracing import flow

@flow
def after() -> str:
    return "went on"

@flow
def main():
    for _ in range(3):
        sys.stdout.buffer.write(b"bad \xff\xfe bytes\n")
        sys.stdout.flush()
        sys.stderr.buffer.write(b"err \xc3\x28 bytes\n")
        sys.stderr.flush()
    print("plain line")
    return after()

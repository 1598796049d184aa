from hero_tracing import flow

@flow
def big(n: int) -> str:
    return "x" * n

@flow
def main(n: int):
    print("y" * n)
    return len(big(n=n))

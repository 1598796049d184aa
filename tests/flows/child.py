from hero_tracing import flow

@flow
def double(x: int) -> int:
    flow.cost(0.25)
    return 2 * x

@flow
def main(x: int):
    return {"doubled": double(x=x)}

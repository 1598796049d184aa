from hero_tracing import flow

@flow
def before(path: str) -> int:
    with open(path, "a") as f:
        f.write("x\n")
    return 1

@flow
def main(path: str):
    before(path=path)
    shipped = flow.invoke("ship", spawn=True, order="A-1")
    done = flow.pause("after", schema={"type": "boolean"})
    return {"shipped": shipped, "done": done}

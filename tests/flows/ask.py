from hero_tracing import flow, ask_user

@flow
def main():
    n = flow.pause("n", schema={"type": "integer"}, ui={"kind": "number"})
    size = ask_user.choice("size", ["s", "m"])
    return {"n": n, "size": size}

from hero_tracing import flow

@flow
def first_read() -> str:
    with open("data.txt") as f:
        return f.read()

@flow
def main():
    before = first_read()
    flow.pause("go")
    with open("data.txt") as f:
        after = f.read()
    return {"before": before, "after": after}

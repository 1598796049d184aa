from hero_tracing import flow

@flow
def main():
    ok = flow.pause("go", schema={"type": "boolean"})
    return {"version": 1, "ok": ok}

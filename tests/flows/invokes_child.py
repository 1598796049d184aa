from hero_tracing import flow

@flow
def main():
    here = flow.invoke("child", x=2)
    there = flow.invoke("child", spawn=True, x=5)
    return {"here": here, "there": there}

from hero_tracing import flow

@flow
def main():
    return flow.invoke("broken_child", spawn=True)

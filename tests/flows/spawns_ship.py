from hero_tracing import flow

@flow
def main():
    return flow.invoke("ship", spawn=True, order="B-2")

from hero_tracing import flow

@flow
def main(blob: str):
    return {"size": len(blob), "tail": blob[-8:]}

"""Steps whose return values JSON cannot record, or that lack a declared field."""
from hero_tracing import flow


@flow
def a_set():
    return {1, 2}


@flow
def itself():
    loop = []
    loop.append(loop)
    return loop


@flow(outputs=["total"])
def declared():
    return {"count": 1}


@flow
def pair():
    return (1, "a")


@flow
def main(kind: str):
    if kind == "pair":
        value = pair()
        return {"is_list": isinstance(value, list), "value": value}
    return {"set": a_set, "itself": itself, "declared": declared}[kind]()

"""Two levels of steps: `shout` is called with the same argument under two
different parents, so it must get two different step keys."""
from hero_tracing import flow


@flow
def shout(word: str) -> str:
    return word.upper()


@flow
def greet(name: str) -> str:
    return f"hello {shout(name)}"


@flow
def farewell(name: str) -> str:
    return f"goodbye {shout(name)}"


@flow
def main(name: str = "world"):
    print(f"greeting {name}")
    return {"greeting": greet(name), "farewell": farewell(name)}

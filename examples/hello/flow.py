"""hello: the smallest real flow.

It greets a name and counts its letters. Each function decorated with
`@flow` is a step: hero_logic traces every call as a span and records what
it returned, so a replay of this play would not run it again. `main` is the
root of the flow; the play's input becomes its keyword arguments.

Run it with `./run.sh Ada`, or by hand:

    hero_logic play start flow.py --input '{"name": "Ada"}' --wait
"""
from hero_tracing import flow


@flow
def greet(name: str) -> str:
    return f"Hello, {name}!"


@flow(outputs=["letters", "vowels"])
def count_letters(name: str) -> dict:
    letters = sum(1 for c in name if c.isalpha())
    vowels = sum(1 for c in name.lower() if c in "aeiou")
    return {"letters": letters, "vowels": vowels}


@flow(name="hello")
def main(name: str = "world"):
    greeting = greet(name)
    counts = count_letters(name)
    print(f"{greeting} ({counts['letters']} letters)")
    return {"greeting": greeting, **counts}

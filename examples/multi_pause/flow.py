"""multi_pause: three questions with steps between them.

Each pause ends a run; each answer starts the next one, which replays every
step that finished before. Over four runs every step runs exactly once: the
`tally` file the steps append to ends with one line per step.
"""
from hero_tracing import ask_user, flow


@flow
def record(tally: str, what: str) -> str:
    with open(tally, "a") as f:
        f.write(f"{what}\n")
    return what


@flow(name="multi_pause")
def main(tally: str):
    record(tally=tally, what="start")
    name = ask_user.text("name", prompt="Who is this for?")
    record(tally=tally, what=f"named {name}")
    size = ask_user.choice("size", ["small", "medium", "large"], prompt="Which size?")
    record(tally=tally, what=f"sized {size}")
    count = ask_user.number("count", prompt="How many?", min=1, max=10)
    record(tally=tally, what=f"counted {count}")
    return {"name": name, "size": size, "count": count}

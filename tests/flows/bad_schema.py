from hero_tracing import flow, ask_user

@flow
def main():
    try:
        flow.pause("caught", schema={"type": 7})
    except ValueError as exc:
        caught = str(exc)
    assert "caught" in caught, caught
    # The helpers build their schemas themselves: those compile.
    assert ask_user.number("n", min=1, max=5) == 3
    assert ask_user.multi_choice("m", ["a", "b"]) == ["a"]
    return flow.pause("q", schema={"type": "nonsense"})

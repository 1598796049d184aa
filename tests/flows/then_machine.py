"""A person's question, then a pause only a machine answers (no `ui`): the
interactive `resume SID` asks the first and ends at the second with the
line that says how to answer it."""
from hero_tracing import ask_user, flow


@flow
def main():
    who = ask_user.text("who", prompt="Who signs?")
    receipt = flow.pause("receipt", schema={"type": "object"})
    return {"who": who, "receipt": receipt}

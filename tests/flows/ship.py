from hero_tracing import flow, ask_user

@flow
def main(order: str):
    carrier = ask_user.choice("carrier", ["post", "courier"])
    return {"order": order, "carrier": carrier}

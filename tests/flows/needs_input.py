"""A flow with a required input: a play without `recipient` is refused."""
from hero_tracing import flow


@flow
def main(recipient: str, times: int = 1):
    return {"message": " ".join([f"hi {recipient}"] * times)}

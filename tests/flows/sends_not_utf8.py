import json
import hero_tracing
from hero_tracing import flow

@flow
def after(reply: str) -> str:
    return reply

@flow
def main():
    rt = hero_tracing._rt
    after(reply="attached")
    rt.sock.sendall(b"{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": \"\xff\xfe\"}\n")
    reply = json.loads(rt.read_line("a line that is not UTF-8"))
    return after(reply=reply["error"]["message"])

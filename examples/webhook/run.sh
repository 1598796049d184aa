#!/usr/bin/env bash
# Runs examples/webhook/flow.py with the HTTP API on: the play pauses at
# `paid`, and curl plays the payment provider, posting to the pause's
# resume_url — first a payload the schema refuses (422), then the right one
# (200), then the same again, as a provider retrying does (200, the first
# answer's time). The play ends `success`.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
#   HERO_LOGIC_HTTP=127.0.0.1:8470 ./run.sh  serves HTTP there (default: a free port)
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

# The HTTP API is on when the server starts with HERO_LOGIC_HTTP.
HERO_LOGIC_HTTP="${HERO_LOGIC_HTTP:-127.0.0.1:0}" "$hero_logic" start >&2
base=$("$hero_logic" rpc info | json '["http"] or ""')
[[ -n "$base" ]] || {
  echo "webhook: the running server has no HTTP API; stop it (hero_logic stop) and run this again" >&2
  exit 1
}

sid=$("$hero_logic" play start "$here/flow.py" --input '{"order": "order-7"}')
code=0
"$hero_logic" play wait "$sid" >/dev/null || code=$?
[[ $code -eq 75 ]] || { echo "webhook: expected the play to wait (75), got $code" >&2; exit 1; }

url=$("$hero_logic" pending "$sid" --json | json '[0]["resume_url"]')
echo "webhook: play $sid waits; its provider posts to $base/v1/resume/…" >&2

post() { curl -sS -o /dev/stderr -w '%{http_code}' -X POST "$url" -H 'content-type: application/json' -d "$1"; }
status=$(post '{"amount": 12.5}')
echo " <- $status (no tx: refused, the pause stays open)" >&2
[[ $status == 422 ]]
status=$(post '{"tx": "tx_123", "amount": 12.5}')
echo " <- $status" >&2
[[ $status == 200 ]]
status=$(post '{"tx": "tx_123", "amount": 12.5}')
echo " <- $status (a retry: the same answer again)" >&2
[[ $status == 200 ]]

play=$("$hero_logic" play wait "$sid" --json)
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "webhook: the play did not succeed" >&2; exit 1; }
echo "webhook: success" >&2

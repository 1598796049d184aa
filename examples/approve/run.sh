#!/usr/bin/env bash
# Runs examples/approve/flow.py: the play pauses at the confirm, this script
# answers it from the shell, and the play ends `success` with the ledger
# holding exactly one line.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
ledger="$work/ledger.txt"

sid=$("$hero_logic" play start "$here/flow.py" --input "{\"ledger\": \"$ledger\"}")
echo "approve: play $sid started" >&2

code=0
"$hero_logic" play wait "$sid" >/dev/null || code=$?
[[ $code -eq 75 ]] || { echo "approve: expected the play to wait (75), got $code" >&2; exit 1; }

id=$("$hero_logic" pending "$sid" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
echo "approve: answering pause $id with true" >&2
"$hero_logic" resume "$sid" "$id" true --json >&2

play=$("$hero_logic" play wait "$sid" --json)
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "approve: the play did not succeed" >&2; exit 1; }
lines=$(wc -l <"$ledger")
echo "approve: success; the ledger has $lines line(s)" >&2
[[ $lines -eq 1 ]]

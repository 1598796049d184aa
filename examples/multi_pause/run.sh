#!/usr/bin/env bash
# Runs examples/multi_pause/flow.py and answers its three questions one by
# one from the shell. Prints the finished play; the play took four runs and
# the tally file has one line per step.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
tally="$work/tally.txt"

sid=$("$hero_logic" play start "$here/flow.py" --input "{\"tally\": \"$tally\"}")
echo "multi_pause: play $sid started" >&2

answer() {  # NAME JSON: wait for the pause NAME and answer it
    local code=0
    "$hero_logic" play wait "$sid" >/dev/null || code=$?
    [[ $code -eq 75 ]] || { echo "multi_pause: expected a pause, got exit $code" >&2; exit 1; }
    local id
    id=$("$hero_logic" pending "$sid" --json |
        python3 -c 'import json, sys; print([r["id"] for r in json.load(sys.stdin) if r["name"] == sys.argv[1]][0])' "$1")
    echo "multi_pause: $1 = $2" >&2
    "$hero_logic" resume "$sid" "$id" "$2" >/dev/null
}

answer name '"Ada"'
answer size '"large"'
answer count 3

play=$("$hero_logic" play wait "$sid" --json)
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "multi_pause: the play did not succeed" >&2; exit 1; }
echo "multi_pause: success; tally:" >&2
cat "$tally" >&2

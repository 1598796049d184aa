#!/usr/bin/env bash
# Runs examples/compose/flow.py: saves its two child workflows, starts the
# parent, answers the question of the spawned child, and prints the parent's
# result. The parent is never resumed by hand: it goes on when its child ends.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$hero_logic" workflow save "$here/pack.py" >/dev/null
"$hero_logic" workflow save "$here/ship.py" >/dev/null
sid=$("$hero_logic" play start "$here/flow.py" --input '{"order": "A-17", "items": ["tea", "cups", "pot", "tray"]}')
echo "compose: play $sid started" >&2

code=0
"$hero_logic" play wait "$sid" >/dev/null || code=$?
[[ $code -eq 75 ]] || { echo "compose: expected the parent to wait on its child (75), got $code" >&2; exit 1; }

child=$("$hero_logic" play list --json |
    python3 -c 'import json, sys; print([p["sid"] for p in json.load(sys.stdin) if p["parent_play_sid"] == sys.argv[1]][0])' "$sid")
id=$("$hero_logic" pending "$child" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
echo "compose: child play $child asks; answering \"courier\"" >&2
"$hero_logic" resume "$child" "$id" '"courier"' >/dev/null
# Once the child has ended, its parent is already running again: the engine
# answered the parent's wait in the same transaction that ended the child.
"$hero_logic" play wait "$child" >/dev/null

play=$("$hero_logic" play wait "$sid" --json)
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "compose: the play did not succeed" >&2; exit 1; }
"$hero_logic" play show "$sid" >&2
echo "compose: success" >&2

#!/usr/bin/env bash
# Runs examples/reminder/flow.py and answers nothing: the first question
# times out (a reminder is logged), the second resolves with its default
# (not approved) and the flow escalates. Between questions the play holds no
# process. Prints the finished play; checks its output and the log.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
log="$work/log.txt"

sid=$("$hero_logic" play start "$here/flow.py" --input "{\"log\": \"$log\", \"wait_s\": 3}")
echo "reminder: play $sid started; nobody answers, so it reminds, then escalates" >&2

# While a question is open the play waits for a person, so `play wait`
# exits 75; nobody answers here, and each deadline answers instead. Show the
# first question with its deadline, then wait on the play until it ends.
shown=""
while :; do
    code=0
    play=$("$hero_logic" play wait "$sid" --json) || code=$?
    [[ $code -eq 75 ]] || break
    [[ -n "$shown" ]] || { "$hero_logic" pending "$sid" >&2; shown=1; }
    sleep 0.5
done
printf '%s\n' "$play"
field() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$1" <<<"$play"; }
[[ $(field status) == '"success"' ]] || { echo "reminder: the play ended $(field status), exit $code" >&2; exit 1; }
[[ $(field output_data) == '{"approved": false, "escalated": true}' ]] ||
    { echo "reminder: unexpected output $(field output_data)" >&2; exit 1; }
echo "reminder: log:" >&2
cat "$log" >&2
[[ $(wc -l <"$log") -eq 3 ]] || { echo "reminder: the log should hold 3 lines" >&2; exit 1; }

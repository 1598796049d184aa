#!/usr/bin/env bash
# Runs examples/reminder/flow.py and answers nothing: the first question
# times out (a reminder is logged), the second resolves with its default and
# the flow escalates. The play waits on timers with no process; `play wait`
# goes on waiting through them, since nothing outside is asked for once the
# deadlines pass. Prints the finished play and the log.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
log="$work/log.txt"

sid=$("$hero_logic" play start "$here/flow.py" --input "{\"log\": \"$log\", \"wait_s\": 3}")
echo "reminder: play $sid started; nobody answers, so it reminds, then escalates" >&2

# Each question waits for a person, so `play wait` exits 75 at it; nobody
# answers here, and the deadline answers instead. Show the question with its
# countdown once, then watch the play until it ends.
code=0
"$hero_logic" play wait "$sid" >/dev/null || code=$?
[[ $code -eq 75 ]] || { echo "reminder: expected a question, got exit $code" >&2; exit 1; }
"$hero_logic" pending "$sid" >&2
until play=$("$hero_logic" play show "$sid" --json) &&
    grep -Eq '"status": ?"(success|failed|cancelled|timed_out)"' <<<"$play"; do
    sleep 0.5
done
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "reminder: the play did not succeed" >&2; exit 1; }
echo "reminder: log:" >&2
cat "$log" >&2

#!/usr/bin/env bash
# Saves examples/nightly/flow.py and schedules it. A real nightly report
# would use `--cron "0 2 * * *" --tz Europe/Berlin`; this demo fires every
# 2 seconds so you see it work: it waits for three plays, lists them, then
# removes the schedule.
#
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
report="$work/report.txt"
name="nightly-demo-$$"

"$hero_logic" workflow save "$here/flow.py" --replace >/dev/null
"$hero_logic" schedule add "$name" nightly --every 2s --input "{\"report\": \"$report\"}" >&2
trap '"$hero_logic" schedule rm "$name" >/dev/null 2>&1 || true' EXIT
"$hero_logic" schedule list >&2

until [[ -f "$report" && $(wc -l <"$report") -ge 3 ]]; do
    sleep 0.5
done
"$hero_logic" schedule show "$name" >&2
"$hero_logic" play list --workflow nightly --limit 3 >&2
echo "nightly: three fires, three lines:" >&2
cat "$report" >&2

#!/usr/bin/env bash
# Runs the approve example's flow (examples/approve/flow.py) headless: its
# pause `approve` is prefilled, so no question is asked, the pause returns the
# payload at once (recorded as a received resume), and the play ends `success`
# in a single run. A glob works too: ./run.sh 'appro*=true'.
#
#   ./run.sh ['approve=true']               the --prefill to use (a glob works)
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
prefill="${1:-approve=true}"

play=$("$hero_logic" play start "$here/../approve/flow.py" --input "{\"ledger\": \"$work/ledger.txt\"}" \
    --prefill "$prefill" --wait --json)
printf '%s\n' "$play"
grep -Eq '"status": ?"success"' <<<"$play" || { echo "headless: the play did not succeed" >&2; exit 1; }
grep -Eq '"runs": ?1,' <<<"$play" || { echo "headless: expected one run" >&2; exit 1; }
echo "headless: success in one run" >&2

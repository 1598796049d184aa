#!/usr/bin/env bash
# Runs examples/hello/flow.py end to end: saves it as the workflow `flow`,
# starts a play, waits for it and prints the finished play as JSON.
# The server starts by itself on first use.
#
#   ./run.sh [NAME]              greets NAME (default: Ada)
#   HERO_LOGIC=path/to/hero_logic ./run.sh   uses that binary
#
# Exits 0 when the play ends `success`, non-zero otherwise.
set -euo pipefail

hero_logic="${HERO_LOGIC:-hero_logic}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="${1:-Ada}"

# The name goes into a JSON string: escape backslashes and quotes.
escaped="${name//\\/\\\\}"
escaped="${escaped//\"/\\\"}"
input="{\"name\": \"$escaped\"}"

echo "hello: running $here/flow.py with input $input" >&2
code=0
play=$("$hero_logic" play start "$here/flow.py" --input "$input" --wait --json) || code=$?
printf '%s\n' "$play"

if [[ $code -ne 0 ]] || ! grep -Eq '"status": ?"success"' <<<"$play"; then
    echo "hello: the play did not succeed (exit code $code)" >&2
    exit $(( code == 0 ? 1 : code ))
fi
echo "hello: success" >&2

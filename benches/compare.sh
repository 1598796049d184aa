#!/usr/bin/env bash
# Runs the durable bench of two commits side by side: both are built
# (release, each in its own worktree and target folder), then their bench
# binaries run alternately, ROUNDS times each, so both see the same machine.
# Figures drift on shared machines; the ratios side by side are what count.
#
#   benches/compare.sh BEFORE [AFTER] [ROUNDS]    AFTER defaults to HEAD, ROUNDS to 3
#   HERO_COMPARE_DIR=folder                       where the worktrees go (default: a temp folder)
set -euo pipefail

before="${1:?usage: benches/compare.sh BEFORE [AFTER] [ROUNDS]}"
after="${2:-HEAD}"
rounds="${3:-3}"
repo="$(git rev-parse --show-toplevel)"
work="${HERO_COMPARE_DIR:-$(mktemp -d)}"

build() {  # NAME REV: prints the path of the bench binary built at REV
    local tree="$work/$1"
    if [[ ! -d "$tree" ]]; then
        git -C "$repo" worktree add --detach -q "$tree" "$2"
    fi
    (cd "$tree" && cargo bench --bench durable --no-run --message-format=json 2>/dev/null) |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "durable" and m.get("executable"):
        print(m["executable"])'
}

echo "building $before and $after in $work" >&2
before_bin="$(build before "$before")"
after_bin="$(build after "$after")"
for round in $(seq "$rounds"); do
    for side in before after; do
        bin="${side}_bin"
        echo "=== round $round: $side ($(git -C "$repo" rev-parse --short "${!side}")), load $(cut -d' ' -f1-3 /proc/loadavg)"
        (cd "$work/$side" && "${!bin}")
    done
done
echo "worktrees left in $work (git worktree remove them when done)" >&2

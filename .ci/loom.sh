#!/usr/bin/env bash
# Loom model checking of spindle's concurrency core (loom-tests/, see its README.md).
# Bounded by LOOM_MAX_PREEMPTIONS (default 2) so it finishes in a few minutes on 2 cores.
# Uses its own target directory so that `--cfg loom` does not invalidate the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-$PWD/target/loom}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
status=0
timeout "${LOOM_TIMEOUT:-1200}" \
    cargo test -p loom-tests --release -- --test-threads="${LOOM_TEST_THREADS:-2}" 2>&1 \
    | tee "$log" || status=$?
elapsed=$(( $(date +%s) - start ))

passed=$( { grep -a -Eo 'test result: ok\. [0-9]+ passed' "$log" || true; } | awk '{s += $4} END {print s + 0}')
if [ "$status" -ne 0 ]; then
    echo "loom: FAILED (exit $status) after ${elapsed}s with LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS" >&2
    echo "loom: a build error above, or a model failure: its first 'panicked at' line is the finding (loom-tests/README.md)" >&2
    exit "$status"
fi
echo "loom: $passed models passed with LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS in ${elapsed}s (build included)"

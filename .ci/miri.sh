#!/usr/bin/env bash
# Miri over the unit tests of the unsafe core: the task cell, wakers and JoinHandle
# (src/task/), and the timer wheel and driver (src/reactor/{wheel,timer}.rs).
# Skipped, successfully, when the nightly miri component is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri not available: skipped (install: rustup component add --toolchain nightly miri rust-src)"
    exit 0
fi

export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-$PWD/target/miri}"
start=$(date +%s)
# Skipped under miri (the wheel and timer have no `unsafe`; these add nothing miri can check):
# * random_operations_match_model: 40 seeds x 3000 random operations, most of an hour in miri;
# * reset_moves_entries_and_keeps_waker: asserts `Waker::will_wake` is true for two clones of
#   one waker, which miri does not guarantee (vtable addresses are not unique there).
cargo +nightly miri test --lib -- task:: reactor::wheel:: reactor::timer:: \
    --skip random_operations_match_model --skip reset_moves_entries_and_keeps_waker
echo "miri: task, wheel and timer unit tests passed in $(( $(date +%s) - start ))s"

#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time; fails if any crashes (a panic,
# a failed assertion, a timeout or running out of memory). Not part of .ci/run: run it by
# hand or on a schedule, and keep what it finds as a regression test (SECURITY.md,
# "Fuzzing").
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 seconds, every target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a nightly compiler, or a
# stable one with RUSTC_BOOTSTRAP=1, which this script sets. Each target starts from its
# committed seeds (fuzz/seeds/TARGET) and fuzz/corpus/TARGET, where libFuzzer keeps the
# inputs it found (ignored by git); fuzz/regressions/TARGET, if any, holds inputs that once
# crashed it and is replayed too. A crash is written to fuzz/artifacts/TARGET/.
# JOBS=2 runs two targets at a time.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
jobs=${JOBS:-1}
export RUSTC_BOOTSTRAP=1

cargo fuzz build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run() {
    local target=$1
    mkdir -p "corpus/$target"
    local inputs=("corpus/$target" "seeds/$target")
    # Inputs that once crashed it, kept beside their regression tests, are replayed too.
    [ -d "regressions/$target" ] && inputs+=("regressions/$target")
    # TMPDIR: the gateway's scratch directories (signing keys) go away with the run.
    if TMPDIR=$scratch cargo fuzz run "$target" "${inputs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        >"$scratch/$target.log" 2>&1; then
        echo "ok      $target: $(grep -E '^Done [0-9]+ runs' "$scratch/$target.log")"
    else
        echo "FAILED  $target:"
        tail -n 40 "$scratch/$target.log"
        return 1
    fi
}

failed=0
running=0
pids=()
names=()
for target in "${targets[@]}"; do
    run "$target" &
    pids+=($!)
    names+=("$target")
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
        running=$((running - 1))
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
exit $failed

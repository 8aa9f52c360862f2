#!/usr/bin/env bash
# Run the cargo-fuzz targets, each for FUZZ_SECONDS (default 600), then copy
# every crash they found into hotswap-testkit/fuzz-regressions/<target>/,
# where tests/fuzz_regressions.rs replays it on every test run.
#
#   scripts/fuzz.sh                  # all three targets, 10 minutes each
#   FUZZ_SECONDS=60 scripts/fuzz.sh inspect
#
# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain build them. Installs cargo-fuzz from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-600}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(inspect wit_compat json_value)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
unset RUST_BACKTRACE
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    # Seeds: the regression inputs, and for WIT the fixtures' packages.
    cp hotswap-testkit/fuzz-regressions/"$t"/* "$corpus"/ 2>/dev/null || true
    rm -f "$corpus"/README.md
    echo "==> fuzzing $t for $seconds s"
    status=0
    cargo fuzz run "$t" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 | tee "fuzz/$t.log" | grep -E "^#|Done|stat::|ERROR|panicked" || status=$?
    for crash in fuzz/artifacts/"$t"/*; do
        [ -e "$crash" ] || continue
        cp "$crash" hotswap-testkit/fuzz-regressions/"$t"/
        echo "crash saved: hotswap-testkit/fuzz-regressions/$t/$(basename "$crash")"
    done
done

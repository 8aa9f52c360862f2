#!/usr/bin/env bash
# Line coverage of hotswap-core, the two role crates and the adapters with cargo-llvm-cov, over
# the whole workspace's tests with the servers they need, then a table of
# the per-crate figures (library sources, `src/`, only) and their total.
#
#   scripts/coverage.sh
#
# Uses its own target directory (instrumented builds do not share
# artifacts with plain ones); installs cargo-llvm-cov when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked
rustup component add llvm-tools-preview >/dev/null 2>&1 || true
# shellcheck source=../.ci/services.sh
source .ci/services.sh
start_postgres
start_s3
export CI=true CARGO_TARGET_DIR="${COVERAGE_TARGET_DIR:-/var/cache/hotswap-ci/cov-target}"
unset RUST_BACKTRACE
cargo llvm-cov clean --workspace
cargo llvm-cov --workspace --no-report
out="$(mktemp)"
cargo llvm-cov report --json --summary-only --output-path "$out"
python3 - "$out" "$PWD" <<'PY'
import json, sys
crates = ["hotswap-core", "hotswap-edge", "hotswap-control", "hotswap-runtime-wasmtime", "hotswap-runtime-wasmer",
          "hotswap-store-sql", "hotswap-store-sqlite", "hotswap-store-postgres",
          "hotswap-store-s3", "hotswap-http"]
root = sys.argv[2].rstrip("/") + "/"
lines = {c: [0, 0] for c in crates}
for f in json.load(open(sys.argv[1]))["data"][0]["files"]:
    rel = f["filename"].removeprefix(root)
    crate, _, rest = rel.partition("/")
    if crate in lines and rest.startswith("src/"):
        s = f["summary"]["lines"]
        lines[crate][0] += s["covered"]
        lines[crate][1] += s["count"]
print("| crate | lines covered | line coverage |\n|---|---|---|")
for c in crates:
    cov, n = lines[c]
    print(f"| {c} | {cov} / {n} | {100 * cov / max(n, 1):.1f}% |")
cov = sum(v[0] for v in lines.values()); n = sum(v[1] for v in lines.values())
print(f"| **all of the above** | {cov} / {n} | **{100 * cov / n:.1f}%** |")
PY

#!/usr/bin/env bash
# The chaos tests, on real processes: PostgreSQL stopped for 10 s, the
# S3-compatible server stopped, the control plane killed mid-rollout, an
# edge node killed mid-canary (and, in the fleet test, mid-rollout), a full
# edge pool. Each scenario starts its own PostgreSQL and s3s-fs; the fleet
# test uses the shared ones .ci/services.sh starts. Needs root for
# apt-get and `runuser -u postgres` (initdb refuses root).
#
#   scripts/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../.ci/services.sh
source .ci/services.sh
start_postgres
start_s3
export CI=true
unset RUST_BACKTRACE
cargo test -p reference-server --test chaos --test fleet -- --nocapture

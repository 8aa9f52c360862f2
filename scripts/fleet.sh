#!/usr/bin/env bash
# scripts/fleet.sh [NODES] [-- CONTROL-PLANE OPTIONS]
#
# Measure `hotswap control-plane` (release build, on PostgreSQL from
# .ci/services.sh) in front of NODES harness agents over real loopback
# HTTP, one run per comma-separated size (default 1000,5000): time until
# all are healthy, heartbeat ingest (rate, control-plane and PostgreSQL
# CPU), and a first deployment and a promoted canary over every node (from
# each decision to the last node, control-plane CPU per node). Options
# after `--` go to the control plane (`--fanout 64`, say). Tables on
# stdout; every run's figures appended to fleet-results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-1000,5000}
shift || true
[ "${1:-}" = "--" ] && shift

# shellcheck source=../.ci/services.sh
source .ci/services.sh
start_postgres

cargo build --release --locked -p reference-server -p fleet-harness
bin=${CARGO_TARGET_DIR:-target}/release
# The environment's RUST_BACKTRACE slows every process (see SERVICES.md).
env -u RUST_BACKTRACE "$bin/hotswap-fleet" --hotswap "$bin/hotswap" \
    --database-url "$HOTSWAP_TEST_POSTGRES_URL" --nodes "$nodes" \
    --out fleet-results.jsonl -- "$@"

#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /openapi.json of a running
# `hotswap serve` (control-plane API and the local node's agent API), with a
# token holding the admin and control_plane roles, and every check enabled:
# no 5xx, responses (status, content type, headers, body) as documented,
# every schema-valid request accepted (positive_data_acceptance), every
# schema-violating one refused (negative_data_rejection), and the rest.
# scripts/schemathesis.toml lists the few refusals no schema can state
# (bytes that are not WebAssembly, WIT text that does not parse).
#
#   scripts/apifuzz.sh [SEED, default 1] [max examples per operation, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${1:-1}"
examples="${2:-100}"
venv="${SCHEMATHESIS_VENV:-/var/cache/schemathesis-venv}"
[ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
unset RUST_BACKTRACE
[ -n "${APIFUZZ_NO_BUILD:-}" ] || cargo build -q -p reference-server
bin="${CARGO_TARGET_DIR:-target}/debug/hotswap"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec "$bin" serve --listen "127.0.0.1:$port" >serve.log 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$("$bin" token --subject apifuzz --role admin,control_plane --jwt-secret-file "$work/hotswap-data/dev-secret")
"$venv/bin/st" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks all --max-examples "$examples" --workers 2 --seed "$seed"

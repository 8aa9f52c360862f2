#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /openapi.json of a running
# `hotswap serve` (control-plane API and the local node's agent API), with a
# token holding the admin and control_plane roles. It checks that no
# response is a 5xx and every response (status, content type, headers,
# body) conforms to the schema.
#
#   scripts/apifuzz.sh [max examples per operation, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
venv="${SCHEMATHESIS_VENV:-/var/cache/schemathesis-venv}"
[ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
unset RUST_BACKTRACE
cargo build -q -p reference-server
bin="${CARGO_TARGET_DIR:-target}/debug/hotswap"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec "$bin" serve --listen "127.0.0.1:$port" >serve.log 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$("$bin" token --subject apifuzz --role admin,control_plane --jwt-secret-file "$work/hotswap-data/dev-secret")
"$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" --workers 2 --seed 1

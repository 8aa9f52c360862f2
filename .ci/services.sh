# Sourced by .ci/run: install (when missing) and start the servers the tests
# need, export their addresses, and stop on exit what this script started.
# Safe to run twice. Needs root (apt-get, su postgres).

STARTED=()
stop_services() {
    for cmd in "${STARTED[@]}"; do
        eval "$cmd" || true
    done
}
trap stop_services EXIT

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null || ! pg_lsclusters -h 2>/dev/null | grep -q .; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    local version
    version="$(pg_lsclusters -h | awk 'NR==1 {print $1}')"
    if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
        pg_ctlcluster "$version" main start
        STARTED+=("pg_ctlcluster $version main stop")
    fi
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='hotswap'\"" | grep -q 1 \
        || su postgres -c "psql -v ON_ERROR_STOP=1 -c \"CREATE ROLE hotswap LOGIN SUPERUSER PASSWORD 'hotswap'\""
    # A fresh database per CI run: each test makes its own schema in it.
    su postgres -c "dropdb --if-exists --force hotswap_test"
    su postgres -c "createdb -O hotswap hotswap_test"
    export HOTSWAP_TEST_POSTGRES_URL=postgres://hotswap:hotswap@127.0.0.1:5432/hotswap_test
}

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

# s3s-fs: a real S3-compatible server (it checks SigV4 signatures, as S3
# does); a bucket is a folder under its root.
start_s3() {
    if ! s3s-fs --version >/dev/null 2>&1; then
        cargo install s3s-fs@0.14.1 --features binary --locked
    fi
    local data=/var/tmp/hotswap-ci-s3 port=9101
    rm -rf "$data" && mkdir -p "$data/root/wasm-modules"
    s3s-fs --host 127.0.0.1 --port "$port" --access-key hotswap \
        --secret-key hotswap-ci-secret "$data/root" >"$data/s3s-fs.log" 2>&1 &
    STARTED+=("kill $!")
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.2
    done
    curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "s3s-fs did not start" >&2; return 1; }
    export HOTSWAP_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export HOTSWAP_TEST_S3_ACCESS_KEY=hotswap
    export HOTSWAP_TEST_S3_SECRET_KEY=hotswap-ci-secret
    export HOTSWAP_TEST_S3_BUCKET=wasm-modules
}

# promtool and the prometheus server binary, from Debian's package. The
# package's own service must not start (the tests run their own server on a
# port of their choosing): policy-rc.d refuses service starts during the
# install.
install_prometheus() {
    if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
        return 0
    fi
    local policy=/usr/sbin/policy-rc.d created=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; }
    [ -n "$created" ] && rm -f "$policy"
    # If a service manager started it anyway, stop it.
    if pgrep -x prometheus >/dev/null; then
        pkill -x prometheus || true
    fi
    command -v promtool >/dev/null
}

# The `openssl` command, which the outbound TLS tests make certificates with.
install_openssl() {
    command -v openssl >/dev/null && return 0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null 2>&1 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl; }
    command -v openssl >/dev/null
}

# redis-server from Debian's package, on a port of its own, without
# persistence. The package's service must not start (policy-rc.d, as for
# prometheus): the tests also start servers of their own with the binary.
start_redis() {
    if ! command -v redis-server >/dev/null; then
        local policy=/usr/sbin/policy-rc.d created=""
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }
        [ -n "$created" ] && rm -f "$policy"
    fi
    local port=6390 dir=/var/tmp/hotswap-ci-redis
    rm -rf "$dir" && mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$dir" >"$dir/redis.log" 2>&1 &
    STARTED+=("kill $!")
    for _ in $(seq 50); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
        sleep 0.2
    done
    redis-cli -p "$port" ping | grep -q PONG || { echo "redis-server did not start" >&2; return 1; }
    export HOTSWAP_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

# Headless Chromium and chromedriver from Debian's packages, for the
# console's browser test (examples/reference-server/tests/console.rs),
# which drives it over the W3C WebDriver protocol.
start_chromedriver() {
    if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }
    fi
    local port=9515 log=/var/tmp/hotswap-ci-chromedriver.log
    chromedriver --port="$port" --allowed-ips=127.0.0.1 >"$log" 2>&1 &
    STARTED+=("kill $!")
    for _ in $(seq 50); do
        curl -s "http://127.0.0.1:$port/status" | grep -q '"ready": *true' && break
        sleep 0.2
    done
    curl -s "http://127.0.0.1:$port/status" | grep -q '"ready": *true' \
        || { echo "chromedriver did not start" >&2; cat "$log" >&2; return 1; }
    export HOTSWAP_TEST_WEBDRIVER_URL="http://127.0.0.1:$port"
}

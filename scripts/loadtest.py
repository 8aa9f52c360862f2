#!/usr/bin/env python3
"""Load tests of one hotswap edge node on loopback, with wrk.

  scripts/loadtest.py throughput   # edge execute vs `wasmtime serve`, same run
  scripts/loadtest.py swap         # 20 hot swaps during 30 s of load
  scripts/loadtest.py http         # the same wasi:http component: edge ingress vs `wasmtime serve`
  scripts/loadtest.py http-swap    # 20 hot swaps of it during 30 s of wrk on the ingress

Both start a control plane (SQLite, a local folder for binaries) and one
edge node from a release build, register module versions through the CLI,
and command the edge node directly through its agent API, as a control
plane does. Every call runs a trivial function (`add`) in a fresh instance.
RUST_BACKTRACE is unset for every process (it slows unwinding-heavy code).

The http modes serve scripts/wasi-http-hello (a GET answers a fixed JSON
body, a POST echoes its body: the 4 KiB echo row) from the edge node's
HTTP ingress, on a route pushed to it directly, and from `wasmtime serve`,
both running side by side: `http` loads each in turn for --rounds rounds,
alternating which goes first, and reports medians and per-round ratios.

Needs: wrk (Debian package), python3, a release build (built unless
--no-build); the http modes need the wasm32-wasip2 target for the hello
component. The `wasmtime serve` baseline needs wasmtime-cli 48
(`cargo install wasmtime-cli@48.0.8 --locked`, found on PATH or under
/var/cache/wasmtime-cli/bin) and the wasm32-wasip2 target for the hello
component; without them the baseline is skipped with a message.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SECRET = "load test secret, long enough for HS256 signing"
ENV = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}

WAT = """(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add
    i32.const {bump} i32.add))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, env=ENV, **kw).stdout


def http(method, url, token=None, body=None, content_type="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["content-type"] = content_type
    if token:
        headers["authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None


def wait_up(url, proc, what):
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"{what} exited: see its log")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"{what} did not come up")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Platform:
    """A control plane and one edge node, both from the release build."""

    def __init__(self, workdir, build=True):
        if build:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "reference-server"],
                           check=True, cwd=ROOT, env=ENV)
        self.bin = os.path.join(TARGET, "release", "hotswap")
        self.dir = workdir
        self.procs = []
        cp_port, edge_port, ingress_port = free_port(), free_port(), free_port()
        self.cp = f"http://127.0.0.1:{cp_port}"
        self.edge = f"http://127.0.0.1:{edge_port}"
        self.ingress = f"http://127.0.0.1:{ingress_port}"
        storage = os.path.join(workdir, "modules")
        common = ["--jwt-secret", SECRET]
        cp = self.spawn("control-plane", [
            "control-plane", "--listen", f"127.0.0.1:{cp_port}",
            "--database-url", "sqlite://" + os.path.join(workdir, "cp.db"),
            "--storage-dir", storage, "--heartbeat-secs", "2"] + common)
        wait_up(self.cp + "/healthz", cp, "the control plane")
        self.edge_proc = self.spawn("edge", [
            "edge", "--control-plane", self.cp, "--name", "edge-1", "--region", "local",
            "--listen", f"127.0.0.1:{edge_port}", "--ingress", f"127.0.0.1:{ingress_port}",
            "--storage-dir", storage] + common)
        wait_up(self.edge + "/healthz", self.edge_proc, "the edge node")
        self.admin = self.token("load-admin", "admin")
        self.agent = self.token("load-driver", "control_plane")
        self.revision = 0

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        env = dict(ENV, RUST_LOG="warn")
        p = subprocess.Popen([self.bin] + args, stdout=log, stderr=log, env=env, cwd=self.dir)
        self.procs.append(p)
        return p

    def token(self, subject, role):
        return run([self.bin, "token", "--subject", subject, "--role", role,
                    "--jwt-secret", SECRET, "--ttl-secs", "7200"]).strip()

    def push(self, version, bump):
        path = os.path.join(self.dir, f"calc-{version}.wat")
        with open(path, "w") as f:
            f.write(WAT.format(bump=bump))
        out = run([self.bin, "module", "push", path, "--name", "calc", "--version", version,
                   "--json", "--url", self.cp, "--token", self.admin])
        return json.loads(out)

    def push_file(self, path, name, version):
        out = run([self.bin, "module", "push", path, "--name", name, "--version", version,
                   "--json", "--url", self.cp, "--token", self.admin])
        return json.loads(out)

    def swap(self, module):
        """Load `module` on the edge and route all its traffic to it."""
        http("POST", self.edge + "/agent/v1/versions", self.agent, module)
        self.revision += 1
        table = {"module": module["name"], "stable": module["version"], "revision": self.revision}
        http("PUT", self.edge + "/agent/v1/routing", self.agent, table)

    def route_everything(self, module):
        """Send every host and path of the ingress to `module`."""
        route = {"id": str(uuid.uuid4()), "host": "*", "path_prefix": "/", "module": module,
                 "created_at": "2026-01-01T00:00:00Z"}
        http("PUT", self.edge + "/agent/v1/http-routes", self.agent,
             {"revision": 1, "routes": [route]})

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def wrk(url, seconds, connections, threads, token=None, body=None, raw=None):
    """Run wrk; (requests/s, p99 ms, non-2xx, requests). `body` is sent as
    JSON, `raw` (text) as application/octet-stream, both with POST."""
    script = None
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if body is not None or raw is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write('wrk.method = "POST"\n')
        if raw is not None:
            script.write("wrk.body = %s\n" % json.dumps(raw))
            script.write('wrk.headers["content-type"] = "application/octet-stream"\n')
        else:
            script.write("wrk.body = %s\n" % json.dumps(json.dumps(body)))
            script.write('wrk.headers["content-type"] = "application/json"\n')
        if token:
            script.write('wrk.headers["authorization"] = "Bearer %s"\n' % token)
        script.close()
        args += ["-s", script.name]
    out = run(args + [url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if script:
        os.unlink(script.name)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
        "requests": total,
        "raw": out,
    }


def measured(pid, fn):
    """Run fn(); its result with the server's CPU µs per request."""
    before = cpu_ticks(pid)
    result = fn()
    ticks = cpu_ticks(pid) - before
    result["cpu_us_per_request"] = ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(result["requests"], 1)
    return result


def wasmtime_binary():
    for candidate in [os.environ.get("WASMTIME"), shutil.which("wasmtime"),
                      "/var/cache/wasmtime-cli/bin/wasmtime"]:
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def hello_component():
    target = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "wasm")
    subprocess.run(["cargo", "build", "--release", "-q", "--target", "wasm32-wasip2",
                    "--manifest-path", os.path.join(ROOT, "scripts/wasi-http-hello/Cargo.toml")],
                   check=True, env=dict(ENV, CARGO_TARGET_DIR=target))
    return os.path.join(target, "wasm32-wasip2/release/wasi_http_hello.wasm")


def row(name, r):
    return (f"| {name} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {r['cpu_us_per_request']:.1f} "
            f"| {r['non2xx']} | {r['socket_errors']} |")


def throughput(args):
    work = tempfile.mkdtemp(prefix="hotswap-load-")
    platform = Platform(work, build=not args.no_build)
    results = {}
    try:
        platform.swap(platform.push("1.0.0", 0))
        body = {"module": "calc", "function": "add", "args": [2, 3]}
        check = http("POST", platform.edge + "/agent/v1/execute", platform.agent, body)
        assert check["result"] == 5, check
        wrk(platform.edge + "/agent/v1/execute", 3, args.connections, args.threads, platform.agent, body)
        results["hotswap"] = measured(platform.edge_proc.pid, lambda: wrk(
            platform.edge + "/agent/v1/execute", args.duration, args.connections, args.threads,
            platform.agent, body))
    finally:
        platform.stop()
    wasmtime = wasmtime_binary()
    if wasmtime is None:
        print("skipped: wasmtime serve baseline (install wasmtime-cli 48: "
              "cargo install wasmtime-cli@48.0.8 --locked)")
    else:
        try:
            component = hello_component()
        except subprocess.CalledProcessError:
            component = None
            print("skipped: wasmtime serve baseline (needs `rustup target add wasm32-wasip2`)")
        if component:
            serve, url = start_wasmtime_serve(wasmtime, component, work)
            try:
                wrk(url, 3, args.connections, args.threads)
                results["wasmtime serve"] = measured(serve.pid, lambda: wrk(
                    url, args.duration, args.connections, args.threads))
            finally:
                serve.kill()
                serve.wait()
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, 2 cores shared "
          f"with wrk, RUST_BACKTRACE unset\n")
    print("| server | requests/s | p99 ms | server CPU µs/request | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(row(name, r))
    if "wasmtime serve" in results:
        ratio = results["hotswap"]["rps"] / results["wasmtime serve"]["rps"]
        cpu = results["hotswap"]["cpu_us_per_request"] / results["wasmtime serve"]["cpu_us_per_request"]
        print(f"\nhotswap / wasmtime serve: {ratio:.2f}x the requests per second, "
              f"{cpu:.2f}x the server CPU per request")
    if args.json:
        print(json.dumps({k: {x: y for x, y in v.items() if x != "raw"} for k, v in results.items()}))
    bad = results["hotswap"]["non2xx"]
    shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


def swap(args):
    work = tempfile.mkdtemp(prefix="hotswap-swap-")
    platform = Platform(work, build=not args.no_build)
    try:
        versions = [platform.push(f"1.0.{i}", i) for i in range(args.swaps + 1)]
        platform.swap(versions[0])
        body = {"module": "calc", "function": "add", "args": [2, 3]}
        url = platform.edge + "/agent/v1/execute"
        wrk(url, 3, args.connections, args.threads, platform.agent, body)
        steady = wrk(url, args.duration, args.connections, args.threads, platform.agent, body)
        durations = []
        failures = []

        def swapper():
            gap = args.duration / (args.swaps + 1)
            for v in versions[1:]:
                time.sleep(gap)
                start = time.monotonic()
                try:
                    platform.swap(v)
                except Exception as e:
                    failures.append(f"{v['version']}: {e}")
                durations.append(time.monotonic() - start)

        t = threading.Thread(target=swapper)
        t.start()
        during = wrk(url, args.duration, args.connections, args.threads, platform.agent, body)
        t.join()
        final = http("POST", url, platform.agent, body)
    finally:
        platform.stop()
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s; {args.swaps} swaps "
          f"during the second run\n")
    print("| run | requests/s | p99 ms | non-2xx | socket errors |")
    print("|---|---|---|---|---|")
    for name, r in [("steady", steady), ("during swaps", during)]:
        print(f"| {name} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {r['non2xx']} | {r['socket_errors']} |")
    ratio = during["p99_ms"] / steady["p99_ms"]
    print(f"\nswaps done: {len(durations) - len(failures)} of {args.swaps}, each "
          f"{min(durations)*1000:.1f}-{max(durations)*1000:.1f} ms (load + route)")
    print(f"p99 during swaps / steady: {ratio:.2f}x")
    print(f"final version serving: {final['version']} (result {final['result']})")
    shutil.rmtree(work, ignore_errors=True)
    ok = (not failures and during["non2xx"] == 0 and during["socket_errors"] == "none"
          and ratio <= 2.0 and final["version"] == f"1.0.{args.swaps}")
    if failures:
        print("failed swaps:", failures)
    return 0 if ok else 1


ECHO_BODY = "x" * 4096


HTTP_WORKLOADS = {"hello": None, "echo 4 KiB": ECHO_BODY}


def start_wasmtime_serve(wasmtime, component, work):
    port = free_port()
    log = open(os.path.join(work, "wasmtime.log"), "w")
    serve = subprocess.Popen([wasmtime, "serve", "--addr", f"127.0.0.1:{port}", component],
                             stdout=log, stderr=log, env=ENV)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_up(url, serve, "wasmtime serve")
    except BaseException:
        serve.kill()
        serve.wait()
        raise
    return serve, url


def median_row(runs):
    """The median of each figure over rounds; counts of failures summed."""
    pick = lambda key: statistics.median(r[key] for r in runs)
    errors = sorted({r["socket_errors"] for r in runs} - {"none"})
    return {"rps": pick("rps"), "p99_ms": pick("p99_ms"),
            "cpu_us_per_request": pick("cpu_us_per_request"),
            "non2xx": sum(r["non2xx"] for r in runs),
            "socket_errors": "; ".join(errors) or "none"}


def http_bench(args):
    """Both servers run side by side (an idle one costs nothing); every round
    loads each in turn, alternating which goes first, and the ratios are
    taken per round, so a noisy neighbour moves both sides of a ratio."""
    component = hello_component()
    work = tempfile.mkdtemp(prefix="hotswap-http-")
    platform = Platform(work, build=not args.no_build)
    wasmtime = wasmtime_binary()
    serve = None
    runs = {}
    try:
        platform.swap(platform.push_file(component, "hello", "1.0.0"))
        platform.route_everything("hello")
        with urllib.request.urlopen(platform.ingress + "/", timeout=10) as r:
            assert r.read() == b'{"result":5}'
        servers = {"hotswap ingress": (platform.ingress + "/", platform.edge_proc.pid)}
        if wasmtime is None:
            print("skipped: wasmtime serve baseline (install wasmtime-cli 48: "
                  "cargo install wasmtime-cli@48.0.8 --locked)")
        else:
            serve, url = start_wasmtime_serve(wasmtime, component, work)
            servers["wasmtime serve"] = (url, serve.pid)
        for url, _ in servers.values():
            for raw in HTTP_WORKLOADS.values():
                wrk(url, 3, args.connections, args.threads, raw=raw)
        for i in range(args.rounds):
            order = list(servers) if i % 2 == 0 else list(reversed(servers))
            for workload, raw in HTTP_WORKLOADS.items():
                for server in order:
                    url, pid = servers[server]
                    runs.setdefault((server, workload), []).append(measured(pid, lambda: wrk(
                        url, args.duration, args.connections, args.threads, raw=raw)))
    finally:
        platform.stop()
        if serve:
            serve.kill()
            serve.wait()
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds "
          f"alternating the servers, medians; 2 cores shared with wrk, RUST_BACKTRACE unset, "
          f"the same component file\n")
    print("| server | workload | requests/s | p99 ms | server CPU µs/request | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|---|")
    for (server, workload), rounds in runs.items():
        print(row(f"{server} | {workload}", median_row(rounds)))
    if wasmtime is not None:
        for workload in HTTP_WORKLOADS:
            ours, theirs = runs[("hotswap ingress", workload)], runs[("wasmtime serve", workload)]
            rps = [a["rps"] / b["rps"] for a, b in zip(ours, theirs)]
            cpu = [a["cpu_us_per_request"] / b["cpu_us_per_request"] for a, b in zip(ours, theirs)]
            print(f"{workload}: hotswap / wasmtime serve = {statistics.median(rps):.2f}x the "
                  f"requests per second (rounds: {', '.join(f'{r:.2f}' for r in rps)}), "
                  f"{statistics.median(cpu):.2f}x the server CPU per request")
    shutil.rmtree(work, ignore_errors=True)
    bad = sum(r["non2xx"] for (server, _), rounds in runs.items() for r in rounds
              if server == "hotswap ingress")
    return 1 if bad else 0


def http_swap(args):
    component = hello_component()
    work = tempfile.mkdtemp(prefix="hotswap-http-swap-")
    platform = Platform(work, build=not args.no_build)
    try:
        versions = [platform.push_file(component, "hello", f"1.0.{i}") for i in range(args.swaps + 1)]
        platform.swap(versions[0])
        platform.route_everything("hello")
        url = platform.ingress + "/"
        wrk(url, 3, args.connections, args.threads)
        steady = wrk(url, args.duration, args.connections, args.threads)
        durations, failures = [], []

        def swapper():
            gap = args.duration / (args.swaps + 1)
            for v in versions[1:]:
                time.sleep(gap)
                start = time.monotonic()
                try:
                    platform.swap(v)
                except Exception as e:
                    failures.append(f"{v['version']}: {e}")
                durations.append(time.monotonic() - start)

        t = threading.Thread(target=swapper)
        t.start()
        during = wrk(url, args.duration, args.connections, args.threads)
        t.join()
        state = http("GET", platform.edge + "/agent/v1/state", platform.agent)
    finally:
        platform.stop()
    serving = [t["stable"] for t in state["routing"] if t["module"] == "hello"]
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s against the ingress; "
          f"{args.swaps} swaps during the second run\n")
    print("| run | requests/s | p99 ms | non-2xx | socket errors |")
    print("|---|---|---|---|---|")
    for name, r in [("steady", steady), ("during swaps", during)]:
        print(f"| {name} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {r['non2xx']} | {r['socket_errors']} |")
    ratio = during["p99_ms"] / steady["p99_ms"]
    print(f"\nswaps done: {len(durations) - len(failures)} of {args.swaps}, each "
          f"{min(durations)*1000:.1f}-{max(durations)*1000:.1f} ms (load + route)")
    print(f"p99 during swaps / steady: {ratio:.2f}x")
    print(f"serving after the swaps: {serving}")
    shutil.rmtree(work, ignore_errors=True)
    ok = (not failures and during["non2xx"] == 0 and during["socket_errors"] == "none"
          and ratio <= 2.0 and serving == [f"1.0.{args.swaps}"])
    if failures:
        print("failed swaps:", failures)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    for name, default in [("throughput", 15), ("swap", 30), ("http", 10), ("http-swap", 30)]:
        s = sub.add_parser(name)
        s.add_argument("--duration", type=int, default=default, help="seconds of load per run")
        s.add_argument("--connections", type=int, default=32)
        s.add_argument("--threads", type=int, default=2)
        s.add_argument("--no-build", action="store_true", help="use the existing release build")
        if name.endswith("swap"):
            s.add_argument("--swaps", type=int, default=20)
        elif name == "throughput":
            s.add_argument("--json", action="store_true")
        if name == "http":
            s.add_argument("--rounds", type=int, default=3, help="rounds alternating the servers")
    args = p.parse_args()
    modes = {"throughput": throughput, "swap": swap, "http": http_bench, "http-swap": http_swap}
    sys.exit(modes[args.mode](args))


if __name__ == "__main__":
    main()

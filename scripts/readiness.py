#!/usr/bin/env python3
"""How fast a first deployment is ready on `hotswap serve`.

  scripts/readiness.py [--rounds 20] [--no-build] [--debug]

Starts `hotswap serve` on embedded defaults (SQLite, a local folder, one
local edge node) in a temporary folder. Each round pushes a new module
(`ready-N`, a WAT `add`) through the CLI, then, timed from the moment the
`POST /deployments` request (with `start: true`) is sent:

  - created:   the create request answered;
  - succeeded: the deployment reads `succeeded` (the create answer, or the
               first `GET /deployments/{id}` that says so);
  - first call: the first `POST /execute` that answers 200 (tried in a
               loop from the moment the create answer arrives).

Prints each round and the median and 95th percentile of each figure, in
milliseconds. The goal (issue 17) is under 300 ms for both. Needs python3
and a build of the `hotswap` binary (release unless --debug; built unless
--no-build).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loadtest import ENV, ROOT, TARGET, free_port, http, run, wait_up  # noqa: E402

WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def execute_ok(base, token, module):
    body = {"module": module, "function": "add", "args": [2, 3]}
    try:
        return http("POST", base + "/api/v1/wasm/execute", token, body)["result"] == 5
    except urllib.error.HTTPError as e:
        if e.code in (404, 503):
            return False
        raise


def round_trip(base, token, binary, work, n):
    module = f"ready-{n}"
    wat = os.path.join(work, module + ".wat")
    with open(wat, "w") as f:
        f.write(WAT)
    run([binary, "module", "push", wat, "--name", module, "--version", "1.0.0",
         "--url", base, "--token", token])
    start = time.perf_counter()
    created = http("POST", base + "/api/v1/wasm/deployments", token,
                   {"module": module, "to_version": "1.0.0", "start": True})
    t_created = time.perf_counter() - start
    t_succeeded = t_called = None
    deployment = created
    if deployment["phase"] == "succeeded":
        t_succeeded = t_created
    while t_called is None or t_succeeded is None:
        if t_called is None and execute_ok(base, token, module):
            t_called = time.perf_counter() - start
        if t_succeeded is None:
            view = http("GET", f"{base}/api/v1/wasm/deployments/{deployment['id']}", token)
            phase = view["deployment"]["phase"]
            if phase == "succeeded":
                t_succeeded = time.perf_counter() - start
            elif phase in ("failed", "rolled_back", "aborted"):
                sys.exit(f"{module}: the deployment ended {phase}: {json.dumps(view['events'])}")
        if time.perf_counter() - start > 30:
            sys.exit(f"{module}: not ready after 30 s")
    return t_created * 1e3, t_succeeded * 1e3, t_called * 1e3


def summary(name, values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{name:<11} median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   max {values[-1]:7.1f} ms"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--debug", action="store_true", help="use the debug build")
    args = p.parse_args()
    profile = "debug" if args.debug else "release"
    if not args.no_build:
        cmd = ["cargo", "build", "-q", "-p", "reference-server"] + ([] if args.debug else ["--release"])
        subprocess.run(cmd, check=True, cwd=ROOT, env=ENV)
    binary = os.path.join(TARGET, profile, "hotswap")
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], cwd=work,
                                  stdout=log, stderr=log, env=dict(ENV, RUST_LOG="warn"))
        try:
            wait_up(base + "/readyz", server, "hotswap serve")
            token = run([binary, "token", "--subject", "readiness", "--role", "admin",
                         "--jwt-secret-file", os.path.join(work, "hotswap-data", "dev-secret")]).strip()
            rows = []
            for n in range(args.rounds):
                created, succeeded, called = round_trip(base, token, binary, work, n)
                rows.append((created, succeeded, called))
                print(f"round {n:>3}: created {created:6.1f} ms  succeeded {succeeded:6.1f} ms  "
                      f"first call {called:6.1f} ms")
            print(f"\n{args.rounds} first deployments on `hotswap serve` ({profile} build), "
                  "from the create request:")
            print(summary("created", [r[0] for r in rows]))
            print(summary("succeeded", [r[1] for r in rows]))
            print(summary("first call", [r[2] for r in rows]))
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()

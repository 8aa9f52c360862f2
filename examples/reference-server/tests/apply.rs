//! `hotswap apply` and `hotswap diff` against `hotswap serve`: desired
//! state in TOML (and the same in YAML) registers an interface and a
//! module, sets policies and routes and rolls the module out; applying it
//! again changes nothing; `--dry-run` and `diff` show the changes without
//! making them, `diff` failing while the fleet differs; a new version in
//! the files rolls out under the module's policy; a changed file under a
//! registered version, and a bad file, change nothing and say where.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use hotswap_testkit::fixtures;
use serde_json::Value;
use support::{Api, Traffic, run_cli, serve, try_cli, wait_phase};

const WIT: &str =
    "package test:calc@1.0.0;\n\ninterface math {\n  add: func(a: s32, b: s32) -> s32;\n}\n";

/// The desired state of `calc` at `version` from `file`, with `routes`
/// (TOML inline tables) and a staging policy when `staging`.
fn toml_state(version: &str, file: &str, routes: &str, staging: bool) -> String {
    let mut s = format!(
        r#"# The calculator.
interfaces = ["wit/calc.wit"]

[modules.calc]
version = "{version}"
file = "{file}"
environment = "production"
labels = {{ team = "math" }}
routes = [{routes}]

[modules.calc.policies.production]
strategy = {{ type = "canary", steps = [50, 100], evaluation_period_secs = 2 }}
health = {{ min_samples = 10, max_p99_ratio = 1000.0 }}
"#
    );
    if staging {
        s.push_str(
            "\n[modules.calc.policies.staging]\nstrategy = { type = \"blue_green\", auto_promote_after_secs = 10 }\n",
        );
    }
    s
}

const YAML_STATE: &str = r#"interfaces: [../toml/wit/calc.wit]
modules:
  calc:
    version: 1.0.0
    file: ../toml/calc-1.wat
    environment: production
    labels: {team: math}
    routes:
      - host: calc.test
      - {host: calc.test, path: /v1}
    policies:
      production:
        strategy: {type: canary, steps: [50, 100], evaluation_period_secs: 2}
        health: {min_samples: 10, max_p99_ratio: 1000.0}
      staging:
        strategy: {type: blue_green, auto_promote_after_secs: 10}
"#;

async fn count(api: &Api, path: &str) -> usize {
    let (status, v) = api.get(path).await;
    assert_eq!(status, 200, "{path}: {v}");
    v.get("items")
        .or_else(|| v.get("routes"))
        .unwrap_or(&v)
        .as_array()
        .unwrap()
        .len()
}

/// (module versions, interfaces, policies, routes, deployments).
async fn fleet(api: &Api) -> (usize, usize, usize, usize, usize) {
    (
        count(api, "/api/v1/wasm/modules").await,
        count(api, "/api/v1/wasm/interfaces").await,
        count(api, "/api/v1/wasm/policies").await,
        count(api, "/api/v1/wasm/routes").await,
        count(api, "/api/v1/wasm/deployments").await,
    )
}

async fn latest_deployment(api: &Api) -> Value {
    let (_, v) = api.get("/api/v1/wasm/deployments?module=calc").await;
    v["items"].as_array().unwrap().last().unwrap().clone()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_makes_the_fleet_match_the_files_and_diff_says_when_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &["--heartbeat-secs", "1", "--tick-ms", "200"]).await;
    let token = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), token);
    let env = [("HOTSWAP_URL", url.clone())];
    let state = d.join("toml");
    write(&state.join("wit/calc.wit"), WIT);
    write(&state.join("calc-1.wat"), &fixtures::numeric_wat(1));
    write(&state.join("calc-2.wat"), &fixtures::numeric_wat(2));
    let routes_v1 = r#"{ host = "calc.test" }, { host = "calc.test", path = "/v1" }"#;
    write(
        &state.join("fleet.toml"),
        &toml_state("1.0.0", "calc-1.wat", routes_v1, true),
    );

    // diff and --dry-run show every change and make none.
    let (ok, out, err) = try_cli(d, &["diff", "-f", "toml"], &env);
    assert!(!ok, "diff fails while the fleet differs:\n{out}");
    assert!(err.contains("differs from the files in 7 way(s)"), "{err}");
    for line in [
        "+ policy calc/production",
        "+ policy calc/staging",
        "+ interface test:calc@1.0.0 (toml/wit/calc.wit)",
        "+ module calc@1.0.0 (toml/calc-1.wat",
        "+ route calc.test/ -> calc",
        "+ route calc.test/v1 -> calc",
        "> roll out calc 1.0.0 (its first version) in production (under its policy)",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    let dry = run_cli(d, &["apply", "-f", "toml", "--dry-run"], &env);
    assert_eq!(dry, out, "--dry-run prints what diff prints");
    assert_eq!(fleet(&api).await, (0, 0, 0, 0, 0), "nothing was changed");

    // apply makes them, and the first version rolls out.
    let applied = run_cli(d, &["apply", "-f", "toml"], &env);
    assert!(
        applied.contains("registered interface test:calc@1.0.0")
            && applied.contains("registered calc@1.0.0")
            && applied.contains("rolls calc 1.0.0 out (canary)"),
        "{applied}"
    );
    let first = latest_deployment(&api).await;
    wait_phase(
        &api,
        first["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(fleet(&api).await, (1, 1, 2, 2, 1));
    let (_, routes) = api.get("/api/v1/wasm/routes").await;
    let revision = routes["revision"].clone();
    let traffic = Traffic::start(&api, 2);

    // Applying again changes nothing; diff agrees, as does the same state
    // written in YAML.
    let again = run_cli(d, &["apply", "-f", "toml"], &env);
    assert_eq!(again.trim(), "the fleet matches the files");
    assert_eq!(
        run_cli(d, &["diff", "-f", "toml"], &env).trim(),
        "the fleet matches the files"
    );
    write(&d.join("yaml/fleet.yaml"), YAML_STATE);
    assert_eq!(
        run_cli(d, &["diff", "-f", "yaml/fleet.yaml"], &env).trim(),
        "the fleet matches the files"
    );
    assert_eq!(fleet(&api).await, (1, 1, 2, 2, 1));
    assert_eq!(api.get("/api/v1/wasm/routes").await.1["revision"], revision);

    // A new version in the files, one route and the staging policy fewer:
    // the version rolls out under the production policy.
    write(
        &state.join("fleet.toml"),
        &toml_state("2.0.0", "calc-2.wat", r#"{ host = "calc.test" }"#, false),
    );
    let (ok, out, _) = try_cli(d, &["diff", "-f", "toml"], &env);
    assert!(!ok);
    for line in [
        "- policy calc/staging",
        "+ module calc@2.0.0",
        "- route calc.test/v1 -> calc",
        "> roll out calc 1.0.0 -> 2.0.0 in production (under its policy)",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    assert!(!out.contains("interface"), "{out}");
    run_cli(d, &["apply", "-f", "toml"], &env);
    let second = latest_deployment(&api).await;
    assert_eq!(second["to_version"], "2.0.0");
    assert_eq!(second["strategy"]["type"], "canary", "{second}");
    assert_eq!(second["strategy"]["steps"], serde_json::json!([50, 100]));
    assert_eq!(second["health"]["min_samples"], 10);
    // While it rolls out, the files and the fleet agree.
    let during = run_cli(d, &["diff", "-f", "toml"], &env);
    assert!(during.contains("= deployment"), "{during}");
    wait_phase(
        &api,
        second["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(60),
    )
    .await;
    let (good, bad) = traffic.stop().await;
    assert!(good > 0 && bad == 0, "{good} ok, {bad} failed");
    assert_eq!(fleet(&api).await, (2, 1, 1, 1, 2));
    assert_eq!(
        run_cli(d, &["diff", "-f", "toml"], &env).trim(),
        "the fleet matches the files"
    );

    // Another binary under a registered version is refused, naming file
    // and key; nothing changes.
    write(
        &state.join("fleet.toml"),
        &toml_state(
            "2.0.0",
            "calc-1.wat",
            r#"{ host = "calc.test" }, { host = "x.test" }"#,
            false,
        ),
    );
    let (ok, out, err) = try_cli(d, &["apply", "-f", "toml"], &env);
    assert!(!ok);
    assert!(
        out.contains("! toml/fleet.toml: modules.calc.file: calc@2.0.0 is registered with sha256")
            && out.contains("give it a new version"),
        "{out}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(fleet(&api).await, (2, 1, 1, 1, 2));

    // Bad files: the error names the file, the line and the key, and
    // nothing changes.
    let bad = [
        (
            "bad/fleet.toml",
            "[modules.calc]\nversion = \"2.0\"\nfile = \"../toml/calc-2.wat\"\n",
            "bad/fleet.toml:2:11: modules.calc.version: unexpected end of input while parsing minor version number",
        ),
        (
            "bad/fleet.yaml",
            "modules:\n  calc:\n    version: 2.0.0\n    file: ../toml/calc-2.wat\n    replicas: 3\n",
            "bad/fleet.yaml:5:5: modules.calc.replicas: unknown field `replicas`",
        ),
        (
            "bad/routes.yaml",
            "modules:\n  calc:\n    version: 2.0.0\n    file: ../toml/calc-2.wat\n    routes:\n      - host: calc.test:8080\n",
            "bad/routes.yaml:6:7: modules.calc.routes[0]: invalid host",
        ),
        (
            "bad/missing.toml",
            "[modules.calc]\nversion = \"3.0.0\"\nfile = \"calc-3.wasm\"\n",
            "bad/missing.toml:3:8: modules.calc.file: cannot read bad/calc-3.wasm",
        ),
    ];
    for (path, text, want) in bad {
        let _ = std::fs::remove_dir_all(d.join("bad"));
        write(&d.join(path), text);
        let (ok, out, err) = try_cli(d, &["apply", "-f", "bad"], &env);
        assert!(!ok, "{path}: {out}");
        assert!(err.contains(want), "{path}: want {want:?} in:\n{err}");
    }
    // The same module in two files is refused at the second.
    let _ = std::fs::remove_dir_all(d.join("bad"));
    write(
        &d.join("bad/a.toml"),
        "[modules.calc]\nversion = \"2.0.0\"\nfile = \"../toml/calc-2.wat\"\n",
    );
    write(
        &d.join("bad/b.yaml"),
        "modules:\n  calc:\n    version: 2.0.0\n    file: ../toml/calc-2.wat\n",
    );
    let (ok, _, err) = try_cli(d, &["apply", "-f", "bad"], &env);
    assert!(!ok);
    assert!(
        err.contains("bad/b.yaml:2:3: modules.calc: module calc is also described in bad/a.toml"),
        "{err}"
    );
    assert_eq!(fleet(&api).await, (2, 1, 1, 1, 2));
}

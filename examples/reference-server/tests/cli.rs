//! The command line: every command has --help, and bad input gets a clear
//! error naming what was wrong.

#![allow(clippy::unwrap_used)]

mod support;

use support::try_cli;

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["control-plane"],
        &["edge"],
        &["module"],
        &["module", "push"],
        &["module", "list"],
        &["module", "show"],
        &["module", "delete"],
        &["deploy"],
        &["rollout"],
        &["call"],
        &["nodes"],
        &["route"],
        &["route", "add"],
        &["route", "list"],
        &["route", "delete"],
        &["interface"],
        &["interface", "push"],
        &["interface", "validate"],
        &["interface", "list"],
        &["interface", "show"],
        &["interface", "approve"],
        &["interface", "mode"],
        &["token"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let (ok, out, err) = try_cli(dir.path(), &args, &[]);
        assert!(ok, "{args:?}: {err}");
        assert!(out.contains("Usage: hotswap"), "{args:?}: {out}");
    }
    let (_, out, _) = try_cli(dir.path(), &["control-plane", "--help"], &[]);
    assert!(
        out.contains("HOTSWAP_DATABASE_URL"),
        "options name their environment variables"
    );
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, _, err) = try_cli(d, &["control-plane"], &[]);
    assert!(!ok && err.contains("--database-url"), "{err}");
    let (ok, _, err) = try_cli(
        d,
        &["deploy", "calc", "1.0.0", "--strategy", "sideways"],
        &[],
    );
    assert!(!ok && err.contains("sideways"), "{err}");
    std::fs::write(d.join("cp.toml"), "databse_url = \"postgres://x\"\n").unwrap();
    let (ok, _, err) = try_cli(d, &["control-plane", "--config", "cp.toml"], &[]);
    assert!(!ok && err.contains("unknown key \"databse_url\""), "{err}");
    let (ok, _, err) = try_cli(
        d,
        &[
            "module",
            "push",
            "missing.wasm",
            "--name",
            "x",
            "--version",
            "1.0.0",
        ],
        &[],
    );
    assert!(!ok && err.contains("cannot read missing.wasm"), "{err}");
    let (ok, _, err) = try_cli(
        d,
        &[
            "token",
            "--subject",
            "a",
            "--role",
            "root",
            "--jwt-secret",
            "x".repeat(40).as_str(),
        ],
        &[],
    );
    assert!(!ok && err.contains("\"root\" is not a role"), "{err}");
    // No server listening: the error says so.
    let (ok, _, err) = try_cli(
        d,
        &["nodes", "--url", "http://127.0.0.1:9"],
        &[("HOTSWAP_TOKEN", "t".into())],
    );
    assert!(!ok && err.contains("control plane unavailable"), "{err}");
}

//! `hotswap interface` against a real `hotswap serve` (SQLite registry),
//! as child processes: push a directory with `deps/`, a `.wit` file and a
//! `.wasm`-encoded package; list, show, approve; read and set a mode;
//! validate and push a breaking release (a table of findings, exit 1),
//! then an admin's override.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{run_cli, serve, try_cli};

const IO: &str = "package acme:io@0.2.0;\n\
    interface streams {\n  resource input-stream {\n    read: func(len: u64) -> list<u8>;\n  }\n}\n";
const TYPES: &str = "package acme:http@1.0.0;\n\
    interface types {\n  use acme:io/streams@0.2.0.{input-stream};\n  \
    record request { body: option<input-stream> }\n}\n";
const WORLD: &str = "package acme:http@1.0.0;\n\
    world proxy {\n  export handler: interface {\n    \
    use types.{request};\n    handle: func(r: request);\n  }\n}\n";
const CLOCKS: &str = "package acme:clocks@0.2.0;\ninterface wall {\n  now: func() -> u64;\n}\n";

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interface_commands_against_hotswap_serve() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &[]).await;
    // The CLI uses the admin token `serve` wrote.
    let env = [("HOTSWAP_URL", url.clone())];

    // A directory with its dependency under deps/.
    write(d, "wit/types.wit", TYPES);
    write(d, "wit/world.wit", WORLD);
    write(d, "wit/deps/io/streams.wit", IO);
    let out = run_cli(d, &["interface", "push", "wit"], &env);
    assert!(out.contains("registered acme:http@1.0.0"), "{out}");

    // A single file, and a package encoded as wasm.
    write(d, "io.wit", &IO.replace("0.2.0", "0.3.0"));
    let out = run_cli(d, &["interface", "push", "io.wit"], &env);
    assert!(out.contains("registered acme:io@0.3.0"), "{out}");
    let clocks = hotswap_control::interface::parse_wit(CLOCKS).unwrap();
    let wasm = wit_component::encode(&clocks.resolve, clocks.package).unwrap();
    std::fs::write(d.join("clocks.wasm"), wasm).unwrap();
    let out = run_cli(d, &["interface", "push", "clocks.wasm"], &env);
    assert!(out.contains("registered acme:clocks@0.2.0"), "{out}");

    let out = run_cli(d, &["interface", "list"], &env);
    assert!(out.starts_with("PACKAGE"), "{out}");
    for want in ["acme:http", "acme:io", "0.3.0", "acme:clocks"] {
        assert!(out.contains(want), "{want} in {out}");
    }
    let out = run_cli(d, &["interface", "show", "acme:http@1.0.0"], &env);
    assert!(
        out.contains("package acme:io@0.2.0"),
        "the dep is nested: {out}"
    );
    assert!(out.contains("handle: func(r: request)"), "{out}");

    let out = run_cli(d, &["interface", "approve", "acme:http"], &env);
    assert!(out.contains("acme:http@1.0.0 approved by"), "{out}");

    let out = run_cli(d, &["interface", "mode", "acme:http"], &env);
    assert_eq!(out.trim(), "acme:http: backward (protects components)");

    // 1.1.0 makes hosts call a function components of 1.0.0 lack:
    // refused, with a table.
    write(d, "wit2/types.wit", &TYPES.replace("1.0.0", "1.1.0"));
    write(
        d,
        "wit2/world.wit",
        &WORLD
            .replace("1.0.0", "1.1.0")
            .replace("handle: func(r: request);", "use-it: func() -> request;"),
    );
    write(d, "wit2/deps/io.wit", IO);
    for cmd in ["validate", "push"] {
        let (ok, out, err) = try_cli(d, &["interface", cmd, "wit2"], &env);
        assert!(!ok, "{cmd} of a breaking release must fail: {out}");
        assert!(out.starts_with("RULE"), "{cmd}: {out}");
        assert!(out.contains("added_export"), "{cmd}: {out}");
        assert!(out.contains("components"), "{cmd}: {out}");
        assert!(err.contains("acme:http@1.1.0"), "{cmd}: {err}");
        assert!(
            err.contains("backward (protects components)"),
            "{cmd}: {err}"
        );
    }
    let out = run_cli(
        d,
        &[
            "interface",
            "push",
            "wit2",
            "--override-reason",
            "the only user moved on",
        ],
        &env,
    );
    assert!(out.contains("override"), "{out}");

    let out = run_cli(d, &["interface", "mode", "acme:http", "full"], &env);
    assert_eq!(
        out.trim(),
        "acme:http: full (protects components and hosts)"
    );
    let (ok, _, err) = try_cli(d, &["interface", "mode", "acme:http", "sideways"], &env);
    assert!(!ok && err.contains("\"sideways\" is not a mode"), "{err}");

    // A compatible candidate validates and exits 0.
    write(d, "wit3/types.wit", &TYPES.replace("1.0.0", "1.2.0"));
    write(
        d,
        "wit3/world.wit",
        &WORLD
            .replace("1.0.0", "1.2.0")
            .replace("handle: func(r: request);", "use-it: func() -> request;"),
    );
    write(d, "wit3/deps/io.wit", IO);
    let out = run_cli(d, &["interface", "validate", "wit3"], &env);
    assert!(
        out.contains("acme:http@1.2.0 is compatible under full"),
        "{out}"
    );

    // A `use` of a package neither given nor registered.
    write(d, "lone/types.wit", &TYPES.replace("@0.2.0", "@0.9.0"));
    let (ok, _, err) = try_cli(d, &["interface", "push", "lone"], &env);
    assert!(!ok && err.contains("acme:io@0.9.0"), "{err}");
    let (ok, _, err) = try_cli(d, &["interface", "show", "acme:nothing"], &env);
    assert!(
        !ok && err.contains("no registered interface acme:nothing"),
        "{err}"
    );
}

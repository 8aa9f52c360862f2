//! Module inspection against the testkit's WAT and WIT fixtures.
#![allow(clippy::unwrap_used)]

use hotswap_core::Error;
use hotswap_core::domain::{ItemKind, ModuleKind, WasiVersion};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_testkit::fixtures;

fn opts() -> InspectOptions {
    InspectOptions::default()
}

#[test]
fn core_module_exports_have_signatures() {
    let info = inspect(&fixtures::numeric(7), &opts()).unwrap();
    assert_eq!(info.kind, ModuleKind::Core);
    assert_eq!(info.wasi, None);
    let sigs: Vec<(&str, Option<&str>)> = info
        .exports
        .iter()
        .map(|e| (e.name.as_str(), e.signature.as_deref()))
        .collect();
    assert_eq!(
        sigs,
        [
            ("add", Some("(i32, i32) -> i32")),
            ("add_i64", Some("(i64, i64) -> i64")),
            ("mul_f64", Some("(f64, f64) -> f64")),
            ("version", Some("() -> i32")),
            ("slow", Some("(i32) -> i32")),
            ("bump", Some("() -> i32")),
        ]
    );
    assert!(info.imports.is_empty());
    assert!(info.exports_function("add"));
}

#[test]
fn wasi_command_imports_are_listed() {
    let info = inspect(&fixtures::wasi_echo(), &opts()).unwrap();
    assert_eq!(info.wasi, Some(WasiVersion::Preview1));
    assert!(info.exports_function("_start"));
    let memory = info.exports.iter().find(|e| e.name == "memory").unwrap();
    assert_eq!(memory.kind, ItemKind::Memory);
    assert_eq!(memory.signature.as_deref(), Some("memory 2.."));
    let read = &info.imports[0];
    assert_eq!(
        (
            read.module.as_str(),
            read.name.as_str(),
            read.signature.as_deref()
        ),
        (
            "wasi_snapshot_preview1",
            "fd_read",
            Some("(i32, i32, i32, i32) -> i32")
        )
    );
}

#[test]
fn component_is_detected_with_its_interface_export() {
    let bytes = fixtures::component("hello, ");
    let info = inspect(&bytes, &opts()).unwrap();
    assert_eq!(info.kind, ModuleKind::Component);
    assert_eq!(info.wasi, None);
    assert_eq!(info.exports.len(), 1);
    assert_eq!(info.exports[0].name, fixtures::COMPONENT_INTERFACE);
    assert_eq!(info.exports[0].kind, ItemKind::Instance);
    assert!(info.imports.is_empty());
    assert_ne!(
        inspect(&fixtures::component("bye, "), &opts())
            .unwrap()
            .digest,
        info.digest,
        "greetings make distinct versions"
    );
}

#[test]
fn every_fixture_validates() {
    for bytes in [
        fixtures::trapping(),
        fixtures::infinite_loop(),
        fixtures::memory_hog(),
    ] {
        assert_eq!(inspect(&bytes, &opts()).unwrap().kind, ModuleKind::Core);
    }
}

#[test]
fn refuses_empty_oversized_foreign_truncated_and_invalid_input() {
    let msg = |bytes: &[u8], o: &InspectOptions| inspect(bytes, o).unwrap_err().to_string();
    assert_eq!(
        msg(b"", &opts()),
        "invalid wasm: the module binary is empty"
    );
    let add = fixtures::numeric(1);
    let e = inspect(&add, &InspectOptions::with_max_bytes(10)).unwrap_err();
    assert!(matches!(e, Error::LimitExceeded { .. }), "{e}");
    assert!(e.to_string().contains(&format!(
        "the module has {} bytes, the limit is 10",
        add.len()
    )));
    let e = msg(b"PK\x03\x04 zip file", &opts());
    assert!(
        e.contains("not a WebAssembly binary") && e.contains("found 50 4b 03 04"),
        "{e}"
    );
    let e = msg(&add[..add.len() - 3], &opts());
    assert!(
        e.starts_with("invalid wasm: invalid module at byte offset"),
        "{e}"
    );
    // A function body that pops from an empty stack.
    let bad = fixtures::wat("(module (func (result i32)))");
    let e = msg(&bad, &opts());
    assert!(e.contains("type mismatch"), "{e}");
    let mut wrong_version = add.clone();
    wrong_version[4] = 9;
    assert!(msg(&wrong_version, &opts()).starts_with("invalid wasm"));
}

//! WIT parsing errors name the line and column; the interface of a binary
//! comes out as WIT that parses again.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::{extract_wit, parse_wit};
use hotswap_core::Error;
use hotswap_testkit::fixtures;

#[test]
fn packages_interfaces_and_worlds_parse() {
    let parsed = parse_wit(fixtures::COMPONENT_WIT).unwrap();
    let (name, version) = parsed.name().unwrap();
    assert_eq!(name.as_str(), "hotswap:fixture");
    assert_eq!(version.map(|v| v.to_string()).as_deref(), Some("0.1.0"));
    assert_eq!(parsed.interfaces(), ["greeter"]);
    assert_eq!(parsed.worlds(), ["fixture"]);
}

#[test]
fn syntax_errors_name_line_and_column() {
    let text = "package a:b;\n\ninterface i {\n  f: func(x: u32) -> ;\n}\n";
    match parse_wit(text).unwrap_err() {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "wit");
            assert!(reason.starts_with("line 4, column "), "{reason}");
        }
        e => panic!("expected Invalid, got {e}"),
    }
    let unknown = "package a:b;\n\ninterface i {\n  f: func(x: nope);\n}\n";
    let e = parse_wit(unknown).unwrap_err().to_string();
    assert!(e.contains("line 4, column"), "{e}");
}

#[test]
fn a_component_gives_its_own_wit() {
    let wit = extract_wit(&fixtures::component("hi ")).unwrap();
    assert!(wit.contains("greet: func(name: string) -> string"), "{wit}");
    let reparsed = parse_wit(&wit).unwrap();
    assert!(!reparsed.worlds().is_empty(), "{wit}");
}

#[test]
fn a_core_module_gives_a_synthesized_world() {
    let wit = extract_wit(&fixtures::numeric(1)).unwrap();
    assert!(
        wit.contains("export %add: func(p0: s32, p1: s32) -> s32;"),
        "{wit}"
    );
    assert!(
        wit.contains("export %add-i64: func(p0: s64, p1: s64) -> s64;"),
        "{wit}"
    );
    assert!(wit.contains("export %version: func() -> s32;"), "{wit}");
    parse_wit(&wit).unwrap();

    let wasi = extract_wit(&fixtures::wasi_echo()).unwrap();
    assert!(
        wasi.contains("import %wasi-snapshot-preview1: interface {"),
        "{wasi}"
    );
    parse_wit(&wasi).unwrap();
}

#[test]
fn a_case_named_twice_is_refused() {
    // Found by the wit_compat fuzz target: wit-parser accepts it, and the
    // checker then found the package incompatible with itself.
    let Err(e) = hotswap_control::interface::parse_wit(
        "package demo:s@0.1.0;\ninterface s { variant shape { circle(f32), circle(f64) } }\n",
    ) else {
        panic!("a case named twice was accepted");
    };
    assert!(
        e.to_string().contains("type shape names \"circle\" twice"),
        "{e}"
    );
}

#[test]
fn an_empty_doc_comment_parses() {
    // Found by the wit_compat fuzz target: wit-parser 0.254 panics on the
    // doc comment `/**/`.
    let parsed =
        parse_wit("package demo:s@0.1.0;\n/**/\ninterface s {\n  /**/ f: func() -> u32;\n}\n")
            .unwrap();
    assert_eq!(parsed.interfaces(), ["s"]);
}

#[test]
fn the_fuzzers_crashing_text_parses() {
    // The input the fuzzer saved: a resource among comments, one of them
    // `/**/`.
    let crash = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hotswap-testkit/fuzz-regressions/wit_compat/crash-8c2aad5852d8712faa01a039ffc6a6769a51c568"
    ))
    .unwrap();
    let cut = crash.iter().position(|b| *b == 0xff).unwrap();
    let text = std::str::from_utf8(&crash[..cut]).unwrap();
    assert!(text.contains("/**/"));
    assert_eq!(parse_wit(text).unwrap().interfaces(), ["store"]);
}

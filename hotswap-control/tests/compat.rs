//! A minimal WIT pair for every compatibility rule, checked in both
//! directions, and the modes over a version history. `backward` protects
//! the components that use a package, `forward` the hosts that provide it;
//! the backward verdicts agree with wit-component's `semver_check`.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{
    CheckOptions, Finding, Subject, backward, check, forward,
};
use hotswap_control::interface::{ParsedWit, parse_wit};
use hotswap_core::interface::CompatibilityMode;

/// A package `t:p@version` with interface `api { body }` and a world `w`
/// exporting it (components provide it) and importing `host { imports }`
/// (hosts provide it).
fn wit(version: &str, body: &str, imports: &str) -> String {
    format!(
        "package t:p@{version};\n\
         interface host {{\n  ping: func();\n{imports}\n}}\n\
         interface api {{\n{body}\n}}\n\
         world w {{\n  import host;\n  export api;\n}}\n"
    )
}

fn parsed(version: &str, body: &str) -> ParsedWit {
    parse_wit(&wit(version, body, "")).unwrap()
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.sort();
    r.dedup();
    r
}

/// The rules `backward` and `forward` report for `old` -> `new` bodies.
fn both(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let (a, b) = (parsed("1.0.0", old), parsed("1.0.1", new));
    let o = CheckOptions::default();
    let owned = |f: Vec<Finding>| rules(&f).into_iter().map(str::to_owned).collect();
    (owned(backward(&a, &b, &o)), owned(forward(&a, &b, &o)))
}

const BASE: &str = "  f: func(a: u32, b: string) -> u32;\n  g: func();";

#[test]
fn identical_interfaces_are_compatible_in_every_mode() {
    let a = parsed("1.0.0", BASE);
    for mode in CompatibilityMode::ALL {
        let history = [a.clone()];
        for subject in [Subject::Package, Subject::Module] {
            assert!(
                check(subject, mode, &history, &a, &CheckOptions::default()).is_empty(),
                "{mode:?}"
            );
        }
    }
}

#[test]
fn removed_and_added_exported_functions() {
    // `api` is what components export: hosts built for the old release
    // call g, which new components may lack; components built against the
    // old release lack an added g, which new hosts call.
    assert_eq!(
        both(BASE, "  f: func(a: u32, b: string) -> u32;"),
        (vec![], vec!["removed_export".into()])
    );
    assert_eq!(
        both("  f: func(a: u32, b: string) -> u32;", BASE),
        (vec!["added_export".into()], vec![])
    );
}

#[test]
fn functions_of_an_interface_no_world_uses_are_what_hosts_provide() {
    let lone = |version: &str, body: &str| {
        parse_wit(&format!(
            "package t:p@{version};\ninterface api {{\n{body}\n}}\n"
        ))
        .unwrap()
    };
    let (a, b) = (
        lone("1.0.0", BASE),
        lone("1.1.0", "  f: func(a: u32, b: string) -> u32;"),
    );
    let o = CheckOptions::default();
    assert_eq!(rules(&backward(&a, &b, &o)), ["removed_import"]);
    assert!(forward(&a, &b, &o).is_empty());
    assert!(backward(&b, &a, &o).is_empty());
    assert_eq!(rules(&forward(&b, &a, &o)), ["added_import"]);
}

#[test]
fn parameters_and_results() {
    let changed = |new: &str| both(BASE, &format!("{new}\n  g: func();"));
    let all = |r: &str| (vec![r.to_owned()], vec![r.to_owned()]);
    assert_eq!(
        changed("  f: func(a: u64, b: string) -> u32;"),
        all("param_type")
    );
    assert_eq!(changed("  f: func(a: u32) -> u32;"), all("param_count"));
    assert_eq!(
        changed("  f: func(b: string, a: u32) -> u32;"),
        all("param_order")
    );
    assert_eq!(
        changed("  f: func(a: u32, c: string) -> u32;"),
        all("param_name")
    );
    assert_eq!(
        changed("  f: func(a: u32, b: string) -> u64;"),
        all("result_type")
    );
    assert_eq!(changed("  f: func(a: u32, b: string);"), all("result_type"));
}

#[test]
fn records_variants_enums_and_flags() {
    let all = |r: &str| (vec![r.to_owned()], vec![r.to_owned()]);
    let rec = |fields: &str| format!("  record r {{ {fields} }}\n  h: func(x: r);");
    assert_eq!(
        both(&rec("a: u32"), &rec("a: u32, b: u32")),
        all("record_fields")
    );
    assert_eq!(
        both(&rec("a: u32, b: u32"), &rec("a: u32")),
        all("record_fields")
    );
    assert_eq!(both(&rec("a: u32"), &rec("a: u64")), all("record_fields"));
    let var = |cases: &str| format!("  variant v {{ {cases} }}\n  h: func(x: v);");
    assert_eq!(
        both(&var("a, b(u32)"), &var("a, b(u32), c")),
        all("variant_cases")
    );
    assert_eq!(
        both(&var("a, b(u32)"), &var("a, b(u64)")),
        all("variant_cases")
    );
    let en = |cases: &str| format!("  enum e {{ {cases} }}\n  h: func(x: e);");
    assert_eq!(both(&en("a, b"), &en("a, b, c")), all("enum_cases"));
    assert_eq!(both(&en("a, b"), &en("a")), all("enum_cases"));
    let fl = |names: &str| format!("  flags fl {{ {names} }}\n  h: func(x: fl);");
    assert_eq!(both(&fl("a, b"), &fl("a, b, c")), all("flags"));
    // r removed and v added in what components export: an added type is
    // one old components lack, a removed one is one old hosts expect.
    assert_eq!(
        both(&rec("a: u32"), &var("a")),
        (
            vec!["added_type".to_owned(), "param_type".to_owned()],
            vec!["param_type".to_owned(), "removed_type".to_owned()]
        )
    );
    let same_name = |def: &str| format!("  {def}\n  h: func(x: t);");
    assert_eq!(
        both(
            &same_name("record t { a: u32 }"),
            &same_name("variant t { a }")
        )
        .0,
        vec!["changed_type".to_owned()]
    );
}

#[test]
fn resource_methods() {
    let res =
        |methods: &str| format!("  resource conn {{\n{methods}\n  }}\n  open: func() -> conn;");
    let two = res("    send: func(b: u8);\n    close: func();");
    let one = res("    send: func(b: u8);");
    // The resource is in what components export.
    assert_eq!(
        both(&two, &one),
        (vec![], vec!["resource_method_removed".into()])
    );
    assert_eq!(
        both(&one, &two),
        (vec!["resource_method_added".into()], vec![])
    );
    let changed = res("    send: func(b: u16);");
    assert_eq!(
        both(&one, &changed),
        (
            vec!["resource_method_changed".into()],
            vec!["resource_method_changed".into()]
        )
    );
}

#[test]
fn a_module_versions_own_world_protects_its_hosts_under_backward() {
    let o = CheckOptions::default();
    let a = parse_wit(&wit("1.0.0", BASE, "")).unwrap();
    let more = parse_wit(&wit("1.0.1", BASE, "  log: func(m: string);")).unwrap();
    let fewer = parsed("1.0.1", "  f: func(a: u32, b: string) -> u32;");
    let module =
        |mode, new: &ParsedWit| check(Subject::Module, mode, std::slice::from_ref(&a), new, &o);
    // The new version needs more from its host: hosts that ran the old
    // one lack it. It drops an export: their callers break.
    assert_eq!(
        rules(&module(CompatibilityMode::Backward, &more)),
        ["added_import"]
    );
    assert_eq!(
        rules(&module(CompatibilityMode::Backward, &fewer)),
        ["removed_export"]
    );
    assert!(module(CompatibilityMode::Forward, &more).is_empty());
    assert!(module(CompatibilityMode::Forward, &fewer).is_empty());
    // As package releases the same pairs are judged for the components.
    let package = |new: &ParsedWit| {
        check(
            Subject::Package,
            CompatibilityMode::Backward,
            std::slice::from_ref(&a),
            new,
            &o,
        )
    };
    assert!(package(&more).is_empty());
    assert!(package(&fewer).is_empty());
}

#[test]
fn package_versions_follow_caret_ranges() {
    let o = CheckOptions::default();
    let v = |s: &str| parsed(s, BASE);
    assert!(backward(&v("1.2.0"), &v("1.3.0"), &o).is_empty());
    assert_eq!(
        rules(&backward(&v("1.2.0"), &v("2.0.0"), &o)),
        ["package_version"]
    );
    assert_eq!(
        rules(&forward(&v("1.2.0"), &v("2.0.0"), &o)),
        ["package_version"]
    );
    // In 0.x the minor counts as major.
    assert_eq!(
        rules(&backward(&v("0.1.0"), &v("0.2.0"), &o)),
        ["package_version"]
    );
    assert!(backward(&v("0.1.0"), &v("0.1.5"), &o).is_empty());
}

#[test]
fn unstable_items_count_only_when_enabled() {
    let gated = "  f: func(a: u32, b: string) -> u32;\n  g: func();\n  @unstable(feature = beta)\n  h: func();";
    let (a, b) = (parsed("1.0.0", gated), parsed("1.0.1", BASE));
    assert!(backward(&a, &b, &CheckOptions::default()).is_empty());
    let beta = CheckOptions {
        features: ["beta".to_owned()].into(),
    };
    assert_eq!(rules(&forward(&a, &b, &beta)), ["removed_export"]);
}

#[test]
fn transitive_modes_compare_with_every_earlier_version() {
    let o = CheckOptions::default();
    let v1 = parsed("1.0.0", BASE);
    let v2 = parsed("1.1.0", "  f: func(a: u32, b: string) -> u32;");
    let v3 = parsed("1.2.0", "  f: func(a: u32, b: string) -> u32;");
    let history = [v1, v2];
    let check = |mode| check(Subject::Package, mode, &history, &v3, &o);
    assert!(check(CompatibilityMode::Forward).is_empty());
    let f = check(CompatibilityMode::ForwardTransitive);
    assert_eq!(rules(&f), ["removed_export"]);
    assert!(f[0].path.ends_with("api#g"), "{}", f[0]);
    assert!(check(CompatibilityMode::None).is_empty());
    assert!(check(CompatibilityMode::BackwardTransitive).is_empty());
    let full = check(CompatibilityMode::FullTransitive);
    assert!(full.iter().any(|f| f.direction == "forward"), "{full:?}");
}

/// For every world pair here, "no backward findings" is exactly
/// wit-component's `semver_check` accepting the pair: both ask whether
/// components built for the old world fit where the new one is expected
/// (tests/proptest_semver.rs asks it of generated pairs).
#[test]
fn backward_agrees_with_wit_components_semver_check() {
    let rec = |fields: &str| format!("  record r {{ {fields} }}\n  h: func(x: r);");
    let pairs: Vec<(String, String, String, String)> = vec![
        (BASE.into(), "".into(), BASE.into(), "".into()),
        (
            BASE.into(),
            "".into(),
            "  f: func(a: u32, b: string) -> u32;".into(),
            "".into(),
        ),
        (
            "  f: func(a: u32, b: string) -> u32;".into(),
            "".into(),
            BASE.into(),
            "".into(),
        ),
        (
            BASE.into(),
            "".into(),
            "  f: func(a: u64, b: string) -> u32;\n  g: func();".into(),
            "".into(),
        ),
        (BASE.into(), "".into(), BASE.into(), "  log: func();".into()),
        (BASE.into(), "  log: func();".into(), BASE.into(), "".into()),
        (rec("a: u32"), "".into(), rec("a: u32, b: u32"), "".into()),
    ];
    for (old_body, old_imports, new_body, new_imports) in pairs {
        let old_text = wit("1.0.0", &old_body, &old_imports);
        let new_text = wit("1.0.1", &new_body, &new_imports);
        let ours = backward(
            &parse_wit(&old_text).unwrap(),
            &parse_wit(&new_text).unwrap(),
            &CheckOptions::default(),
        );
        let mut resolve = wit_parser::Resolve::default();
        let a = resolve.push_str("old.wit", &old_text).unwrap();
        let b = resolve.push_str("new.wit", &new_text).unwrap();
        let world = |pkg| resolve.select_world(&[pkg], Some("w")).unwrap();
        let (wa, wb) = (world(a), world(b));
        let theirs = wit_component::semver_check(resolve, wa, wb);
        assert_eq!(
            ours.is_empty(),
            theirs.is_ok(),
            "old:\n{old_text}\nnew:\n{new_text}\nours: {ours:?}\ntheirs: {theirs:?}"
        );
    }
}

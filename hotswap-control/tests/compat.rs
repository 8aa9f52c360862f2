//! A minimal WIT pair for every compatibility rule, checked in both
//! directions, and the modes over a version history. For backward checks
//! of worlds the verdicts agree with wit-component's `semver_check`.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{CheckOptions, Finding, backward, check, forward};
use hotswap_control::interface::{ParsedWit, parse_wit};
use hotswap_core::interface::CompatibilityMode;

/// A package `t:p@version` with interface `api { body }` and a world `w`
/// exporting it and importing `host { imports }`.
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
        assert!(
            check(mode, &history, &a, &CheckOptions::default()).is_empty(),
            "{mode:?}"
        );
    }
}

#[test]
fn removed_and_added_functions() {
    // Removing g breaks old callers; the reverse (g added) breaks only
    // callers of the new version run against the old one.
    assert_eq!(
        both(BASE, "  f: func(a: u32, b: string) -> u32;"),
        (vec!["removed_export".into()], vec![])
    );
    assert_eq!(
        both("  f: func(a: u32, b: string) -> u32;", BASE),
        (vec![], vec!["removed_export".into()])
    );
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
    assert_eq!(
        both(&rec("a: u32"), &var("a")).0,
        vec!["param_type".to_owned(), "removed_type".to_owned()]
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
    assert_eq!(
        both(&two, &one),
        (vec!["resource_method_removed".into()], vec![])
    );
    assert_eq!(
        both(&one, &two),
        (vec![], vec!["resource_method_removed".into()])
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
fn world_imports_and_exports() {
    let o = CheckOptions::default();
    let a = parse_wit(&wit("1.0.0", BASE, "")).unwrap();
    let more = parse_wit(&wit("1.0.1", BASE, "  log: func(m: string);")).unwrap();
    // The new version needs more from its host: old hosts break it.
    assert_eq!(rules(&backward(&a, &more, &o)), ["added_import"]);
    assert!(forward(&a, &more, &o).is_empty());
    // Dropping the imported interface altogether needs less: compatible.
    let standalone = parse_wit(&format!(
        "package t:p@1.0.1;\ninterface api {{\n{BASE}\n}}\nworld w {{\n  export api;\n}}\n"
    ))
    .unwrap();
    assert!(backward(&a, &standalone, &o).is_empty());
    assert_eq!(rules(&forward(&a, &standalone, &o)), ["added_import"]);
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
    assert_eq!(rules(&backward(&a, &b, &beta)), ["removed_export"]);
}

#[test]
fn transitive_modes_compare_with_every_earlier_version() {
    let o = CheckOptions::default();
    let v1 = parsed("1.0.0", BASE);
    let v2 = parsed("1.1.0", "  f: func(a: u32, b: string) -> u32;");
    let v3 = parsed("1.2.0", "  f: func(a: u32, b: string) -> u32;");
    let history = [v1, v2];
    assert!(check(CompatibilityMode::Backward, &history, &v3, &o).is_empty());
    let f = check(CompatibilityMode::BackwardTransitive, &history, &v3, &o);
    assert_eq!(rules(&f), ["removed_export"]);
    assert!(f[0].path.ends_with("api#g"), "{}", f[0]);
    assert!(check(CompatibilityMode::None, &history, &v3, &o).is_empty());
    let full = check(CompatibilityMode::FullTransitive, &history, &v3, &o);
    assert!(full.iter().any(|f| f.direction == "backward"), "{full:?}");
}

/// For every world pair here, "no backward findings" is exactly
/// wit-component's `semver_check` accepting the pair. Its question is
/// whether components built for its first world fit its second; ours is
/// whether the new module fits where the old one ran, so the new world goes
/// first.
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
        let theirs = wit_component::semver_check(resolve, wb, wa);
        assert_eq!(
            ours.is_empty(),
            theirs.is_ok(),
            "old:\n{old_text}\nnew:\n{new_text}\nours: {ours:?}\ntheirs: {theirs:?}"
        );
    }
}

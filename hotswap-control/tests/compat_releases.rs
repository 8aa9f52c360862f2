//! The checker on the shapes of real WIT releases: unstable functions in
//! imported interfaces, functions hosts add in a minor release, type
//! aliases, `async func`, and removed imported interfaces. Each is a
//! minimal pair checked in both directions (old -> new and new -> old),
//! and the backward verdicts agree with wit-component's `semver_check`.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{
    CheckOptions, Finding, Subject, backward, check, forward,
};
use hotswap_control::interface::{ParsedWit, parse_wit};
use hotswap_core::interface::{CompatibilityMode, Protects};

fn rules(findings: &[Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.sort();
    r.dedup();
    r
}

/// The backward and forward rules of `old` -> `new`, after checking that
/// the backward verdict is `semver_check`'s for world `w`.
fn judge(old: &str, new: &str, options: &CheckOptions) -> (Vec<String>, Vec<String>) {
    let (a, b) = (parse_wit(old).unwrap(), parse_wit(new).unwrap());
    let back = backward(&a, &b, options);
    let fwd = forward(&a, &b, options);
    if options.features.is_empty() {
        let mut resolve = wit_parser::Resolve::default();
        let pa = resolve.push_str("old.wit", old).unwrap();
        let pb = resolve.push_str("new.wit", new).unwrap();
        let wa = resolve.select_world(&[pa], Some("w")).unwrap();
        let wb = resolve.select_world(&[pb], Some("w")).unwrap();
        let theirs = wit_component::semver_check(resolve, wa, wb);
        assert_eq!(
            back.is_empty(),
            theirs.is_ok(),
            "old:\n{old}\nnew:\n{new}\nours: {back:?}\ntheirs: {theirs:?}"
        );
    }
    let owned = |f: &[Finding]| rules(f).into_iter().map(str::to_owned).collect();
    (owned(&back), owned(&fwd))
}

/// `judge` both ways: (old -> new, new -> old).
type Verdicts = ((Vec<String>, Vec<String>), (Vec<String>, Vec<String>));

fn both_ways(old: &str, new: &str) -> Verdicts {
    let o = CheckOptions::default();
    (judge(old, new, &o), judge(new, old, &o))
}

fn none() -> Vec<String> {
    Vec::new()
}

fn one(rule: &str) -> Vec<String> {
    vec![rule.to_owned()]
}

/// A package `t:p` whose world `w` imports the local interface `host {
/// host_body }` and the `log { dep_body }` of dependency `t:dep`, and
/// exports `api`. The dependency's patch version is `t:p`'s version
/// without dots (one `Resolve` holds a package version once).
fn release(version: &str, host_body: &str, dep_body: &str) -> String {
    let minor: u32 = version.replace('.', "").parse().unwrap();
    format!(
        "package t:p@{version};\n\
         interface host {{\n  ping: func();\n{host_body}\n}}\n\
         interface api {{\n  run: func() -> u32;\n}}\n\
         world w {{\n  import host;\n  import t:dep/log@0.1.{minor};\n  export api;\n}}\n\
         package t:dep@0.1.{minor} {{\n  interface log {{\n    write: func(m: string);\n{dep_body}\n  }}\n}}\n"
    )
}

#[test]
fn unstable_functions_in_imported_interfaces_count_only_when_enabled() {
    let unstable = "  @unstable(feature = tracing)\n  trace: func(m: string);";
    let old = release("1.0.0", "", "");
    for new in [
        release("1.1.0", unstable, ""),
        release("1.1.0", "", &format!("  {unstable}")),
    ] {
        assert_eq!(both_ways(&old, &new), ((none(), none()), (none(), none())));
        // With the feature enabled, the function is one more that hosts
        // must provide.
        let tracing = CheckOptions {
            features: ["tracing".to_owned()].into(),
        };
        assert_eq!(judge(&old, &new, &tracing), (none(), one("added_import")));
        assert_eq!(judge(&new, &old, &tracing), (one("removed_import"), none()));
    }
}

#[test]
fn a_function_hosts_add_in_a_minor_release_breaks_only_old_hosts() {
    let old = release("0.2.0", "", "");
    let added = "  pong: func() -> u64;";
    for new in [release("0.2.1", added, ""), release("0.2.1", "", added)] {
        let ((back, fwd), (back_rev, fwd_rev)) = both_ways(&old, &new);
        // Components built against 0.2.0 keep working with 0.2.1 hosts;
        // hosts built for 0.2.0 lack what 0.2.1 components may import.
        assert_eq!((back, fwd), (none(), one("added_import")));
        assert_eq!((back_rev, fwd_rev), (one("removed_import"), none()));
        let history = [parse_wit(&old).unwrap()];
        let new = parse_wit(&new).unwrap();
        let o = CheckOptions::default();
        let package = check(
            Subject::Package,
            CompatibilityMode::Backward,
            &history,
            &new,
            &o,
        );
        assert!(package.is_empty(), "{package:?}");
        let hosts = check(
            Subject::Package,
            CompatibilityMode::Forward,
            &history,
            &new,
            &o,
        );
        assert!(
            hosts.iter().all(|f| f.protects == Protects::Hosts),
            "{hosts:?}"
        );
        // A module version that imports one more function is judged as
        // before: the host that ran the old version lacks it.
        let module = check(
            Subject::Module,
            CompatibilityMode::Backward,
            &history,
            &new,
            &o,
        );
        assert_eq!(rules(&module), ["added_import"]);
    }
}

#[test]
fn type_aliases_are_transparent() {
    let fields = |aliases: &str, param: &str| {
        format!(
            "package t:p@0.2.{};\n\
             interface types {{\n  type field-key = string;\n{aliases}\n\
             \x20 resource fields {{\n    constructor();\n    get: func(name: {param}) -> list<list<u8>>;\n\
             \x20   has: func(name: {param}) -> bool;\n  }}\n  \
             lookup: func(f: borrow<fields>, name: {param}) -> bool;\n}}\n\
             world w {{\n  import types;\n}}\n",
            u8::from(!aliases.is_empty())
        )
    };
    let old = fields("", "field-key");
    let new = fields("  type field-name = field-key;", "field-name");
    let ((back, fwd), (back_rev, fwd_rev)) = both_ways(&old, &new);
    // No method or function changed: only the alias itself is new, which
    // hosts of the old release do not define.
    assert_eq!((back, fwd), (none(), one("added_type")));
    assert_eq!((back_rev, fwd_rev), (one("removed_type"), none()));
    // An alias to another type does change the methods.
    let retyped = fields("  type field-name = u32;", "field-name");
    let (back, fwd) = judge(&old, &retyped, &CheckOptions::default());
    assert!(
        back.contains(&"resource_method_changed".to_owned()),
        "{back:?}"
    );
    assert!(fwd.contains(&"param_type".to_owned()), "{fwd:?}");
}

#[test]
fn async_functions_are_compared_and_a_change_of_colour_is_reported() {
    let handler = |version: &str, iface: &str, world: &str| {
        format!(
            "package t:http@{version};\n\
             interface handler {{\n  record request {{ path: string }}\n{iface}\n}}\n\
             world w {{\n  export handler;\n{world}\n}}\n"
        )
    };
    let func = |sig: &str| format!("  handle: {sig};");
    let sync = handler("0.3.0", &func("func(r: request) -> u32"), "");
    let async_ = handler("0.3.1", &func("async func(r: request) -> u32"), "");
    let async_u64 = handler("0.3.2", &func("async func(r: request) -> u64"), "");
    // An async export whose result changes breaks both sides.
    let changed = (one("result_type"), one("result_type"));
    assert_eq!(both_ways(&async_, &async_u64), (changed.clone(), changed));
    // Turning async, or back, breaks both sides.
    let colour = (one("async"), one("async"));
    assert_eq!(both_ways(&sync, &async_), (colour.clone(), colour));
    // World-level async functions too.
    let world = |v: &str, sig: &str| handler(v, "", &format!("  export serve: {sig};"));
    let colour = (one("async"), one("async"));
    assert_eq!(
        both_ways(
            &world("0.3.0", "func() -> u32"),
            &world("0.3.1", "async func() -> u32")
        ),
        (colour.clone(), colour)
    );
    let findings = backward(
        &parse_wit(&async_).unwrap(),
        &parse_wit(&async_u64).unwrap(),
        &CheckOptions::default(),
    );
    assert_eq!(findings[0].old.as_deref(), Some("u32"));
    assert!(
        findings[0].path.ends_with("handler#handle.result"),
        "{findings:?}"
    );
}

#[test]
fn a_removed_imported_interface_breaks_the_components_that_use_it() {
    let old = release("1.0.0", "", "");
    // Both imported interfaces dropped from the world, and `host` from the
    // package.
    let new = "package t:p@1.1.0;\n\
               interface api {\n  run: func() -> u32;\n}\n\
               world w {\n  export api;\n}\n";
    let ((back, fwd), (back_rev, fwd_rev)) = both_ways(&old, new);
    assert_eq!((back, fwd), (one("removed_import"), none()));
    assert_eq!((back_rev, fwd_rev), (none(), one("added_import")));
    let findings = backward(
        &parse_wit(&old).unwrap(),
        &parse_wit(new).unwrap(),
        &CheckOptions::default(),
    );
    let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"t:p/host"), "{paths:?}");
    assert!(paths.contains(&"t:p/w/import t:dep/log"), "{paths:?}");
}

/// The modes name who they protect, and findings carry it.
#[test]
fn every_mode_names_who_it_protects() {
    use CompatibilityMode as M;
    assert_eq!(M::None.protects(), []);
    assert_eq!(M::Backward.protects(), [Protects::Components]);
    assert_eq!(M::ForwardTransitive.protects(), [Protects::Hosts]);
    assert_eq!(M::Full.protects(), [Protects::Components, Protects::Hosts]);
    let a: ParsedWit = parse_wit(&release("1.0.0", "", "")).unwrap();
    let b = parse_wit(&release("2.0.0", "", "")).unwrap();
    let f = check(
        Subject::Package,
        M::Full,
        &[a],
        &b,
        &CheckOptions::default(),
    );
    let mut who: Vec<Protects> = f.iter().map(|f| f.protects).collect();
    who.dedup();
    assert_eq!(who, [Protects::Components, Protects::Hosts], "{f:?}");
}

//! Properties of the compatibility checker over generated WIT: everything
//! is compatible with itself in every mode, backward(a, b) is forward(b, a)
//! (with additions and removals named the other way),
//! and transitive modes are never more permissive than their plain modes.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{
    CheckOptions, Finding, Subject, backward, check, forward,
};
use hotswap_control::interface::{ParsedWit, parse_wit};
use hotswap_core::interface::CompatibilityMode;
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "u32",
    "s64",
    "string",
    "list<u8>",
    "option<u32>",
    "r",
    "e",
    "fl",
];

#[derive(Clone, Debug)]
struct Api {
    functions: Vec<(usize, Vec<usize>, Option<usize>)>,
    fields: Vec<usize>,
    cases: usize,
    flags: usize,
    version_minor: u64,
}

fn api() -> impl Strategy<Value = Api> {
    (
        prop::collection::vec(
            (
                0..6usize,
                prop::collection::vec(0..TYPES.len(), 0..4),
                prop::option::of(0..TYPES.len()),
            ),
            1..6,
        ),
        prop::collection::vec(0..3usize, 1..4),
        1..4usize,
        1..4usize,
        0..3u64,
    )
        .prop_map(|(functions, fields, cases, flags, version_minor)| Api {
            functions,
            fields,
            cases,
            flags,
            version_minor,
        })
}

fn text(a: &Api) -> String {
    let mut body = String::new();
    let fields: Vec<String> = a
        .fields
        .iter()
        .enumerate()
        .map(|(i, t)| format!("f{i}: {}", ["u8", "string", "s32"][*t]))
        .collect();
    body.push_str(&format!("  record r {{ {} }}\n", fields.join(", ")));
    let cases: Vec<String> = (0..a.cases).map(|i| format!("c{i}")).collect();
    body.push_str(&format!("  enum e {{ {} }}\n", cases.join(", ")));
    let flags: Vec<String> = (0..a.flags).map(|i| format!("g{i}")).collect();
    body.push_str(&format!("  flags fl {{ {} }}\n", flags.join(", ")));
    let mut seen = std::collections::BTreeSet::new();
    for (name, params, result) in &a.functions {
        if !seen.insert(*name) {
            continue;
        }
        let params: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, t)| format!("p{i}: {}", TYPES[*t]))
            .collect();
        let result = result
            .map(|t| format!(" -> {}", TYPES[t]))
            .unwrap_or_default();
        body.push_str(&format!(
            "  fn{name}: func({}){result};\n",
            params.join(", ")
        ));
    }
    format!(
        "package t:p@1.{}.0;\ninterface api {{\n{body}}}\nworld w {{\n  export api;\n}}\n",
        a.version_minor
    )
}

fn parsed(a: &Api) -> ParsedWit {
    parse_wit(&text(a)).unwrap()
}

/// A rule as the reverse change names it: what `a -> b` adds, `b -> a`
/// removes.
fn mirrored(rule: &str) -> String {
    if let Some(rest) = rule.strip_prefix("added_") {
        format!("removed_{rest}")
    } else if let Some(rest) = rule.strip_prefix("removed_") {
        format!("added_{rest}")
    } else if let Some(rest) = rule.strip_suffix("_added") {
        format!("{rest}_removed")
    } else if let Some(rest) = rule.strip_suffix("_removed") {
        format!("{rest}_added")
    } else {
        rule.to_owned()
    }
}

fn keys(findings: &[Finding]) -> Vec<(String, String)> {
    let mut k: Vec<_> = findings
        .iter()
        .map(|f| (f.rule.clone(), f.path.clone()))
        .collect();
    k.sort();
    k
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn everything_is_compatible_with_itself(a in api()) {
        let p = parsed(&a);
        for mode in CompatibilityMode::ALL {
            let history = [p.clone(), p.clone()];
            for subject in [Subject::Package, Subject::Module] {
                prop_assert!(check(subject, mode, &history, &p, &CheckOptions::default()).is_empty(), "{mode:?}");
            }
        }
    }

    #[test]
    fn backward_is_forward_reversed(a in api(), b in api()) {
        let (pa, pb) = (parsed(&a), parsed(&b));
        let o = CheckOptions::default();
        let mut reversed: Vec<(String, String)> = keys(&forward(&pb, &pa, &o))
            .into_iter()
            .map(|(rule, path)| (mirrored(&rule), path))
            .collect();
        reversed.sort();
        prop_assert_eq!(keys(&backward(&pa, &pb, &o)), reversed);
    }

    #[test]
    fn transitive_modes_are_never_more_permissive(a in api(), b in api(), c in api()) {
        let history = [parsed(&a), parsed(&b)];
        let new = parsed(&c);
        let o = CheckOptions::default();
        for (plain, transitive) in [
            (CompatibilityMode::Backward, CompatibilityMode::BackwardTransitive),
            (CompatibilityMode::Forward, CompatibilityMode::ForwardTransitive),
            (CompatibilityMode::Full, CompatibilityMode::FullTransitive),
        ] {
            let p = keys(&check(Subject::Package, plain, &history, &new, &o));
            let t = keys(&check(Subject::Package, transitive, &history, &new, &o));
            prop_assert!(p.iter().all(|k| t.contains(k)), "{plain:?}: {p:?} not within {t:?}");
        }
    }
}

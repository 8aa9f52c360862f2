//! docs/COMPATIBILITY.md is true: every rule it lists has an example pair
//! whose findings are that rule, in the directions the page says it
//! breaks (backward protects components, forward protects hosts), and the
//! page lists every rule the checker reports.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{CheckOptions, Finding, backward, forward};
use hotswap_control::interface::parse_wit;
use hotswap_core::interface::Protects;

/// Every rule the checker reports (compat/items.rs, types.rs, version.rs).
const RULES: [&str; 25] = [
    "removed_import",
    "added_import",
    "removed_export",
    "added_export",
    "changed_import",
    "changed_export",
    "removed_world",
    "added_world",
    "removed_type",
    "added_type",
    "resource_method_removed",
    "resource_method_added",
    "resource_method_changed",
    "async",
    "param_count",
    "param_name",
    "param_order",
    "param_type",
    "result_type",
    "record_fields",
    "variant_cases",
    "enum_cases",
    "flags",
    "changed_type",
    "package_version",
];

struct Example {
    rule: String,
    breaks: String,
    old: String,
    new: String,
}

fn examples() -> Vec<Example> {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/COMPATIBILITY.md"
    ))
    .unwrap();
    let rules = page.split("\n## The rules\n").nth(1).unwrap();
    rules
        .split("\n### ")
        .skip(1)
        .map(|section| {
            let rule = section.lines().next().unwrap().trim().to_owned();
            let breaks = section
                .lines()
                .find_map(|l| l.strip_prefix("Breaks: "))
                .unwrap_or_else(|| panic!("{rule} names who it breaks"))
                .to_owned();
            let block = |tag: &str| {
                let start = section
                    .find(&format!("```wit {tag}\n"))
                    .unwrap_or_else(|| panic!("{rule} has a `{tag}` block"));
                let body = &section[start..];
                let body = &body[body.find('\n').unwrap() + 1..];
                body[..body.find("```").unwrap()].to_owned()
            };
            Example {
                old: block("old"),
                new: block("new"),
                rule,
                breaks,
            }
        })
        .collect()
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.dedup();
    r
}

#[test]
fn every_example_breaks_whom_the_page_says_under_its_rule() {
    let o = CheckOptions::default();
    for e in examples() {
        let (old, new) = (parse_wit(&e.old).unwrap(), parse_wit(&e.new).unwrap());
        let (back, fwd) = (backward(&old, &new, &o), forward(&old, &new, &o));
        let (components, hosts) = match e.breaks.as_str() {
            "components" => (true, false),
            "hosts" => (false, true),
            "components and hosts" => (true, true),
            other => panic!("{}: unknown side {other:?}", e.rule),
        };
        let want = |yes: bool| if yes { vec![e.rule.as_str()] } else { vec![] };
        assert_eq!(
            rules(&back),
            want(components),
            "{} backward: {back:?}",
            e.rule
        );
        assert_eq!(rules(&fwd), want(hosts), "{} forward: {fwd:?}", e.rule);
        assert!(back.iter().all(|f| f.protects == Protects::Components));
        assert!(fwd.iter().all(|f| f.protects == Protects::Hosts));
    }
}

#[test]
fn the_page_lists_every_rule_once() {
    let listed: Vec<String> = examples().into_iter().map(|e| e.rule).collect();
    assert_eq!(listed, RULES);
}

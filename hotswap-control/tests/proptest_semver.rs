//! The checker against wit-component's `semver_check` on generated world
//! pairs: for a package release, "no backward findings" (components built
//! against the old world keep working with hosts of the new one) is exactly
//! `semver_check(old, new)` accepting the pair, which asks whether a
//! component built for the old world fits where the new one is expected.
//!
//! The worlds import an interface (hosts provide it), export one
//! (components provide it), import and export functions of their own, and
//! share a record and an enum; functions may be `async` or `@unstable`.
//! Most new worlds are a few changes away from the old one (a function
//! added, removed, retyped, made async or unstable; the record or enum
//! reshaped), so both verdicts come up often.
#![allow(clippy::unwrap_used)]

use hotswap_control::interface::compat::{CheckOptions, backward};
use hotswap_control::interface::parse_wit;
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "u32",
    "string",
    "list<u8>",
    "option<u32>",
    "result<u32, string>",
    "r",
    "e",
];

/// A function: its name index, parameter types, result type, and whether
/// it is async or unstable.
#[derive(Clone, Debug)]
struct Func {
    name: usize,
    params: Vec<usize>,
    result: Option<usize>,
    is_async: bool,
    unstable: bool,
}

#[derive(Clone, Debug)]
struct World {
    imported: Vec<Func>,
    exported: Vec<Func>,
    world_imports: Vec<Func>,
    world_exports: Vec<Func>,
    fields: Vec<usize>,
    cases: usize,
}

fn func() -> impl Strategy<Value = Func> {
    (
        0..4usize,
        prop::collection::vec(0..TYPES.len(), 0..3),
        prop::option::of(0..TYPES.len()),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(name, params, result, is_async, unstable)| Func {
            name,
            params,
            result,
            is_async,
            unstable,
        })
}

fn world() -> impl Strategy<Value = World> {
    let funcs = |max| prop::collection::vec(func(), 0..max);
    (
        funcs(5),
        funcs(5),
        funcs(3),
        funcs(3),
        prop::collection::vec(0..2usize, 1..3),
        1..3usize,
    )
        .prop_map(
            |(imported, exported, world_imports, world_exports, fields, cases)| World {
                imported,
                exported,
                world_imports,
                world_exports,
                fields,
                cases,
            },
        )
}

/// One change from an old world to a new one, at one of the four places
/// (imported interface, exported interface, world imports, world exports).
#[derive(Clone, Debug)]
enum Mutation {
    Add(usize, Func),
    Remove(usize, usize),
    Retype(usize, usize, usize),
    ToggleAsync(usize, usize),
    ToggleUnstable(usize, usize),
    Fields(Vec<usize>),
    Cases(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = || (0..4usize, 0..5usize);
    prop_oneof![
        (0..4usize, func()).prop_map(|(p, f)| Mutation::Add(p, f)),
        at().prop_map(|(p, i)| Mutation::Remove(p, i)),
        (at(), 0..TYPES.len()).prop_map(|((p, i), t)| Mutation::Retype(p, i, t)),
        at().prop_map(|(p, i)| Mutation::ToggleAsync(p, i)),
        at().prop_map(|(p, i)| Mutation::ToggleUnstable(p, i)),
        prop::collection::vec(0..2usize, 1..3).prop_map(Mutation::Fields),
        (1..3usize).prop_map(Mutation::Cases),
    ]
}

fn place(w: &mut World, p: usize) -> &mut Vec<Func> {
    match p {
        0 => &mut w.imported,
        1 => &mut w.exported,
        2 => &mut w.world_imports,
        _ => &mut w.world_exports,
    }
}

fn apply(mut w: World, mutations: &[Mutation]) -> World {
    for m in mutations {
        match m {
            Mutation::Add(p, f) => place(&mut w, *p).insert(0, f.clone()),
            Mutation::Remove(p, i) => {
                let funcs = place(&mut w, *p);
                if *i < funcs.len() {
                    funcs.remove(*i);
                }
            }
            Mutation::Retype(p, i, t) => {
                if let Some(f) = place(&mut w, *p).get_mut(*i) {
                    match f.params.first_mut() {
                        Some(first) => *first = *t,
                        None => f.result = Some(*t),
                    }
                }
            }
            Mutation::ToggleAsync(p, i) => {
                if let Some(f) = place(&mut w, *p).get_mut(*i) {
                    f.is_async = !f.is_async;
                }
            }
            Mutation::ToggleUnstable(p, i) => {
                if let Some(f) = place(&mut w, *p).get_mut(*i) {
                    f.unstable = !f.unstable;
                }
            }
            Mutation::Fields(fields) => w.fields = fields.clone(),
            Mutation::Cases(cases) => w.cases = *cases,
        }
    }
    w
}

/// An old world and a new one: a few changes apart, or unrelated.
fn pair() -> impl Strategy<Value = (World, World)> {
    prop_oneof![
        4 => (world(), prop::collection::vec(mutation(), 0..3))
            .prop_map(|(w, m)| (w.clone(), apply(w, &m))),
        1 => (world(), world()),
    ]
}

/// Each function once per name (the first one generated), as WIT lines.
fn lines(prefix: &str, funcs: &[Func], indent: &str, keyword: &str) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::new();
    for f in funcs.iter().filter(|f| seen.insert(f.name)) {
        let params: Vec<String> = f
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| format!("p{i}: {}", TYPES[*t]))
            .collect();
        let result = f
            .result
            .map(|t| format!(" -> {}", TYPES[t]))
            .unwrap_or_default();
        let func = if f.is_async { "async func" } else { "func" };
        if f.unstable {
            out.push_str(&format!("{indent}@unstable(feature = beta)\n"));
        }
        out.push_str(&format!(
            "{indent}{keyword}{prefix}{}: {func}({}){result};\n",
            f.name,
            params.join(", ")
        ));
    }
    out
}

fn text(version: &str, w: &World) -> String {
    let fields: Vec<String> = w
        .fields
        .iter()
        .enumerate()
        .map(|(i, t)| format!("a{i}: {}", ["u8", "string"][*t]))
        .collect();
    let cases: Vec<String> = (0..w.cases).map(|i| format!("c{i}")).collect();
    format!(
        "package t:p@{version};\n\
         interface types {{\n  record r {{ {} }}\n  enum e {{ {} }}\n}}\n\
         interface imported {{\n  use types.{{r, e}};\n  keep: func(x: r, y: e);\n{}}}\n\
         interface exported {{\n  use types.{{r, e}};\n{}}}\n\
         world w {{\n  use types.{{r, e}};\n  import imported;\n  export exported;\n{}{}}}\n",
        fields.join(", "),
        cases.join(", "),
        lines("f", &w.imported, "  ", ""),
        lines("g", &w.exported, "  ", ""),
        lines("wi", &w.world_imports, "  ", "import "),
        lines("we", &w.world_exports, "  ", "export "),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn backward_is_semver_check_on_generated_worlds((old, new) in pair()) {
        let (old_text, new_text) = (text("1.0.0", &old), text("1.1.0", &new));
        let ours = backward(
            &parse_wit(&old_text).unwrap(),
            &parse_wit(&new_text).unwrap(),
            &CheckOptions::default(),
        );
        let mut resolve = wit_parser::Resolve::default();
        let a = resolve.push_str("old.wit", &old_text).unwrap();
        let b = resolve.push_str("new.wit", &new_text).unwrap();
        let wa = resolve.select_world(&[a], Some("w")).unwrap();
        let wb = resolve.select_world(&[b], Some("w")).unwrap();
        let theirs = wit_component::semver_check(resolve, wa, wb);
        prop_assert_eq!(
            ours.is_empty(),
            theirs.is_ok(),
            "old:\n{}\nnew:\n{}\nours: {:?}\ntheirs: {:?}",
            old_text, new_text, ours, theirs
        );
    }

    #[test]
    fn a_pair_with_no_change_but_the_minor_version_is_compatible(w in world()) {
        let ours = backward(
            &parse_wit(&text("1.0.0", &w)).unwrap(),
            &parse_wit(&text("1.1.0", &w)).unwrap(),
            &CheckOptions::default(),
        );
        prop_assert!(ours.is_empty(), "{:?}", ours);
    }
}

/// The generated pairs hold both verdicts often: the property above is not
/// won by one answer.
#[test]
fn generated_pairs_are_often_compatible_and_often_not() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut compatible, mut breaking) = (0, 0);
    for _ in 0..200 {
        let (old, new) = pair().new_tree(&mut runner).unwrap().current();
        let ours = backward(
            &parse_wit(&text("1.0.0", &old)).unwrap(),
            &parse_wit(&text("1.1.0", &new)).unwrap(),
            &CheckOptions::default(),
        );
        if ours.is_empty() {
            compatible += 1;
        } else {
            breaking += 1;
        }
    }
    assert!(
        compatible >= 40 && breaking >= 40,
        "{compatible} compatible, {breaking} breaking"
    );
}

//! Worlds, interfaces and functions: what was added or removed (and who
//! provides it), and changed parameter lists, results and `async`.

use std::collections::BTreeMap;

use super::surface::{Entry, Func, Sides, Surface};
use super::{Break, Change, Noun};

pub(crate) fn check(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = Vec::new();
    let package = &old.package;
    for (name, iface) in &old.interfaces {
        let path = format!("{package}/{name}");
        match new.interfaces.get(name) {
            None => out.push(Break::new(
                Change::Removed(iface.sides, Noun::Item),
                path,
                Some("interface".into()),
                None,
            )),
            Some(now) => {
                let sides = iface.sides.union(now.sides);
                functions(
                    &path,
                    sides,
                    Noun::Item,
                    &iface.functions,
                    &now.functions,
                    &mut out,
                );
            }
        }
    }
    for (name, iface) in &new.interfaces {
        if !old.interfaces.contains_key(name) {
            out.push(Break::new(
                Change::Added(iface.sides, Noun::Item),
                format!("{package}/{name}"),
                None,
                Some("interface".into()),
            ));
        }
    }
    for (name, world) in &old.worlds {
        let path = format!("{package}/{name}");
        // A world is a contract hosts support: components targeting a
        // removed one break, hosts lacking an added one do.
        let Some(now) = new.worlds.get(name) else {
            out.push(Break::new(
                Change::Removed(Sides::HOST, Noun::World),
                path,
                Some("world".into()),
                None,
            ));
            continue;
        };
        let imports = (&world.imports, &now.imports);
        entries(&format!("{path}/import"), Sides::HOST, imports, &mut out);
        let exports = (&world.exports, &now.exports);
        entries(
            &format!("{path}/export"),
            Sides::COMPONENT,
            exports,
            &mut out,
        );
    }
    for name in new.worlds.keys() {
        if !old.worlds.contains_key(name) {
            out.push(Break::new(
                Change::Added(Sides::HOST, Noun::World),
                format!("{package}/{name}"),
                None,
                Some("world".into()),
            ));
        }
    }
    out
}

/// Compare a world's imports (`sides` is hosts) or exports (components).
fn entries(
    path: &str,
    sides: Sides,
    (old, new): (&BTreeMap<String, Entry>, &BTreeMap<String, Entry>),
    out: &mut Vec<Break>,
) {
    for (item, was) in old {
        let at = format!("{path} {item}");
        match (was, new.get(item)) {
            (_, None) => out.push(Break::new(
                Change::Removed(sides, Noun::Item),
                at,
                Some(describe(was)),
                None,
            )),
            (Entry::Func(f), Some(Entry::Func(g))) => function(&at, f, g, out),
            (Entry::Iface { functions: a, .. }, Some(Entry::Iface { functions: b, .. })) => {
                // A local interface's functions are empty here: they are
                // compared as the package's interface.
                functions(&at, sides, Noun::Item, a, b, out);
            }
            (a, Some(b)) => {
                let rule = if sides.host {
                    "changed_import"
                } else {
                    "changed_export"
                };
                out.push(Break::changed(rule, at, describe(a), describe(b)));
            }
        }
    }
    for (item, is) in new {
        if !old.contains_key(item) {
            out.push(Break::new(
                Change::Added(sides, Noun::Item),
                format!("{path} {item}"),
                None,
                Some(describe(is)),
            ));
        }
    }
}

/// Compare the functions of one interface (or one resource's methods, as
/// `Noun::Method`), provided by `sides`.
pub(crate) fn functions(
    path: &str,
    sides: Sides,
    noun: Noun,
    old: &BTreeMap<String, Func>,
    new: &BTreeMap<String, Func>,
    out: &mut Vec<Break>,
) {
    for (name, f) in old {
        let path = format!("{path}#{name}");
        match new.get(name) {
            None => out.push(Break::new(
                Change::Removed(sides, noun),
                path,
                Some(f.render()),
                None,
            )),
            Some(g) => function(&path, f, g, out),
        }
    }
    for (name, g) in new {
        if !old.contains_key(name) {
            out.push(Break::new(
                Change::Added(sides, noun),
                format!("{path}#{name}"),
                None,
                Some(g.render()),
            ));
        }
    }
}

fn function(path: &str, f: &Func, g: &Func, out: &mut Vec<Break>) {
    if f.is_async != g.is_async {
        out.push(Break::changed("async", path, f.render(), g.render()));
    }
    if f.params.len() != g.params.len() {
        out.push(Break::changed("param_count", path, f.render(), g.render()));
    } else {
        let names = |h: &Func| h.params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let (mut a, mut b) = (names(f), names(g));
        if a != b {
            a.sort();
            b.sort();
            let rule = if a == b { "param_order" } else { "param_name" };
            out.push(Break::changed(rule, path, f.render(), g.render()));
        } else {
            for ((name, t), (_, u)) in f.params.iter().zip(&g.params) {
                if t != u {
                    out.push(Break::changed("param_type", format!("{path}.{name}"), t, u));
                }
            }
        }
    }
    if f.result != g.result {
        out.push(Break::new(
            Change::Changed("result_type"),
            format!("{path}.result"),
            f.result.clone(),
            g.result.clone(),
        ));
    }
}

fn describe(e: &Entry) -> String {
    match e {
        Entry::Func(f) => f.render(),
        Entry::Iface { local: true, .. } => "interface".to_owned(),
        Entry::Iface { functions, .. } => {
            let fs: Vec<String> = functions
                .iter()
                .map(|(n, f)| format!("{n}: {}", f.render()))
                .collect();
            format!("interface {{ {} }}", fs.join("; "))
        }
    }
}

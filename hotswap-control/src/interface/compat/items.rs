//! Exports, imports and functions: a removed export or function, an added
//! required import, a changed parameter list or result.

use std::collections::BTreeMap;

use super::Break;
use super::surface::{Entry, Func, Surface};

pub(crate) fn check(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = Vec::new();
    for (name, iface) in &old.interfaces {
        let path = format!("{}/{name}", old.package);
        let Some(now) = new.interfaces.get(name) else {
            // An interface only imported is the host's side: needing less
            // of it breaks no one (the worlds' imports are compared below).
            if !iface.imported_only {
                out.push(Break::new(
                    "removed_export",
                    path,
                    Some("interface".into()),
                    None,
                ));
            }
            continue;
        };
        if !iface.imported_only {
            functions(&path, &iface.functions, &now.functions, &mut out);
        }
    }
    for (name, world) in &old.worlds {
        let path = format!("{}/{name}", old.package);
        let Some(now) = new.worlds.get(name) else {
            out.push(Break::new(
                "removed_export",
                path,
                Some("world".into()),
                None,
            ));
            continue;
        };
        for (item, was) in &world.exports {
            let at = format!("{path}/export {item}");
            match (was, now.exports.get(item)) {
                (_, None) => out.push(Break::new("removed_export", at, Some(describe(was)), None)),
                (Entry::Iface { local: true, .. }, Some(_)) => {}
                (Entry::Func(f), Some(Entry::Func(g))) => function(&at, f, g, &mut out),
                (Entry::Iface { functions: a, .. }, Some(Entry::Iface { functions: b, .. })) => {
                    functions(&at, a, b, &mut out);
                }
                (a, Some(b)) => out.push(Break::new(
                    "changed_export",
                    at,
                    Some(describe(a)),
                    Some(describe(b)),
                )),
            }
        }
        // Imports the other way round: what the new version needs that the
        // old one did not is what an old host lacks.
        for (item, needs) in &now.imports {
            let at = format!("{path}/import {item}");
            match (world.imports.get(item), needs) {
                (None, _) => out.push(Break::new("added_import", at, None, Some(describe(needs)))),
                (Some(Entry::Func(f)), Entry::Func(g)) => {
                    let before = out.len();
                    function(&at, f, g, &mut out);
                    rename(&mut out[before..], "changed_import");
                }
                (
                    Some(Entry::Iface { functions: had, .. }),
                    Entry::Iface {
                        functions: wants, ..
                    },
                ) => {
                    for (name, g) in wants {
                        let at = format!("{at}#{name}");
                        match had.get(name) {
                            None => {
                                out.push(Break::new("added_import", at, None, Some(g.render())))
                            }
                            Some(f) => {
                                let before = out.len();
                                function(&at, f, g, &mut out);
                                rename(&mut out[before..], "changed_import");
                            }
                        }
                    }
                }
                (Some(a), b) => out.push(Break::new(
                    "changed_import",
                    at,
                    Some(describe(a)),
                    Some(describe(b)),
                )),
            }
        }
    }
    out
}

/// Compare the functions of one interface (or one resource's methods).
pub(crate) fn functions(
    path: &str,
    old: &BTreeMap<String, Func>,
    new: &BTreeMap<String, Func>,
    out: &mut Vec<Break>,
) {
    for (name, f) in old {
        let path = format!("{path}#{name}");
        match new.get(name) {
            None => out.push(Break::new("removed_export", path, Some(f.render()), None)),
            Some(g) => function(&path, f, g, out),
        }
    }
}

fn function(path: &str, f: &Func, g: &Func, out: &mut Vec<Break>) {
    if f.params.len() != g.params.len() {
        out.push(Break::new(
            "param_count",
            path,
            Some(f.render()),
            Some(g.render()),
        ));
    } else {
        let names = |h: &Func| h.params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let (mut a, mut b) = (names(f), names(g));
        if a != b {
            a.sort();
            b.sort();
            let rule = if a == b { "param_order" } else { "param_name" };
            out.push(Break::new(rule, path, Some(f.render()), Some(g.render())));
        } else {
            for ((name, t), (_, u)) in f.params.iter().zip(&g.params) {
                if t != u {
                    out.push(Break::new(
                        "param_type",
                        format!("{path}.{name}"),
                        Some(t.clone()),
                        Some(u.clone()),
                    ));
                }
            }
        }
    }
    if f.result != g.result {
        out.push(Break::new(
            "result_type",
            format!("{path}.result"),
            f.result.clone(),
            g.result.clone(),
        ));
    }
}

fn describe(e: &Entry) -> String {
    match e {
        Entry::Func(f) => f.render(),
        Entry::Iface { functions, .. } => {
            let fs: Vec<String> = functions
                .iter()
                .map(|(n, f)| format!("{n}: {}", f.render()))
                .collect();
            format!("interface {{ {} }}", fs.join("; "))
        }
    }
}

/// Report breaks of an imported function under `rule`.
pub(crate) fn rename(breaks: &mut [Break], rule: &'static str) {
    for b in breaks {
        b.rule = rule;
    }
}

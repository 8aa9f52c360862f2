//! Named types: record fields, variant and enum cases (adding a case breaks
//! callers in WIT today), flags, resource methods, aliases (by what they
//! name), added and removed types, and changed kinds.

use super::items;
use super::surface::{Shape, Surface};
use super::{Break, Change, Noun};

pub(crate) fn check(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = Vec::new();
    for (iface_name, iface) in &old.interfaces {
        let Some(now) = new.interfaces.get(iface_name) else {
            continue; // reported as a removed interface
        };
        let sides = iface.sides.union(now.sides);
        for (name, shape) in &now.types {
            if !iface.types.contains_key(name) {
                let path = format!("{}/{iface_name}/{name}", old.package);
                let added = Change::Added(sides, Noun::Type);
                out.push(Break::new(added, path, None, Some(kind(shape))));
            }
        }
        for (name, shape) in &iface.types {
            let path = format!("{}/{iface_name}/{name}", old.package);
            match (shape, now.types.get(name)) {
                (_, None) => {
                    let removed = Change::Removed(sides, Noun::Type);
                    out.push(Break::new(removed, path, Some(kind(shape)), None));
                }
                (Shape::Record(a), Some(Shape::Record(b))) => {
                    members("record_fields", &path, a, b, &mut out);
                }
                (Shape::Variant(a), Some(Shape::Variant(b))) => {
                    members("variant_cases", &path, a, b, &mut out);
                }
                (Shape::Enum(a), Some(Shape::Enum(b))) => {
                    let pairs = |v: &Vec<String>| v.iter().map(|c| (c.clone(), ())).collect();
                    members("enum_cases", &path, &pairs(a), &pairs(b), &mut out);
                }
                (Shape::Flags(a), Some(Shape::Flags(b))) if a != b => {
                    out.push(Break::changed("flags", path, a.join(", "), b.join(", ")));
                }
                (Shape::Resource(a), Some(Shape::Resource(b))) => {
                    let before = out.len();
                    items::functions(&path, sides, Noun::Method, a, b, &mut out);
                    for b in &mut out[before..] {
                        if let Change::Changed(_) = b.change {
                            b.change = Change::Changed("resource_method_changed");
                        }
                    }
                }
                (a, Some(b)) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
                    out.push(Break::changed("changed_type", path, kind(a), kind(b)));
                }
                (Shape::Other(a), Some(Shape::Other(b))) if a != b => {
                    out.push(Break::changed("changed_type", path, a, b));
                }
                _ => {}
            }
        }
    }
    out
}

/// Compare named members (fields or cases): any added or removed one
/// breaks, and so does a changed payload.
fn members<T: PartialEq + std::fmt::Debug>(
    rule: &'static str,
    path: &str,
    old: &Vec<(String, T)>,
    new: &Vec<(String, T)>,
    out: &mut Vec<Break>,
) {
    for (name, t) in old {
        match new.iter().find(|(n, _)| n == name) {
            None => out.push(Break::new(
                Change::Changed(rule),
                format!("{path}.{name}"),
                Some(name.clone()),
                None,
            )),
            Some((_, u)) if u != t => out.push(Break::changed(
                rule,
                format!("{path}.{name}"),
                format!("{t:?}"),
                format!("{u:?}"),
            )),
            Some(_) => {}
        }
    }
    for (name, _) in new {
        if !old.iter().any(|(n, _)| n == name) {
            out.push(Break::new(
                Change::Changed(rule),
                format!("{path}.{name}"),
                None,
                Some(name.clone()),
            ));
        }
    }
}

fn kind(shape: &Shape) -> String {
    match shape {
        Shape::Record(_) => "record".into(),
        Shape::Variant(_) => "variant".into(),
        Shape::Enum(_) => "enum".into(),
        Shape::Flags(_) => "flags".into(),
        Shape::Resource(_) => "resource".into(),
        Shape::Other(t) => t.clone(),
    }
}

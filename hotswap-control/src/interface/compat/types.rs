//! Named types: record fields, variant and enum cases (adding a case breaks
//! callers in WIT today), flags, resource methods, and changed kinds.

use super::Break;
use super::items;
use super::surface::{Shape, Surface};

pub(crate) fn check(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = Vec::new();
    for (iface_name, iface) in &old.interfaces {
        let Some(now) = new.interfaces.get(iface_name) else {
            continue; // reported as a removed interface
        };
        for (name, shape) in &iface.types {
            let path = format!("{}/{iface_name}/{name}", old.package);
            match (shape, now.types.get(name)) {
                (_, None) => out.push(Break::new("removed_type", path, Some(kind(shape)), None)),
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
                (Shape::Flags(a), Some(Shape::Flags(b))) if a != b => out.push(Break::new(
                    "flags",
                    path,
                    Some(a.join(", ")),
                    Some(b.join(", ")),
                )),
                (Shape::Resource(a), Some(Shape::Resource(b))) => {
                    let before = out.len();
                    items::functions(&path, a, b, &mut out);
                    for b in &mut out[before..] {
                        b.rule = match b.rule {
                            "removed_export" => "resource_method_removed",
                            _ => "resource_method_changed",
                        };
                    }
                }
                (a, Some(b)) if std::mem::discriminant(a) != std::mem::discriminant(b) => out.push(
                    Break::new("changed_type", path, Some(kind(a)), Some(kind(b))),
                ),
                (Shape::Other(a), Some(Shape::Other(b))) if a != b => out.push(Break::new(
                    "changed_type",
                    path,
                    Some(a.clone()),
                    Some(b.clone()),
                )),
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
                rule,
                format!("{path}.{name}"),
                Some(name.clone()),
                None,
            )),
            Some((_, u)) if u != t => out.push(Break::new(
                rule,
                format!("{path}.{name}"),
                Some(format!("{t:?}")),
                Some(format!("{u:?}")),
            )),
            Some(_) => {}
        }
    }
    for (name, _) in new {
        if !old.iter().any(|(n, _)| n == name) {
            out.push(Break::new(
                rule,
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

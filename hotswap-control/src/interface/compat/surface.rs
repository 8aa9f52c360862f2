//! What of a WIT package the compatibility rules compare: its interfaces'
//! functions (sync and async) and named types, and its worlds' imports and
//! exports, with types written out structurally (aliases see through to
//! what they name) and `@unstable` items left out unless their feature is
//! enabled, wherever they appear.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use wit_parser::{
    Function, Handle, Interface, Resolve, Stability, Type, TypeDefKind, WorldItem, WorldKey,
};

use crate::interface::ParsedWit;

/// A function: its parameters (name, type), result type, and whether it
/// is `async`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Func {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) result: Option<String>,
    pub(crate) is_async: bool,
}

impl Func {
    pub(crate) fn render(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        let func = if self.is_async { "async func" } else { "func" };
        match &self.result {
            Some(r) => format!("{func}({}) -> {r}", params.join(", ")),
            None => format!("{func}({})", params.join(", ")),
        }
    }
}

/// A named type's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Record(Vec<(String, String)>),
    Variant(Vec<(String, Option<String>)>),
    Enum(Vec<String>),
    Flags(Vec<String>),
    Resource(BTreeMap<String, Func>),
    Other(String),
}

/// Who provides an item: hosts (what worlds import, and interfaces no
/// world of the package uses), components (what worlds export), or both
/// (an interface one world imports and another exports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sides {
    pub(crate) host: bool,
    pub(crate) component: bool,
}

impl Sides {
    pub(crate) const HOST: Sides = Sides {
        host: true,
        component: false,
    };
    pub(crate) const COMPONENT: Sides = Sides {
        host: false,
        component: true,
    };

    pub(crate) fn union(self, other: Sides) -> Sides {
        Sides {
            host: self.host || other.host,
            component: self.component || other.component,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Iface {
    pub(crate) functions: BTreeMap<String, Func>,
    pub(crate) types: BTreeMap<String, Shape>,
    /// Who provides it, from the package's worlds.
    pub(crate) sides: Sides,
}

/// A world's import or export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Func(Func),
    /// An interface's functions; `local` when the package defines it (its
    /// own comparison covers its functions, so none are listed here).
    Iface {
        functions: BTreeMap<String, Func>,
        local: bool,
    },
}

#[derive(Clone, Debug, Default)]
pub(crate) struct World {
    /// Item name (interfaces without their version) to what it is.
    pub(crate) imports: BTreeMap<String, Entry>,
    pub(crate) exports: BTreeMap<String, Entry>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Surface {
    pub(crate) package: String,
    pub(crate) version: Option<Version>,
    pub(crate) interfaces: BTreeMap<String, Iface>,
    pub(crate) worlds: BTreeMap<String, World>,
}

impl Surface {
    pub(crate) fn of(wit: &ParsedWit, features: &BTreeSet<String>) -> Surface {
        let r = &wit.resolve;
        let pkg = &r.packages[wit.package];
        let visible = |s: &Stability| match s {
            Stability::Unstable { feature, .. } => features.contains(feature),
            _ => true,
        };
        let mut surface = Surface {
            package: format!("{}:{}", pkg.name.namespace, pkg.name.name),
            version: pkg.name.version.clone(),
            ..Surface::default()
        };
        for (name, id) in &pkg.interfaces {
            let iface = &r.interfaces[*id];
            if visible(&iface.stability) {
                surface
                    .interfaces
                    .insert(name.clone(), interface(r, iface, &visible));
            }
        }
        let keys = |pick: fn(&wit_parser::World) -> &wit_parser::IndexMap<WorldKey, WorldItem>| {
            pkg.worlds
                .values()
                .flat_map(|w| pick(&r.worlds[*w]).values())
                .filter_map(|item| match item {
                    WorldItem::Interface { id, .. } => Some(*id),
                    _ => None,
                })
                .collect::<BTreeSet<_>>()
        };
        let (imported, exported) = (keys(|w| &w.imports), keys(|w| &w.exports));
        for (name, id) in &pkg.interfaces {
            if let Some(iface) = surface.interfaces.get_mut(name) {
                let component = exported.contains(id);
                iface.sides = Sides {
                    // Interfaces no world uses are what hosts provide.
                    host: imported.contains(id) || !component,
                    component,
                };
            }
        }
        for (name, id) in &pkg.worlds {
            let world = &r.worlds[*id];
            let items = |map: &wit_parser::IndexMap<WorldKey, WorldItem>| {
                map.iter()
                    .filter(|(_, item)| match item {
                        WorldItem::Function(f) => visible(&f.stability),
                        WorldItem::Interface { id, stability, .. } => {
                            visible(stability) && visible(&r.interfaces[*id].stability)
                        }
                        WorldItem::Type { .. } => false,
                    })
                    .filter_map(|(key, item)| {
                        Some((key_name(r, key), entry(r, item, wit.package, &visible)?))
                    })
                    .collect()
            };
            surface.worlds.insert(
                name.clone(),
                World {
                    imports: items(&world.imports),
                    exports: items(&world.exports),
                },
            );
        }
        surface
    }
}

fn interface(r: &Resolve, iface: &Interface, visible: &dyn Fn(&Stability) -> bool) -> Iface {
    let mut out = Iface::default();
    for (name, f) in &iface.functions {
        use wit_parser::FunctionKind as K;
        if visible(&f.stability) && matches!(f.kind, K::Freestanding | K::AsyncFreestanding) {
            out.functions.insert(name.clone(), func(r, f));
        }
    }
    for (name, id) in &iface.types {
        let def = &r.types[*id];
        if !visible(&def.stability) {
            continue;
        }
        let shape = match &def.kind {
            TypeDefKind::Record(rec) => Shape::Record(
                rec.fields
                    .iter()
                    .map(|f| (f.name.clone(), ty(r, &f.ty)))
                    .collect(),
            ),
            TypeDefKind::Variant(v) => Shape::Variant(
                v.cases
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.as_ref().map(|t| ty(r, t))))
                    .collect(),
            ),
            TypeDefKind::Enum(e) => Shape::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
            TypeDefKind::Flags(f) => Shape::Flags(f.flags.iter().map(|f| f.name.clone()).collect()),
            TypeDefKind::Resource => Shape::Resource(
                iface
                    .functions
                    .values()
                    .filter(|f| visible(&f.stability) && resource_of(f) == Some(*id))
                    .map(|f| (f.item_name().to_owned(), func(r, f)))
                    .collect(),
            ),
            _ => Shape::Other(ty(r, &Type::Id(*id))),
        };
        out.types.insert(name.clone(), shape);
    }
    out
}

fn resource_of(f: &Function) -> Option<wit_parser::TypeId> {
    use wit_parser::FunctionKind as K;
    match f.kind {
        K::Method(id) | K::Static(id) | K::Constructor(id) => Some(id),
        K::AsyncMethod(id) | K::AsyncStatic(id) => Some(id),
        _ => None,
    }
}

fn func(r: &Resolve, f: &Function) -> Func {
    Func {
        params: f
            .params
            .iter()
            .map(|p| (p.name.clone(), ty(r, &p.ty)))
            .collect(),
        result: f.result.as_ref().map(|t| ty(r, t)),
        is_async: matches!(
            f.kind,
            wit_parser::FunctionKind::AsyncFreestanding
                | wit_parser::FunctionKind::AsyncMethod(_)
                | wit_parser::FunctionKind::AsyncStatic(_)
        ),
    }
}

/// A type as text: named types by name (their definitions are compared on
/// their own), aliases as what they name (`type a = b;` is `b`, as in the
/// component's types), anonymous ones written out.
pub(crate) fn ty(r: &Resolve, t: &Type) -> String {
    let Type::Id(id) = t else {
        return prim(t).to_owned();
    };
    let def = &r.types[*id];
    if let (Some(name), false) = (&def.name, matches!(def.kind, TypeDefKind::Type(_))) {
        return name.clone();
    }
    let opt = |t: &Option<Type>| t.as_ref().map_or_else(|| "_".to_owned(), |t| ty(r, t));
    match &def.kind {
        TypeDefKind::List(t) => format!("list<{}>", ty(r, t)),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", ty(r, t)),
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", ty(r, k), ty(r, v)),
        TypeDefKind::Option(t) => format!("option<{}>", ty(r, t)),
        TypeDefKind::Result(res) => format!("result<{}, {}>", opt(&res.ok), opt(&res.err)),
        TypeDefKind::Tuple(tu) => format!(
            "tuple<{}>",
            tu.types
                .iter()
                .map(|t| ty(r, t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TypeDefKind::Handle(Handle::Own(id)) => ty(r, &Type::Id(*id)),
        TypeDefKind::Handle(Handle::Borrow(id)) => format!("borrow<{}>", ty(r, &Type::Id(*id))),
        TypeDefKind::Future(t) => format!("future<{}>", opt(t)),
        TypeDefKind::Stream(t) => format!("stream<{}>", opt(t)),
        TypeDefKind::Type(t) => ty(r, t),
        _ => "unknown".to_owned(),
    }
}

fn key_name(r: &Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(n) => n.clone(),
        WorldKey::Interface(id) => {
            let iface = &r.interfaces[*id];
            match (iface.package, &iface.name) {
                (Some(p), Some(n)) => {
                    let p = &r.packages[p].name;
                    format!("{}:{}/{n}", p.namespace, p.name)
                }
                _ => "<anonymous interface>".to_owned(),
            }
        }
    }
}

fn entry(
    r: &Resolve,
    item: &WorldItem,
    package: wit_parser::PackageId,
    visible: &dyn Fn(&Stability) -> bool,
) -> Option<Entry> {
    match item {
        WorldItem::Function(f) => Some(Entry::Func(func(r, f))),
        WorldItem::Interface { id, .. } => {
            let iface = &r.interfaces[*id];
            let local = iface.package == Some(package) && iface.name.is_some();
            // A local interface is compared as one of the package's
            // interfaces; the world lists the functions of the others.
            let functions = if local {
                BTreeMap::new()
            } else {
                iface
                    .functions
                    .iter()
                    .filter(|(_, f)| visible(&f.stability))
                    .map(|(n, f)| (n.clone(), func(r, f)))
                    .collect()
            };
            Some(Entry::Iface { functions, local })
        }
        WorldItem::Type { .. } => None,
    }
}

fn prim(t: &Type) -> &'static str {
    match t {
        Type::Bool => "bool",
        Type::U8 => "u8",
        Type::U16 => "u16",
        Type::U32 => "u32",
        Type::U64 => "u64",
        Type::S8 => "s8",
        Type::S16 => "s16",
        Type::S32 => "s32",
        Type::S64 => "s64",
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::ErrorContext => "error-context",
        Type::Id(_) => "type",
    }
}

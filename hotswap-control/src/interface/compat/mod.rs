//! Compatibility of a new version of a WIT package (or of a module's
//! extracted interface) with earlier ones, per [`CompatibilityMode`].
//!
//! The rules first list what changed from `old` to `new` (an item added,
//! removed or reshaped, and who provides it: hosts provide what worlds
//! import, components what worlds export); then a direction picks the
//! changes that break the party it protects ([`Protects`]):
//!
//! - **components** (built against `old`, run by hosts of `new`) break when
//!   hosts stop providing something, or start expecting an export;
//! - **hosts** (built for `old`, running components of `new`) break when
//!   components need something more, or stop exporting something;
//! - a reshaped item breaks both.
//!
//! For a package release, `backward` protects the components that use the
//! package and `forward` the hosts that provide it. For a module version's
//! own world the new version is the component that takes the old one's
//! place, so `backward` protects its hosts and callers (an added import or
//! a removed export breaks) and `forward` the other side.
//!
//! Each rule family has its own file: `items.rs` (worlds, interfaces,
//! functions), `types.rs` (records, variants, enums, flags, resources,
//! aliases) and `version.rs`.

mod items;
mod surface;
mod types;
mod version;

use std::collections::BTreeSet;

use super::{CompatibilityMode, ParsedWit};
use surface::{Sides, Surface};

pub use hotswap_core::interface::{Finding, Protects};

/// What an added or removed item is, for the rule's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Noun {
    /// A function, an interface, or a world's import or export.
    Item,
    /// A resource's method, constructor or static function.
    Method,
    /// A named type.
    Type,
    /// A world.
    World,
}

/// What changed from the old version to the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Only in the new version, provided by `Sides`.
    Added(Sides, Noun),
    /// Only in the old version, provided by `Sides`.
    Removed(Sides, Noun),
    /// In both, with another shape: breaks every direction under this rule.
    Changed(&'static str),
}

/// One change, before a direction decides whether it breaks.
pub(crate) struct Break {
    pub(crate) change: Change,
    pub(crate) path: String,
    pub(crate) old: Option<String>,
    pub(crate) new: Option<String>,
}

impl Break {
    pub(crate) fn new(
        change: Change,
        path: impl Into<String>,
        old: Option<String>,
        new: Option<String>,
    ) -> Self {
        Self {
            change,
            path: path.into(),
            old,
            new,
        }
    }

    pub(crate) fn changed(
        rule: &'static str,
        path: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
    ) -> Self {
        Self::new(
            Change::Changed(rule),
            path,
            Some(old.into()),
            Some(new.into()),
        )
    }

    /// The rule this change breaks for `party`, if it breaks it.
    fn rule(&self, party: Protects) -> Option<&'static str> {
        let (added, sides, noun) = match self.change {
            Change::Changed(rule) => return Some(rule),
            Change::Added(sides, noun) => (true, sides, noun),
            Change::Removed(sides, noun) => (false, sides, noun),
        };
        // Components break when hosts stop providing (removed, host side)
        // or start expecting (added, component side); hosts the reverse.
        let host = match (party, added) {
            (Protects::Components, false) | (Protects::Hosts, true) => sides.host,
            _ => false,
        };
        let component = match (party, added) {
            (Protects::Components, true) | (Protects::Hosts, false) => sides.component,
            _ => false,
        };
        if !host && !component {
            return None;
        }
        Some(match (noun, added, host) {
            (Noun::Item, true, true) => "added_import",
            (Noun::Item, true, false) => "added_export",
            (Noun::Item, false, true) => "removed_import",
            (Noun::Item, false, false) => "removed_export",
            (Noun::Method, true, _) => "resource_method_added",
            (Noun::Method, false, _) => "resource_method_removed",
            (Noun::Type, true, _) => "added_type",
            (Noun::Type, false, _) => "removed_type",
            (Noun::World, true, _) => "added_world",
            (Noun::World, false, _) => "removed_world",
        })
    }
}

/// Options of a check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// `@unstable(feature = ...)` items of these features are compared;
    /// other unstable items are ignored.
    pub features: BTreeSet<String>,
}

/// Components built against package release `old` keep working with hosts
/// of `new`: the findings, empty when compatible.
pub fn backward(old: &ParsedWit, new: &ParsedWit, options: &CheckOptions) -> Vec<Finding> {
    findings(&diff(old, new, options), Protects::Components, "backward")
}

/// Hosts built for package release `old` keep working with components built
/// against `new`: the findings, empty when compatible.
pub fn forward(old: &ParsedWit, new: &ParsedWit, options: &CheckOptions) -> Vec<Finding> {
    findings(&diff(old, new, options), Protects::Hosts, "forward")
}

/// What a check compares: a package's releases, or a module's own world
/// (where the new version is the component).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Releases of a WIT package: `backward` protects the components that
    /// use it, `forward` the hosts that provide it.
    Package,
    /// Versions of one module's interface: `backward` protects the hosts
    /// and callers of the earlier versions, `forward` the new version's.
    Module,
}

impl Subject {
    /// Who a direction protects for this subject.
    pub fn protects(self, backward: bool) -> Protects {
        match (self, backward) {
            (Subject::Package, true) | (Subject::Module, false) => Protects::Components,
            (Subject::Package, false) | (Subject::Module, true) => Protects::Hosts,
        }
    }
}

/// Check `new` against the earlier versions `history` (oldest first) under
/// `mode`: plain modes compare with the latest, transitive ones with every
/// earlier version.
pub fn check(
    subject: Subject,
    mode: CompatibilityMode,
    history: &[ParsedWit],
    new: &ParsedWit,
    options: &CheckOptions,
) -> Vec<Finding> {
    use CompatibilityMode as M;
    let against: &[ParsedWit] = match mode {
        M::None => &[],
        M::Backward | M::Forward | M::Full => {
            history.len().checked_sub(1).map_or(&[], |i| &history[i..])
        }
        M::BackwardTransitive | M::ForwardTransitive | M::FullTransitive => history,
    };
    let (back, fwd) = match mode {
        M::None => (false, false),
        M::Backward | M::BackwardTransitive => (true, false),
        M::Forward | M::ForwardTransitive => (false, true),
        M::Full | M::FullTransitive => (true, true),
    };
    let mut out = Vec::new();
    if against.is_empty() {
        return out;
    }
    let new = Surface::of(new, &options.features);
    for old in against {
        let changes = changes(&Surface::of(old, &options.features), &new);
        if back {
            out.extend(findings(&changes, subject.protects(true), "backward"));
        }
        if fwd {
            out.extend(findings(&changes, subject.protects(false), "forward"));
        }
    }
    out.dedup();
    out
}

fn diff(old: &ParsedWit, new: &ParsedWit, options: &CheckOptions) -> Vec<Break> {
    changes(
        &Surface::of(old, &options.features),
        &Surface::of(new, &options.features),
    )
}

fn changes(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = version::check(old, new);
    out.extend(items::check(old, new));
    out.extend(types::check(old, new));
    out
}

fn findings(changes: &[Break], party: Protects, direction: &str) -> Vec<Finding> {
    changes
        .iter()
        .filter_map(|b| {
            Some(Finding {
                rule: b.rule(party)?.to_owned(),
                path: b.path.clone(),
                old: b.old.clone(),
                new: b.new.clone(),
                direction: direction.to_owned(),
                protects: party,
            })
        })
        .collect()
}

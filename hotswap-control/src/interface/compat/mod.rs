//! Compatibility of a new version of a WIT package (or of a module's
//! extracted interface) with earlier ones, per [`CompatibilityMode`].
//!
//! `backward(old, new)`: callers written against `old` keep working with
//! `new`. `forward(old, new)` is `backward(new, old)`. Each rule family has
//! its own file: `items.rs` (exports, imports, functions), `types.rs`
//! (records, variants, enums, flags, resources) and `version.rs`.

mod items;
mod surface;
mod types;
mod version;

use std::collections::BTreeSet;

use super::{CompatibilityMode, ParsedWit};
use surface::Surface;

pub use hotswap_core::interface::Finding;

/// What a rule reports before it knows its direction.
pub(crate) struct Break {
    pub(crate) rule: &'static str,
    pub(crate) path: String,
    pub(crate) old: Option<String>,
    pub(crate) new: Option<String>,
}

impl Break {
    pub(crate) fn new(
        rule: &'static str,
        path: impl Into<String>,
        old: Option<String>,
        new: Option<String>,
    ) -> Self {
        Self {
            rule,
            path: path.into(),
            old,
            new,
        }
    }
}

/// Options of a check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// `@unstable(feature = ...)` items of these features are compared;
    /// other unstable items are ignored.
    pub features: BTreeSet<String>,
}

/// Callers of `old` keep working with `new`: the findings, empty when
/// compatible.
pub fn backward(old: &ParsedWit, new: &ParsedWit, options: &CheckOptions) -> Vec<Finding> {
    backward_of(
        &Surface::of(old, &options.features),
        &Surface::of(new, &options.features),
    )
}

fn backward_of(old: &Surface, new: &Surface) -> Vec<Finding> {
    breaks(old, new)
        .into_iter()
        .map(|b| finding(b, "backward"))
        .collect()
}

/// Callers of `new` work with `old`: [`backward`] with the roles swapped.
pub fn forward(old: &ParsedWit, new: &ParsedWit, options: &CheckOptions) -> Vec<Finding> {
    forward_of(
        &Surface::of(old, &options.features),
        &Surface::of(new, &options.features),
    )
}

fn forward_of(old: &Surface, new: &Surface) -> Vec<Finding> {
    breaks(new, old)
        .into_iter()
        .map(|b| {
            // Shapes are named as the versions are: `old` is the earlier.
            finding(
                Break {
                    old: b.new,
                    new: b.old,
                    ..b
                },
                "forward",
            )
        })
        .collect()
}

/// Check `new` against the earlier versions `history` (oldest first) under
/// `mode`: plain modes compare with the latest, transitive ones with every
/// earlier version.
pub fn check(
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
        let old = Surface::of(old, &options.features);
        if back {
            out.extend(backward_of(&old, &new));
        }
        if fwd {
            out.extend(forward_of(&old, &new));
        }
    }
    out.dedup();
    out
}

fn breaks(old: &Surface, new: &Surface) -> Vec<Break> {
    let mut out = version::check(old, new);
    out.extend(items::check(old, new));
    out.extend(types::check(old, new));
    out
}

fn finding(b: Break, direction: &str) -> Finding {
    Finding {
        rule: b.rule.to_owned(),
        path: b.path,
        old: b.old,
        new: b.new,
        direction: direction.to_owned(),
    }
}

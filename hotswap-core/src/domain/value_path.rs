//! Where a value sits inside a call's input, written out only when an error
//! names it: checking valid input allocates no path strings.

use std::fmt;

/// A position such as `arguments[0].point.x`, built on the stack while a
/// value is mapped.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ValuePath<'a> {
    /// The outermost name (may be empty).
    Root(&'a str),
    /// An element of a list, tuple or flags array.
    Index(&'a ValuePath<'a>, usize),
    /// A record field, variant case, or `ok`/`err`/`some` key.
    Field(&'a ValuePath<'a>, &'a str),
}

impl fmt::Display for ValuePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValuePath::Root(name) => f.write_str(name),
            ValuePath::Index(parent, i) => write!(f, "{parent}[{i}]"),
            ValuePath::Field(ValuePath::Root(""), name) => f.write_str(name),
            ValuePath::Field(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ValuePath::{Field, Index, Root};

    #[test]
    fn writes_nested_positions() {
        let root = Root("arguments");
        let first = Index(&root, 0);
        assert_eq!(Field(&first, "x").to_string(), "arguments[0].x");
        assert_eq!(Field(&Root(""), "x").to_string(), "x");
        assert_eq!(Index(&Root(""), 2).to_string(), "[2]");
    }
}

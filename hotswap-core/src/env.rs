//! Reading `HOTSWAP_*` settings from the environment. An empty variable
//! counts as unset; a malformed one is an `Invalid` error naming it.
//!
//! Configuration readers take a [`Vars`], so tests can hand them a map
//! instead of changing the process's environment; the free functions read
//! the process's.

use std::collections::HashMap;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Where settings are read from: the process environment or a map.
#[derive(Debug, Clone)]
pub enum Vars {
    /// The process environment.
    Process,
    /// These names and values.
    Map(HashMap<String, String>),
}

impl Vars {
    /// The process environment.
    pub fn process() -> Self {
        Self::Process
    }

    /// These `(name, value)` pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// The value of `name`, if set and not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        match self {
            Self::Process => std::env::var(name).ok(),
            Self::Map(map) => map.get(name).cloned(),
        }
        .filter(|v| !v.is_empty())
    }

    /// A true/false setting (`1`/`true`/`yes` or `0`/`false`/`no`).
    pub fn flag(&self, name: &str) -> Result<Option<bool>> {
        self.var(name)
            .map(|v| match v.as_str() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                _ => Err(Error::invalid(name, format!("{v:?} is not true or false"))),
            })
            .transpose()
    }

    /// A setting parsed as `T`; `what` describes the expected form.
    pub fn parse<T: FromStr>(&self, name: &str, what: &str) -> Result<Option<T>> {
        self.var(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| Error::invalid(name, format!("{v:?} is not {what}")))
            })
            .transpose()
    }

    /// A comma-separated list, trimmed, without empty items.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.var(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }
}

/// The value of `name` in the process environment, if set and not empty.
pub fn var(name: &str) -> Option<String> {
    Vars::process().var(name)
}

/// A true/false setting of the process environment.
pub fn flag(name: &str) -> Result<Option<bool>> {
    Vars::process().flag(name)
}

/// A setting of the process environment parsed as `T`.
pub fn parse<T: FromStr>(name: &str, what: &str) -> Result<Option<T>> {
    Vars::process().parse(name, what)
}

/// A comma-separated list from the process environment.
pub fn list(name: &str) -> Option<Vec<String>> {
    Vars::process().list(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_from_a_map_and_malformed_ones_named() {
        let v = Vars::from_pairs(&[
            ("A", "yes"),
            ("B", "7"),
            ("C", " x, ,y "),
            ("D", ""),
            ("E", "maybe"),
            ("F", "seven"),
        ]);
        assert_eq!(v.flag("A").unwrap(), Some(true));
        assert_eq!(v.parse::<u32>("B", "a count").unwrap(), Some(7));
        assert_eq!(v.list("C").unwrap(), ["x", "y"]);
        assert_eq!(v.var("D"), None, "empty counts as unset");
        assert_eq!(v.var("missing"), None);
        assert_eq!(
            v.flag("E").unwrap_err().to_string(),
            "invalid E: \"maybe\" is not true or false"
        );
        assert_eq!(
            v.parse::<u32>("F", "a count").unwrap_err().to_string(),
            "invalid F: \"seven\" is not a count"
        );
    }
}

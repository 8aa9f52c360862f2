//! Reading `HOTSWAP_*` settings from the environment. An empty variable
//! counts as unset; a malformed one is an `Invalid` error naming it.

use std::str::FromStr;

use crate::error::{Error, Result};

/// The value of `name`, if set and not empty.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A true/false setting (`1`/`true`/`yes` or `0`/`false`/`no`).
pub fn flag(name: &str) -> Result<Option<bool>> {
    var(name)
        .map(|v| match v.as_str() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            _ => Err(Error::invalid(name, format!("{v:?} is not true or false"))),
        })
        .transpose()
}

/// A setting parsed as `T`; `what` describes the expected form ("a count").
pub fn parse<T: FromStr>(name: &str, what: &str) -> Result<Option<T>> {
    var(name)
        .map(|v| {
            v.parse()
                .map_err(|_| Error::invalid(name, format!("{v:?} is not {what}")))
        })
        .transpose()
}

/// A comma-separated list, trimmed, without empty items.
pub fn list(name: &str) -> Option<Vec<String>> {
    var(name).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

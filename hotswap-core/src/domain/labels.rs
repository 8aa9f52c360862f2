//! Labels: small key/value maps attached to modules and nodes, and the
//! selectors that match them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// At most this many labels on one object.
pub const MAX_LABELS: usize = 64;
/// The longest label key.
pub const MAX_LABEL_KEY_LEN: usize = 63;
/// The longest label value.
pub const MAX_LABEL_VALUE_LEN: usize = 255;

/// Validated labels, ordered by key.
///
/// Keys: 1 to 63 characters of `[a-z0-9]`, with `-`, `_`, `.` and `/`
/// allowed inside (not first or last). Values: up to 255 printable
/// characters (no control characters). At most 64 labels.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct Labels(BTreeMap<String, String>);

impl Labels {
    /// No labels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validate `map` as labels.
    pub fn from_map(map: BTreeMap<String, String>) -> Result<Self> {
        if map.len() > MAX_LABELS {
            return Err(Error::invalid(
                "labels",
                format!("has {} labels, at most {MAX_LABELS} are allowed", map.len()),
            ));
        }
        for (k, v) in &map {
            check_key(k)?;
            check_value(k, v)?;
        }
        Ok(Self(map))
    }

    /// Add or replace one label, validating it.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let (key, value) = (key.into(), value.into());
        check_key(&key)?;
        check_value(&key, &value)?;
        if !self.0.contains_key(&key) && self.0.len() >= MAX_LABELS {
            return Err(Error::invalid(
                "labels",
                format!("at most {MAX_LABELS} labels are allowed"),
            ));
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Builder form of [`Labels::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether every label of `selector` is present here with the same value.
    /// An empty selector matches everything.
    pub fn matches(&self, selector: &Labels) -> bool {
        selector.0.iter().all(|(k, v)| self.0.get(k) == Some(v))
    }

    /// Iterate over `(key, value)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check_key(key: &str) -> Result<()> {
    let field = || format!("labels.{key}");
    if key.is_empty() || key.len() > MAX_LABEL_KEY_LEN {
        return Err(Error::invalid(
            "labels",
            format!(
                "key {key:?} must have 1 to {MAX_LABEL_KEY_LEN} characters, it has {}",
                key.len()
            ),
        ));
    }
    let bytes = key.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(Error::invalid(
            field(),
            "a label key must start and end with a lowercase letter or digit",
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c)))
    {
        return Err(Error::invalid(
            field(),
            format!("a label key may hold [a-z0-9] and - _ . / only, found {c:?}"),
        ));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_LABEL_VALUE_LEN {
        return Err(Error::invalid(
            format!("labels.{key}"),
            format!("a label value has at most {MAX_LABEL_VALUE_LEN} characters"),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(
            format!("labels.{key}"),
            format!("a label value may not hold the control character {c:?}"),
        ));
    }
    Ok(())
}

impl TryFrom<BTreeMap<String, String>> for Labels {
    type Error = Error;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self> {
        Self::from_map(map)
    }
}

impl From<Labels> for BTreeMap<String, String> {
    fn from(l: Labels) -> Self {
        l.0
    }
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_validate_and_match() {
        let l = Labels::new()
            .with("tier", "gold")
            .unwrap()
            .with("team/owner", "edge")
            .unwrap();
        assert!(l.matches(&Labels::new()));
        assert!(l.matches(&Labels::new().with("tier", "gold").unwrap()));
        assert!(!l.matches(&Labels::new().with("tier", "silver").unwrap()));
        assert!(!l.matches(&Labels::new().with("zone", "a").unwrap()));

        let e = Labels::new().with("Tier", "x").unwrap_err().to_string();
        assert!(e.contains("labels.Tier"), "{e}");
        let e = Labels::new().with("a", "x\ny").unwrap_err().to_string();
        assert!(e.contains("control character"), "{e}");
        let e = serde_json::from_str::<Labels>(r#"{"-x":"1"}"#).unwrap_err();
        assert!(e.to_string().contains("start and end"), "{e}");
    }
}

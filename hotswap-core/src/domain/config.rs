//! A module's configuration: plain values and secrets, kept as numbered
//! revisions. Every change makes a new revision; a deployment names the
//! revision its version runs with, so a rollback restores the old values
//! with the old version.
//!
//! Secrets are stored sealed ([`SealedSecret`], see [`crate::secrets`]) and
//! are shown only by name and the revision that last set them
//! ([`ConfigView`]). A [`SecretValue`] never prints its text.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{ConfigKey, ModuleName};
use crate::error::{Error, Result};

/// The largest configuration value or secret, bytes.
pub const MAX_CONFIG_VALUE_BYTES: usize = 64 * 1024;

/// The most entries (values and secrets together) one revision holds.
pub const MAX_CONFIG_ENTRIES: usize = 256;

/// A secret's text on its way in. Its `Debug` and `Display` never show
/// it, and its memory is wiped when it is dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
#[serde(transparent)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wrap `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The text: call only to seal or to hand it to the guest.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A secret as it is stored: sealed with the operator's key, bound to its
/// module and key (see [`crate::secrets::SecretsKey`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSecret {
    /// The revision that set this value.
    pub set_in: u64,
    /// The 24-byte XChaCha20 nonce, hex.
    pub nonce: String,
    /// The ciphertext with its 16-byte tag, hex.
    pub ciphertext: String,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("set_in", &self.set_in)
            .finish_non_exhaustive()
    }
}

/// One revision of a module's configuration, as repositories store it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// The module (all its versions).
    pub module: ModuleName,
    /// 1, 2, ... per module; 0 is "no configuration" and is never stored.
    pub revision: u64,
    /// Plain values.
    #[serde(default)]
    pub values: BTreeMap<ConfigKey, String>,
    /// Sealed secrets.
    #[serde(default)]
    pub secrets: BTreeMap<ConfigKey, SealedSecret>,
    /// When the revision was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
}

impl ModuleConfig {
    /// Revision 0 of `module`: nothing set.
    pub fn none(module: ModuleName) -> Self {
        Self {
            module,
            revision: 0,
            values: BTreeMap::new(),
            secrets: BTreeMap::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            created_by: "system".into(),
        }
    }

    /// Whether `key` is set, as a value or a secret.
    pub fn has(&self, key: &ConfigKey) -> bool {
        self.values.contains_key(key) || self.secrets.contains_key(key)
    }

    /// Check the revision's shape: a key is a value or a secret, not both;
    /// sizes and counts within bounds; the actor valid.
    pub fn validate(&self) -> Result<()> {
        if self.revision == 0 {
            return Err(Error::invalid("revision", "stored revisions start at 1"));
        }
        super::validate_actor("created_by", &self.created_by)?;
        if self.values.len() + self.secrets.len() > MAX_CONFIG_ENTRIES {
            return Err(Error::invalid(
                "values",
                format!("at most {MAX_CONFIG_ENTRIES} values and secrets together"),
            ));
        }
        for (key, value) in &self.values {
            check_size(&format!("values.{key}"), value.len())?;
            if self.secrets.contains_key(key) {
                return Err(Error::invalid(
                    format!("values.{key}"),
                    "is also a secret; a key is one or the other",
                ));
            }
        }
        for (key, sealed) in &self.secrets {
            if sealed.set_in == 0 || sealed.set_in > self.revision {
                return Err(Error::invalid(
                    format!("secrets.{key}.set_in"),
                    format!("{} is not in 1..={}", sealed.set_in, self.revision),
                ));
            }
        }
        Ok(())
    }
}

fn check_size(field: &str, len: usize) -> Result<()> {
    if len > MAX_CONFIG_VALUE_BYTES {
        return Err(Error::invalid(
            field,
            format!("is {len} bytes, at most {MAX_CONFIG_VALUE_BYTES} are allowed"),
        ));
    }
    Ok(())
}

/// A change to a module's configuration: what to set and what to remove.
/// Applied to the latest revision, it makes the next one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ConfigPatch {
    /// Plain values to set (a secret of the same key is replaced).
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub values: BTreeMap<ConfigKey, String>,
    /// Secrets to set (a value of the same key is replaced). Write-only:
    /// no read returns them.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, SecretValue>))]
    pub secrets: BTreeMap<ConfigKey, SecretValue>,
    /// Keys to remove; each must be set.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub remove: Vec<ConfigKey>,
}

impl ConfigPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.secrets.is_empty() && self.remove.is_empty()
    }

    /// Check sizes and that no key is named twice.
    pub fn validate(&self) -> Result<()> {
        if self.is_empty() {
            return Err(Error::invalid(
                "patch",
                "sets and removes nothing; name at least one value, secret or key to remove",
            ));
        }
        for (key, value) in &self.values {
            check_size(&format!("values.{key}"), value.len())?;
            if self.secrets.contains_key(key) {
                return Err(Error::invalid(
                    format!("values.{key}"),
                    "is set as a value and as a secret",
                ));
            }
        }
        for (key, secret) in &self.secrets {
            check_size(&format!("secrets.{key}"), secret.expose().len())?;
        }
        for key in &self.remove {
            if self.values.contains_key(key) || self.secrets.contains_key(key) {
                return Err(Error::invalid(
                    format!("remove.{key}"),
                    "is set and removed in one change",
                ));
            }
        }
        Ok(())
    }
}

/// A secret as reads show it: its name and the revision that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretInfo {
    /// The key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key: ConfigKey,
    /// The revision that set its value.
    pub set_in: u64,
}

/// One revision as the API shows it: values, and secrets by name only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigView {
    /// The module.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub module: ModuleName,
    /// The revision (0: nothing set yet).
    pub revision: u64,
    /// Plain values.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub values: BTreeMap<ConfigKey, String>,
    /// Secrets, by name.
    pub secrets: Vec<SecretInfo>,
    /// When the revision was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
}

impl From<&ModuleConfig> for ConfigView {
    fn from(c: &ModuleConfig) -> Self {
        Self {
            module: c.module.clone(),
            revision: c.revision,
            values: c.values.clone(),
            secrets: c
                .secrets
                .iter()
                .map(|(key, s)| SecretInfo {
                    key: key.clone(),
                    set_in: s.set_in,
                })
                .collect(),
            created_at: c.created_at,
            created_by: c.created_by.clone(),
        }
    }
}

/// A revision opened for running: every value and secret in the clear,
/// restricted to the keys a version declared. `Debug` shows keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfigValues {
    /// The revision they come from.
    pub revision: u64,
    entries: BTreeMap<ConfigKey, SecretValue>,
}

impl ConfigValues {
    /// Values of `revision` from `entries`.
    pub fn new(revision: u64, entries: BTreeMap<ConfigKey, SecretValue>) -> Self {
        Self { revision, entries }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        ConfigKey::new(key)
            .ok()
            .and_then(|k| self.entries.get(&k))
            .map(SecretValue::expose)
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.expose()))
    }
}

impl fmt::Debug for ConfigValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigValues")
            .field("revision", &self.revision)
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{CONFIG_KEY_PATTERN, MAX_CONFIG_KEY_LEN};
    use proptest::prelude::*;

    proptest! {
        /// The parser takes exactly what the published pattern allows.
        #[test]
        fn keys_are_exactly_their_pattern(
            from_pattern in "[A-Za-z_][A-Za-z0-9_.-]{0,127}",
            any_text in "[a-zA-Z0-9._ /-]{0,130}",
        ) {
            prop_assert!(ConfigKey::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            let pattern = regex::Regex::new(CONFIG_KEY_PATTERN).unwrap();
            let ok = pattern.is_match(&any_text) && any_text.len() <= MAX_CONFIG_KEY_LEN;
            prop_assert_eq!(ConfigKey::new(any_text.clone()).is_ok(), ok, "{:?}", any_text);
        }
    }

    #[test]
    fn secrets_never_print() {
        let secret = SecretValue::new("hunter2-correct-horse");
        let mut values = BTreeMap::new();
        values.insert(ConfigKey::new("token").unwrap(), secret.clone());
        let patch = ConfigPatch {
            secrets: values.clone(),
            ..ConfigPatch::default()
        };
        let opened = ConfigValues::new(3, values);
        for text in [
            format!("{secret:?}"),
            format!("{patch:?}"),
            format!("{opened:?}"),
            format!("{patch:#?}"),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert_eq!(opened.get("token"), Some("hunter2-correct-horse"));
        assert!(format!("{opened:?}").contains("token"));
    }

    #[test]
    fn a_patch_names_what_is_wrong() {
        let key = ConfigKey::new("a").unwrap();
        let e = ConfigPatch::default().validate().unwrap_err();
        assert!(e.to_string().contains("patch"), "{e}");
        let mut both = ConfigPatch::default();
        both.values.insert(key.clone(), "1".into());
        both.remove.push(key.clone());
        let e = both.validate().unwrap_err();
        assert!(e.to_string().contains("remove.a"), "{e}");
        let mut big = ConfigPatch::default();
        big.values
            .insert(key, "x".repeat(MAX_CONFIG_VALUE_BYTES + 1));
        assert!(big.validate().unwrap_err().to_string().contains("values.a"));
    }
}

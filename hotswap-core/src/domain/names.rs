//! Validated names: module names, regions, key-value buckets and
//! configuration keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest module name accepted.
pub const MAX_MODULE_NAME_LEN: usize = 64;

/// The pattern of a module name (with [`MAX_MODULE_NAME_LEN`]), as the
/// OpenAPI document states it.
pub const MODULE_NAME_PATTERN: &str = "^[a-z][a-z0-9]*([-_.][a-z0-9]+)*$";

/// The longest region name.
pub const MAX_REGION_LEN: usize = 32;

/// The pattern of a region name (with [`MAX_REGION_LEN`]).
pub const REGION_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// The pattern of a semantic version, as the server parses it (semver
/// 2.0.0, without a leading `v`; each number below 10^19, so it fits u64).
pub const SEMVER_PATTERN: &str = r"^(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$";

/// The longest configuration key.
pub const MAX_CONFIG_KEY_LEN: usize = 128;

/// The pattern of a configuration key (with [`MAX_CONFIG_KEY_LEN`]).
pub const CONFIG_KEY_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_.-]*$";

/// A module name.
///
/// Pattern: 1 to 64 characters of lowercase ASCII letters and digits, starting
/// with a letter, in words joined by single `-`, `_` or `.` separators, e.g.
/// `image-resize`, `auth.jwt_verify`, `echo2`. No other characters, no
/// leading, trailing or doubled separators. The same name is safe in URLs,
/// object keys, metric labels and file names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModuleName(String);

impl ModuleName {
    /// Validate and wrap `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        check_word_pattern("name", &name, MAX_MODULE_NAME_LEN, &['-', '_', '.'], true)?;
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A region name, e.g. `eu-west-1`, `us-east`.
///
/// Pattern: 1 to 32 lowercase ASCII letters and digits in words joined by
/// single `-`, starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    /// Validate and wrap `region`.
    pub fn new(region: impl Into<String>) -> Result<Self> {
        let region = region.into();
        check_word_pattern("region", &region, MAX_REGION_LEN, &['-'], false)?;
        Ok(Self(region))
    }

    /// The region as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest key-value bucket name.
pub const MAX_BUCKET_NAME_LEN: usize = 64;

/// The pattern of a bucket name (with [`MAX_BUCKET_NAME_LEN`]).
pub const BUCKET_NAME_PATTERN: &str = "^[a-z0-9]+([-_.][a-z0-9]+)*$";

/// A key-value bucket's name, e.g. `counters`, `sessions.eu`.
///
/// Pattern: 1 to 64 lowercase ASCII letters and digits in words joined by
/// single `-`, `_` or `.`. A guest that opens the empty identifier opens
/// `default`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BucketName(String);

impl BucketName {
    /// Validate and wrap `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        check_word_pattern(
            "bucket",
            &name,
            MAX_BUCKET_NAME_LEN,
            &['-', '_', '.'],
            false,
        )?;
        Ok(Self(name))
    }

    /// The bucket a guest opens with the empty identifier.
    pub fn default_bucket() -> Self {
        Self("default".into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Check `value` against "words of `[a-z0-9]` joined by single separators".
pub(crate) fn check_word_pattern(
    field: &str,
    value: &str,
    max_len: usize,
    separators: &[char],
    letter_first: bool,
) -> Result<()> {
    let invalid = |reason: String| Err(Error::invalid(field, reason));
    if value.is_empty() {
        return invalid("must not be empty".into());
    }
    if value.len() > max_len {
        return invalid(format!(
            "is {} characters long, at most {max_len} are allowed",
            value.len()
        ));
    }
    let mut previous_was_separator = true;
    for (i, c) in value.chars().enumerate() {
        if separators.contains(&c) {
            if previous_was_separator {
                return invalid(format!(
                    "{value:?} has a separator {c:?} at position {i} that does not follow a letter or digit"
                ));
            }
            previous_was_separator = true;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if i == 0 && letter_first && !c.is_ascii_lowercase() {
                return invalid(format!("{value:?} must start with a lowercase letter"));
            }
            previous_was_separator = false;
        } else {
            let allowed: String = separators.iter().map(|s| format!(" {s:?}")).collect();
            return invalid(format!(
                "{value:?} has {c:?} at position {i}; allowed are lowercase ASCII letters, digits and the separators{allowed}"
            ));
        }
    }
    if previous_was_separator {
        return invalid(format!("{value:?} must not end with a separator"));
    }
    Ok(())
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A configuration key, e.g. `upstream`, `API_TOKEN`, `db.url`: what a
/// component asks `wasi:config/store` for, and the environment variable a
/// WASI command sees.
///
/// Pattern: 1 to 128 ASCII letters, digits, `_`, `.` and `-`, starting
/// with a letter or `_`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConfigKey(String);

impl ConfigKey {
    /// Validate and wrap `key`.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let invalid = |reason: String| Err(Error::invalid("key", reason));
        if key.is_empty() {
            return invalid("must not be empty".into());
        }
        if key.len() > MAX_CONFIG_KEY_LEN {
            return invalid(format!(
                "is {} characters long, at most {MAX_CONFIG_KEY_LEN} are allowed",
                key.len()
            ));
        }
        for (i, c) in key.chars().enumerate() {
            let ok = c.is_ascii_alphabetic()
                || c == '_'
                || (i > 0 && (c.is_ascii_digit() || c == '.' || c == '-'));
            if !ok {
                return invalid(format!(
                    "{key:?} has {c:?} at position {i}; a key is ASCII letters, digits, '_', '.' and '-', starting with a letter or '_'"
                ));
            }
        }
        Ok(Self(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_impls!(ModuleName);
string_newtype_impls!(ConfigKey);
string_newtype_impls!(Region);
string_newtype_impls!(BucketName);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    proptest! {
        /// What the OpenAPI document's pattern allows, the parser takes,
        /// and nothing else: a generated client never sends a name the
        /// server refuses, nor is told a valid name is invalid.
        #[test]
        fn module_names_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex(unanchored(MODULE_NAME_PATTERN)).unwrap(),
            any_text in "[a-z0-9A-Z._ -]{0,70}",
        ) {
            let pattern = regex::Regex::new(MODULE_NAME_PATTERN).unwrap();
            if from_pattern.len() <= MAX_MODULE_NAME_LEN {
                prop_assert!(ModuleName::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            }
            let schema_ok = pattern.is_match(&any_text) && any_text.len() <= MAX_MODULE_NAME_LEN;
            prop_assert_eq!(ModuleName::new(any_text.clone()).is_ok(), schema_ok, "{:?}", any_text);
        }

        #[test]
        fn regions_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex(unanchored(REGION_PATTERN)).unwrap(),
            any_text in "[a-z0-9A-Z._ -]{0,40}",
        ) {
            let pattern = regex::Regex::new(REGION_PATTERN).unwrap();
            if from_pattern.len() <= MAX_REGION_LEN {
                prop_assert!(Region::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            }
            let schema_ok = pattern.is_match(&any_text) && any_text.len() <= MAX_REGION_LEN;
            prop_assert_eq!(Region::new(any_text.clone()).is_ok(), schema_ok, "{:?}", any_text);
        }

        #[test]
        fn bucket_names_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex(unanchored(BUCKET_NAME_PATTERN)).unwrap(),
            any_text in "[a-z0-9A-Z._: -]{0,70}",
        ) {
            let pattern = regex::Regex::new(BUCKET_NAME_PATTERN).unwrap();
            if from_pattern.len() <= MAX_BUCKET_NAME_LEN {
                prop_assert!(BucketName::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            }
            let schema_ok = pattern.is_match(&any_text) && any_text.len() <= MAX_BUCKET_NAME_LEN;
            prop_assert_eq!(BucketName::new(any_text.clone()).is_ok(), schema_ok, "{:?}", any_text);
        }

        #[test]
        fn package_names_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex(unanchored(crate::interface::PACKAGE_NAME_PATTERN)).unwrap(),
            any_text in "[a-z0-9:-]{0,12}",
        ) {
            use crate::interface::{MAX_PACKAGE_NAME_LEN, PACKAGE_NAME_PATTERN, PackageName};
            let pattern = regex::Regex::new(PACKAGE_NAME_PATTERN).unwrap();
            if from_pattern.len() <= MAX_PACKAGE_NAME_LEN {
                prop_assert!(PackageName::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            }
            let schema_ok = pattern.is_match(&any_text) && any_text.len() <= MAX_PACKAGE_NAME_LEN;
            prop_assert_eq!(PackageName::new(any_text.clone()).is_ok(), schema_ok, "{:?}", any_text);
        }

        #[test]
        fn versions_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex(unanchored(SEMVER_PATTERN)).unwrap(),
            any_text in "[0-9]{1,3}\\.[0-9]{1,2}\\.[0-9]{1,2}([-+][0-9a-zA-Z.-]{0,6})?",
        ) {
            let pattern = regex::Regex::new(SEMVER_PATTERN).unwrap();
            prop_assert!(semver::Version::parse(&from_pattern).is_ok(), "{from_pattern:?}");
            prop_assert_eq!(
                semver::Version::parse(&any_text).is_ok(),
                pattern.is_match(&any_text),
                "{:?}", any_text
            );
        }
    }

    #[test]
    fn module_names() {
        for ok in [
            "a",
            "echo",
            "image-resize",
            "auth.jwt_verify",
            "v2",
            "a1-b2.c3_d4",
        ] {
            ModuleName::new(ok).unwrap();
        }
        for (bad, why) in [
            ("", "must not be empty"),
            ("Echo", "'E' at position 0"),
            ("1abc", "must start with a lowercase letter"),
            ("a--b", "separator '-' at position 2"),
            ("a-", "must not end with a separator"),
            ("-a", "separator '-' at position 0"),
            ("a b", "' ' at position 1"),
            ("é", "'é' at position 0"),
        ] {
            let e = ModuleName::new(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid name: "), "{bad:?}: {e}");
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let long = "a".repeat(65);
        assert!(
            ModuleName::new(long)
                .unwrap_err()
                .to_string()
                .contains("at most 64")
        );
    }

    #[test]
    fn regions() {
        Region::new("eu-west-1").unwrap();
        Region::new("1").unwrap();
        assert!(Region::new("eu_west").is_err());
        let e: Result<Region, _> = serde_json::from_str("\"EU\"");
        assert!(e.unwrap_err().to_string().contains("invalid region"));
    }
}

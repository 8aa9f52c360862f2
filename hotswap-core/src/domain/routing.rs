//! Routing tables: which version of a module serves a call on an edge host.

use semver::Version;
use serde::{Deserialize, Serialize};

use super::ModuleName;
use crate::error::ResourceKind;
use crate::error::{Error, Result};

/// Number of traffic buckets; weights are whole percents of them.
pub const BUCKETS: u8 = 100;

/// A version with a share of traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightedVersion {
    /// The version.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: Version,
    /// Percent of calls (0..=100).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub weight: u8,
}

/// What a routing rule matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum RouteMatch {
    /// A request header (name case-insensitive) with exactly this value.
    Header {
        /// Header name.
        name: String,
        /// Header value.
        value: String,
    },
    /// A routing key from this list.
    Keys {
        /// The keys.
        keys: Vec<String>,
    },
    /// Calls whose traffic bucket lies in `from..to` (percent buckets,
    /// half-open). The bucket comes from the routing key when the call has
    /// one (sticky), otherwise from a per-call random roll.
    Buckets {
        /// First bucket (inclusive).
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 99))]
        from: u8,
        /// Last bucket (exclusive).
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
        to: u8,
    },
}

/// A rule sending matching calls to a version; rules are tried in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteRule {
    /// What the rule matches.
    #[serde(flatten)]
    pub when: RouteMatch,
    /// The version matching calls go to.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: Version,
}

/// How the edge host picks a version of one module for each call.
///
/// Order of precedence: an allowed pin, then the first matching rule, then
/// the candidate's weight, then the stable version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RoutingTable {
    /// The module.
    pub module: ModuleName,
    /// The version that takes all traffic not sent elsewhere.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub stable: Version,
    /// A version taking `weight` percent of the remaining calls.
    #[serde(default)]
    pub candidate: Option<WeightedVersion>,
    /// Header and key rules, tried in order.
    #[serde(default)]
    pub rules: Vec<RouteRule>,
    /// Versions a caller may ask for explicitly (e.g. blue-green preview).
    /// The stable and candidate versions can always be pinned.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver_list))]
    pub pinnable: Vec<Version>,
    /// Bumped by the control plane on every change; an edge host ignores a
    /// table older than the one it has.
    #[serde(default)]
    pub revision: u64,
}

/// What the edge host knows about a call when it routes it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteContext<'a> {
    /// Request headers as `(name, value)`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The caller's routing key (user, tenant, session), for sticky splits.
    pub key: Option<&'a str>,
    /// A version the caller asks for.
    pub pin: Option<&'a Version>,
    /// A random number for calls without a key; any `u32`.
    pub roll: u32,
}

/// Why a version was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "by", content = "rule", rename_all = "snake_case")]
pub enum RouteReason {
    /// The caller pinned it.
    Pin,
    /// Rule number `n` (0-based) matched.
    Rule(usize),
    /// The candidate's weight took the call.
    Candidate,
    /// Everything else.
    Stable,
}

impl RoutingTable {
    /// A table sending everything to `stable`.
    pub fn new(module: ModuleName, stable: Version) -> Self {
        Self {
            module,
            stable,
            candidate: None,
            rules: Vec::new(),
            pinnable: Vec::new(),
            revision: 0,
        }
    }

    /// Send `weight` percent of calls to `version`.
    #[must_use]
    pub fn with_candidate(mut self, version: Version, weight: u8) -> Self {
        self.candidate = Some(WeightedVersion { version, weight });
        self
    }

    /// Every version this table can send a call to, stable first, each once.
    pub fn versions(&self) -> Vec<&Version> {
        let mut out = vec![&self.stable];
        let more = self
            .candidate
            .iter()
            .map(|c| &c.version)
            .chain(self.rules.iter().map(|r| &r.version))
            .chain(self.pinnable.iter());
        for v in more {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    /// Refuse weights over 100, overlapping or empty bucket ranges, and a
    /// candidate equal to the stable version.
    pub fn validate(&self) -> Result<()> {
        if let Some(c) = &self.candidate {
            if c.weight > BUCKETS {
                return Err(Error::invalid(
                    "candidate.weight",
                    format!("{} is over 100 percent", c.weight),
                ));
            }
            if c.version == self.stable {
                return Err(Error::invalid(
                    "candidate.version",
                    format!("{} is already the stable version", c.version),
                ));
            }
        }
        let mut taken = [false; BUCKETS as usize];
        for (i, rule) in self.rules.iter().enumerate() {
            let field = format!("rules[{i}]");
            match &rule.when {
                RouteMatch::Header { name, .. } if name.is_empty() => {
                    return Err(Error::invalid(field + ".name", "must not be empty"));
                }
                RouteMatch::Keys { keys } if keys.is_empty() => {
                    return Err(Error::invalid(field + ".keys", "name at least one key"));
                }
                RouteMatch::Buckets { from, to } => {
                    if from >= to || *to > BUCKETS {
                        return Err(Error::invalid(
                            field,
                            format!("bucket range {from}..{to} must be non-empty within 0..100"),
                        ));
                    }
                    for b in *from..*to {
                        if std::mem::replace(&mut taken[usize::from(b)], true) {
                            return Err(Error::invalid(
                                field,
                                format!("bucket {b} is already taken by an earlier rule"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The traffic bucket (0..100) of a call: from its key when it has one,
    /// so one key always lands in one bucket, else from its roll.
    pub fn bucket(ctx: &RouteContext<'_>) -> u8 {
        let n = match ctx.key {
            Some(key) => fnv1a64(key.as_bytes()),
            None => u64::from(ctx.roll),
        };
        // The remainder is below 100, so it fits.
        (n % u64::from(BUCKETS)) as u8
    }

    /// Choose the version for a call.
    ///
    /// A pin naming a version the table does not serve is refused with
    /// `NotFound`, so a caller never silently gets another version.
    pub fn choose<'a>(&'a self, ctx: &RouteContext<'_>) -> Result<(&'a Version, RouteReason)> {
        if let Some(pin) = ctx.pin {
            return self
                .versions()
                .into_iter()
                .find(|v| *v == pin)
                .map(|v| (v, RouteReason::Pin))
                .ok_or_else(|| {
                    Error::not_found(
                        ResourceKind::PinnableVersion,
                        format!("{}@{}", self.module, pin),
                    )
                });
        }
        let bucket = Self::bucket(ctx);
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = match &rule.when {
                RouteMatch::Header { name, value } => ctx
                    .headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value),
                RouteMatch::Keys { keys } => ctx.key.is_some_and(|k| keys.iter().any(|x| x == k)),
                RouteMatch::Buckets { from, to } => (*from..*to).contains(&bucket),
            };
            if hit {
                return Ok((&rule.version, RouteReason::Rule(i)));
            }
        }
        if let Some(c) = &self.candidate
            && bucket < c.weight
        {
            return Ok((&c.version, RouteReason::Candidate));
        }
        Ok((&self.stable, RouteReason::Stable))
    }
}

/// 64-bit FNV-1a. Written here rather than taken from `std::hash` because the
/// bucket of a key must be the same on every node, platform and Rust release,
/// which std's hashers do not promise; FNV-1a is a fixed, published function.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u64) -> Version {
        Version::new(1, minor, 0)
    }

    fn table() -> RoutingTable {
        RoutingTable::new(ModuleName::new("m").unwrap(), v(0)).with_candidate(v(1), 25)
    }

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn weights_split_rolls_exactly() {
        let t = table();
        let to_candidate = (0..10_000u32)
            .filter(|&roll| {
                let ctx = RouteContext {
                    roll,
                    ..Default::default()
                };
                t.choose(&ctx).unwrap().1 == RouteReason::Candidate
            })
            .count();
        assert_eq!(to_candidate, 2_500);
    }

    #[test]
    fn precedence_pin_rule_candidate_stable() {
        let mut t = table();
        t.rules.push(RouteRule {
            when: RouteMatch::Header {
                name: "X-Beta".into(),
                value: "1".into(),
            },
            version: v(2),
        });
        t.pinnable.push(v(3));
        let headers = [("x-beta", "1")];
        let pin = v(3);
        let ctx = RouteContext {
            headers: &headers,
            pin: Some(&pin),
            ..Default::default()
        };
        assert_eq!(t.choose(&ctx).unwrap(), (&v(3), RouteReason::Pin));
        let ctx = RouteContext {
            headers: &headers,
            ..Default::default()
        };
        assert_eq!(t.choose(&ctx).unwrap(), (&v(2), RouteReason::Rule(0)));
        let ctx = RouteContext {
            roll: 99,
            ..Default::default()
        };
        assert_eq!(t.choose(&ctx).unwrap(), (&v(0), RouteReason::Stable));
        let bad = v(9);
        let ctx = RouteContext {
            pin: Some(&bad),
            ..Default::default()
        };
        assert!(matches!(t.choose(&ctx), Err(Error::NotFound { .. })));
    }

    #[test]
    fn validation() {
        let mut t = table();
        t.rules.push(RouteRule {
            when: RouteMatch::Buckets { from: 0, to: 50 },
            version: v(2),
        });
        t.rules.push(RouteRule {
            when: RouteMatch::Buckets { from: 40, to: 60 },
            version: v(3),
        });
        assert_eq!(
            t.validate().unwrap_err().to_string(),
            "invalid rules[1]: bucket 40 is already taken by an earlier rule"
        );
        let t = table().with_candidate(v(0), 10);
        assert!(
            t.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid candidate.version")
        );
        let json = serde_json::to_value(RouteRule {
            when: RouteMatch::Keys {
                keys: vec!["k".into()],
            },
            version: v(1),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"match": "keys", "keys": ["k"], "version": "1.1.0"})
        );
    }
}

//! Webhooks a deployment calls at points of its rollout. At the gating
//! points (before it starts, before each traffic increase, before the
//! final promotion) an answer other than 2xx holds the deployment paused
//! until the hook allows it; after it ends (promoted, rolled back) the
//! hook is told.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::analysis::ShortName;
use crate::error::{Error, Result};

/// Where in a rollout a webhook is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HookPoint {
    /// Before the rollout starts (gate).
    PreRollout,
    /// Before each increase of the new version's traffic (gate).
    Step,
    /// Before the new version takes all traffic (gate).
    ConfirmPromotion,
    /// After the rollout succeeded.
    PostRollout,
    /// After the rollout rolled back, was aborted or failed.
    Rollback,
}

impl HookPoint {
    /// Whether a refusal holds the deployment (the gating points).
    pub fn gates(self) -> bool {
        matches!(self, Self::PreRollout | Self::Step | Self::ConfirmPromotion)
    }

    /// Its name in JSON (`confirm_promotion`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreRollout => "pre_rollout",
            Self::Step => "step",
            Self::ConfirmPromotion => "confirm_promotion",
            Self::PostRollout => "post_rollout",
            Self::Rollback => "rollback",
        }
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest a webhook may take to answer one attempt.
pub const MAX_HOOK_TIMEOUT_SECS: u64 = 60;

/// The most retries of one call.
pub const MAX_HOOK_RETRIES: u32 = 10;

/// A webhook of a deployment (or of a module's deployment policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Webhook {
    /// Its name, unique in the deployment.
    pub name: ShortName,
    /// Where it is called.
    pub point: HookPoint,
    /// Where the signed JSON payload is POSTed (`http(s)://...`).
    pub url: String,
    /// Seconds one attempt may take (1 to 60).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts after the first when one cannot connect, times out or is
    /// answered 5xx (0 to 10).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_timeout() -> u64 {
    10
}

fn default_retries() -> u32 {
    2
}

impl Webhook {
    /// A hook `name` at `point` POSTing to `url`, 10 s an attempt, two
    /// retries.
    pub fn new(name: ShortName, point: HookPoint, url: impl Into<String>) -> Self {
        Self {
            name,
            point,
            url: url.into(),
            timeout_secs: default_timeout(),
            retries: default_retries(),
        }
    }

    /// Refuse what cannot be called, naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://"))
            || self.url.len() < 10
        {
            return Err(Error::invalid(
                "url",
                format!("{:?} must be an http:// or https:// URL", self.url),
            ));
        }
        if self.timeout_secs == 0 || self.timeout_secs > MAX_HOOK_TIMEOUT_SECS {
            return Err(Error::invalid(
                "timeout_secs",
                format!(
                    "{} is outside 1..={MAX_HOOK_TIMEOUT_SECS}",
                    self.timeout_secs
                ),
            ));
        }
        if self.retries > MAX_HOOK_RETRIES {
            return Err(Error::invalid(
                "retries",
                format!("{} is more than {MAX_HOOK_RETRIES}", self.retries),
            ));
        }
        Ok(())
    }
}

/// Refuse hooks with repeated names, or one that is invalid (the field
/// named `hooks[i].field`).
pub fn validate_hooks(hooks: &[Webhook]) -> Result<()> {
    let mut names = BTreeSet::new();
    for (i, h) in hooks.iter().enumerate() {
        h.validate().map_err(|e| e.within(&format!("hooks[{i}]")))?;
        if !names.insert(h.name.as_str()) {
            return Err(Error::invalid(
                format!("hooks[{i}].name"),
                format!("{} is the name of an earlier hook", h.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn hook(name: &str, url: &str) -> Webhook {
        Webhook::new(ShortName::new(name).unwrap(), HookPoint::Step, url)
    }

    #[test]
    fn hooks_are_checked_by_field() {
        validate_hooks(&[hook("a", "http://gate.test/x"), hook("b", "https://b.test")]).unwrap();
        let e = validate_hooks(&[hook("a", "ftp://x.test/")]).unwrap_err();
        assert!(e.to_string().starts_with("invalid hooks[0].url"), "{e}");
        let e = validate_hooks(&[hook("a", "http://x.test/"), hook("a", "http://y.test/")])
            .unwrap_err();
        assert!(e.to_string().starts_with("invalid hooks[1].name"), "{e}");
        let mut slow = hook("a", "http://x.test/");
        slow.timeout_secs = 61;
        assert!(
            slow.validate()
                .unwrap_err()
                .to_string()
                .contains("timeout_secs")
        );
        assert!(HookPoint::Step.gates() && !HookPoint::Rollback.gates());
        let text = serde_json::to_string(&HookPoint::ConfirmPromotion).unwrap();
        assert_eq!(text, "\"confirm_promotion\"");
    }
}

//! Configuration of the five deployment strategies.
//!
//! JSON is internally tagged by `type`:
//! `{"type": "canary", "steps": [10, 25, 50, 100], "evaluation_period_secs": 300}`.
//! Every field has a default, and unknown fields are refused.

use std::collections::BTreeSet;
use std::time::Duration;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::Region;
use crate::error::{Error, Result};

/// The longest wait, evaluation period or delay accepted: 30 days.
pub const MAX_PERIOD_SECS: u64 = 30 * 24 * 3600;

/// How a deployment moves traffic and nodes to the new version.
///
/// Not `#[non_exhaustive]`: the strategies of `hotswap-control` match it
/// exhaustively, so a new strategy cannot be added without its
/// implementation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StrategyConfig {
    /// Shift a growing share of traffic to the new version.
    Canary(CanaryConfig),
    /// Load the new version beside the old, then switch all traffic at once.
    BlueGreen(BlueGreenConfig),
    /// Replace the version node by node in batches.
    Rolling(RollingConfig),
    /// Run an inner strategy region by region.
    Regional(RegionalConfig),
    /// Split traffic between variants to compare them.
    AbTest(AbTestConfig),
}

impl StrategyConfig {
    /// The strategy's name as used in metrics and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Canary(_) => "canary",
            Self::BlueGreen(_) => "blue_green",
            Self::Rolling(_) => "rolling",
            Self::Regional(_) => "regional",
            Self::AbTest(_) => "ab_test",
        }
    }

    /// Refuse inconsistent configuration, naming the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Canary(c) => c.validate(),
            Self::BlueGreen(c) => c.validate(),
            Self::Rolling(c) => c.validate(),
            Self::Regional(c) => c.validate(),
            Self::AbTest(c) => c.validate(),
        }
        .map_err(|e| e.within("strategy"))
    }
}

impl Default for StrategyConfig {
    fn default() -> Self {
        Self::Canary(CanaryConfig::default())
    }
}

fn period(field: &str, secs: u64, min: u64) -> Result<()> {
    if secs < min || secs > MAX_PERIOD_SECS {
        return Err(Error::invalid(
            field,
            format!("{secs} s is outside the allowed range {min}..={MAX_PERIOD_SECS} s"),
        ));
    }
    Ok(())
}

/// Canary: traffic-weight steps with an evaluation period per step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CanaryConfig {
    /// Percent of traffic on the new version at each step; strictly
    /// increasing, each 1..=100, ending at 100.
    pub steps: Vec<u8>,
    /// How long each step runs before its health is judged, in seconds.
    pub evaluation_period_secs: u64,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        Self {
            steps: vec![10, 25, 50, 100],
            evaluation_period_secs: 300,
        }
    }
}

impl CanaryConfig {
    /// Canary with these steps and period.
    pub fn new(steps: Vec<u8>, evaluation_period: Duration) -> Self {
        Self {
            steps,
            evaluation_period_secs: evaluation_period.as_secs(),
        }
    }

    /// Refuse empty, unordered or out-of-range steps.
    pub fn validate(&self) -> Result<()> {
        if self.steps.is_empty() {
            return Err(Error::invalid("steps", "name at least one step"));
        }
        if self.steps.len() > 100 {
            return Err(Error::invalid("steps", "at most 100 steps are allowed"));
        }
        let mut previous = 0u8;
        for (i, &step) in self.steps.iter().enumerate() {
            if step == 0 || step > 100 {
                return Err(Error::invalid(
                    format!("steps[{i}]"),
                    format!("{step} is outside 1..=100 percent"),
                ));
            }
            if step <= previous {
                return Err(Error::invalid(
                    format!("steps[{i}]"),
                    format!(
                        "{step} does not exceed the step before it ({previous}); steps must increase"
                    ),
                ));
            }
            previous = step;
        }
        if previous != 100 {
            return Err(Error::invalid(
                "steps",
                format!("the last step is {previous}, it must be 100"),
            ));
        }
        period("evaluation_period_secs", self.evaluation_period_secs, 1)
    }
}

/// Blue-green: green loaded everywhere, then one switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BlueGreenConfig {
    /// Let callers reach green by pinning its version before the switch.
    pub preview: bool,
    /// Switch automatically this many seconds after green is loaded
    /// everywhere and healthy; `None` waits for a manual promotion.
    pub auto_promote_after_secs: Option<u64>,
    /// Keep blue loaded this long after the switch, for instant switch-back.
    pub scale_down_delay_secs: u64,
}

impl Default for BlueGreenConfig {
    fn default() -> Self {
        Self {
            preview: true,
            auto_promote_after_secs: None,
            scale_down_delay_secs: 600,
        }
    }
}

impl BlueGreenConfig {
    /// Refuse out-of-range delays.
    pub fn validate(&self) -> Result<()> {
        if let Some(secs) = self.auto_promote_after_secs {
            period("auto_promote_after_secs", secs, 0)?;
        }
        period("scale_down_delay_secs", self.scale_down_delay_secs, 0)
    }
}

/// How many nodes a rolling batch takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchSize {
    /// A fixed number of nodes.
    Count(u32),
    /// A percentage of the target nodes, rounded up.
    Percent(u8),
}

impl BatchSize {
    /// Nodes per batch for `total` target nodes (at least 1 when total > 0).
    pub fn nodes(self, total: usize) -> usize {
        let n = match self {
            Self::Count(c) => c as usize,
            Self::Percent(p) => (total * usize::from(p)).div_ceil(100),
        };
        if total == 0 { 0 } else { n.clamp(1, total) }
    }
}

/// Rolling: replace the version in batches of nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RollingConfig {
    /// Nodes per batch.
    pub batch: BatchSize,
    /// Pause (instead of rolling back) when a batch turns unhealthy.
    pub pause_on_failure: bool,
    /// How long each batch runs before its health is judged, in seconds.
    pub evaluation_period_secs: u64,
}

impl Default for RollingConfig {
    fn default() -> Self {
        Self {
            batch: BatchSize::Percent(25),
            pause_on_failure: true,
            evaluation_period_secs: 60,
        }
    }
}

impl RollingConfig {
    /// Refuse empty batches.
    pub fn validate(&self) -> Result<()> {
        match self.batch {
            BatchSize::Count(0) => {
                return Err(Error::invalid("batch.count", "must be at least 1"));
            }
            BatchSize::Percent(p) if p == 0 || p > 100 => {
                return Err(Error::invalid(
                    "batch.percent",
                    format!("{p} is outside 1..=100"),
                ));
            }
            _ => {}
        }
        period("evaluation_period_secs", self.evaluation_period_secs, 0)
    }
}

/// Regional: an inner strategy run one region at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegionalConfig {
    /// Regions in rollout order; each once.
    pub regions: Vec<Region>,
    /// The strategy used inside each region (not regional itself).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub inner: Box<StrategyConfig>,
    /// Wait between finishing one region and starting the next, seconds;
    /// the regions done so far must stay healthy through it.
    #[serde(default = "default_inter_region_wait")]
    pub inter_region_wait_secs: u64,
    /// What a failing region rolls back.
    #[serde(default)]
    pub on_failure: RegionalRollback,
}

/// What a regional rollout rolls back when a region fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegionalRollback {
    /// Only the failing region; regions already done keep the new version.
    #[default]
    Region,
    /// Every region.
    Global,
}

fn default_inter_region_wait() -> u64 {
    600
}

impl RegionalConfig {
    /// Regional rollout over `regions` with a default canary inside.
    pub fn new(regions: Vec<Region>) -> Self {
        Self {
            regions,
            inner: Box::default(),
            inter_region_wait_secs: default_inter_region_wait(),
            on_failure: RegionalRollback::Region,
        }
    }

    /// Refuse empty or repeated regions and nested regional strategies.
    pub fn validate(&self) -> Result<()> {
        if self.regions.is_empty() {
            return Err(Error::invalid("regions", "name at least one region"));
        }
        let mut seen = BTreeSet::new();
        for (i, r) in self.regions.iter().enumerate() {
            if !seen.insert(r) {
                return Err(Error::invalid(
                    format!("regions[{i}]"),
                    format!("region {r} is listed twice"),
                ));
            }
        }
        if matches!(*self.inner, StrategyConfig::Regional(_)) {
            return Err(Error::invalid(
                "inner",
                "a regional strategy cannot contain another regional strategy",
            ));
        }
        self.inner.validate().map_err(|e| match e {
            Error::Invalid { field, reason } => Error::Invalid {
                field: format!("inner{}", field.trim_start_matches("strategy")),
                reason,
            },
            other => other,
        })?;
        period("inter_region_wait_secs", self.inter_region_wait_secs, 0)
    }
}

/// How an A/B test assigns calls to variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SplitBy {
    /// Each call independently by variant weight.
    Weight,
    /// By the value of a request header naming the variant; calls without
    /// it fall back to the weights.
    Header {
        /// Header name (case-insensitive), e.g. `x-variant`.
        name: String,
    },
    /// By a hash of the call's routing key, weighted, so one key always
    /// sees one variant.
    Key,
}

/// One arm of an A/B test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AbVariant {
    /// Variant name, e.g. `a`, `control`.
    pub name: String,
    /// The module version it runs.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: Version,
    /// Percent of calls it gets (weights sum to 100).
    pub weight: u8,
}

/// A/B test: variants compared side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AbTestConfig {
    /// Two or more variants.
    pub variants: Vec<AbVariant>,
    /// How calls are assigned.
    #[serde(default = "default_split")]
    pub split: SplitBy,
    /// How long the test runs before a winner is judged, seconds;
    /// `None` runs until promoted or aborted.
    #[serde(default)]
    pub duration_secs: Option<u64>,
}

fn default_split() -> SplitBy {
    SplitBy::Weight
}

impl AbTestConfig {
    /// A test over `variants`, split by weight.
    pub fn new(variants: Vec<AbVariant>) -> Self {
        Self {
            variants,
            split: SplitBy::Weight,
            duration_secs: None,
        }
    }

    /// Refuse too few, duplicate or badly weighted variants.
    pub fn validate(&self) -> Result<()> {
        if self.variants.len() < 2 {
            return Err(Error::invalid("variants", "name at least two variants"));
        }
        let mut names = BTreeSet::new();
        let mut versions = BTreeSet::new();
        let mut total = 0u32;
        for (i, v) in self.variants.iter().enumerate() {
            let field = |f: &str| format!("variants[{i}].{f}");
            super::names::check_word_pattern(&field("name"), &v.name, 32, &['-', '_'], false)?;
            if !names.insert(&v.name) {
                return Err(Error::invalid(
                    field("name"),
                    format!("{} is used twice", v.name),
                ));
            }
            if !versions.insert(&v.version) {
                return Err(Error::invalid(
                    field("version"),
                    format!("{} is used by two variants", v.version),
                ));
            }
            if v.weight > 100 {
                return Err(Error::invalid(field("weight"), "must be at most 100"));
            }
            total += u32::from(v.weight);
        }
        if total != 100 {
            return Err(Error::invalid(
                "variants",
                format!("weights sum to {total}, they must sum to 100"),
            ));
        }
        if let SplitBy::Header { name } = &self.split {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || name.len() > 128 || !name.chars().all(token) {
                return Err(Error::invalid(
                    "split.name",
                    format!("{name:?} is not an HTTP header name"),
                ));
            }
        }
        if let Some(secs) = self.duration_secs {
            period("duration_secs", secs, 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &StrategyConfig) -> String {
        s.validate().unwrap_err().to_string()
    }

    #[test]
    fn canary_json_defaults_and_validation() {
        let c: StrategyConfig = serde_json::from_str(r#"{"type":"canary"}"#).unwrap();
        assert_eq!(c, StrategyConfig::default());
        c.validate().unwrap();
        let c: StrategyConfig =
            serde_json::from_str(r#"{"type":"canary","steps":[5,50,40,100]}"#).unwrap();
        assert_eq!(
            err(&c),
            "invalid strategy.steps[2]: 40 does not exceed the step before it (50); steps must increase"
        );
        let c: StrategyConfig =
            serde_json::from_str(r#"{"type":"canary","steps":[5,50]}"#).unwrap();
        assert!(err(&c).contains("must be 100"));
        let e =
            serde_json::from_str::<StrategyConfig>(r#"{"type":"canary","stepz":[1]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `stepz`"), "{e}");
        let e = serde_json::from_str::<StrategyConfig>(r#"{"type":"linear"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `linear`"), "{e}");
    }

    #[test]
    fn regional_refuses_nesting_and_repeats() {
        let eu = Region::new("eu").unwrap();
        let mut r = RegionalConfig::new(vec![eu.clone(), eu.clone()]);
        assert_eq!(
            err(&StrategyConfig::Regional(r.clone())),
            "invalid strategy.regions[1]: region eu is listed twice"
        );
        r.regions.pop();
        r.inner = Box::new(StrategyConfig::Regional(RegionalConfig::new(vec![eu])));
        assert!(
            err(&StrategyConfig::Regional(r.clone())).contains("cannot contain another regional")
        );
        r.inner = Box::new(StrategyConfig::Canary(CanaryConfig::new(
            vec![50],
            Duration::from_secs(1),
        )));
        assert_eq!(
            err(&StrategyConfig::Regional(r)),
            "invalid strategy.inner.steps: the last step is 50, it must be 100"
        );
    }

    #[test]
    fn ab_and_rolling_validation() {
        let v = |n: &str, major, w| AbVariant {
            name: n.into(),
            version: Version::new(major, 0, 0),
            weight: w,
        };
        let ab = AbTestConfig::new(vec![v("a", 1, 50), v("b", 2, 40)]);
        assert_eq!(
            err(&StrategyConfig::AbTest(ab)),
            "invalid strategy.variants: weights sum to 90, they must sum to 100"
        );
        let ab = AbTestConfig::new(vec![v("a", 1, 50), v("b", 1, 50)]);
        assert!(err(&StrategyConfig::AbTest(ab)).contains("variants[1].version"));
        let mut ab = AbTestConfig::new(vec![v("a", 1, 50), v("b", 2, 50)]);
        ab.split = SplitBy::Header {
            name: "x variant".into(),
        };
        assert!(err(&StrategyConfig::AbTest(ab)).contains("split.name"));

        let r = RollingConfig {
            batch: BatchSize::Count(0),
            ..RollingConfig::default()
        };
        assert_eq!(
            err(&StrategyConfig::Rolling(r)),
            "invalid strategy.batch.count: must be at least 1"
        );
        assert_eq!(BatchSize::Percent(25).nodes(10), 3);
        assert_eq!(BatchSize::Percent(1).nodes(3), 1);
        assert_eq!(BatchSize::Count(50).nodes(3), 3);
        assert_eq!(BatchSize::Count(5).nodes(0), 0);
        let json = serde_json::to_string(&RollingConfig::default()).unwrap();
        assert_eq!(
            json,
            r#"{"batch":{"percent":25},"pause_on_failure":true,"evaluation_period_secs":60}"#
        );
    }
}

//! Per-module-version call statistics and their latency histogram.

use std::fmt;

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ModuleName;
use crate::error::{Error, Result};

/// The largest latency recorded exactly: one hour, in microseconds. Larger
/// values are clamped to it.
pub const MAX_TRACKED_LATENCY_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, mergeable across heartbeats and
/// nodes, with two significant digits of precision (values within 1 %),
/// which keeps one histogram near 26 KiB.
///
/// JSON: `{"unit": "us", "counts": [[value, count], ...]}`, one pair per
/// non-empty bucket (the bucket's highest equivalent value), so it stays small
/// and readable and deserializes to the same buckets.
#[derive(Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        // 1 µs to one hour, 2 significant figures: the bounds are constants
        // hdrhistogram accepts.
        #[allow(clippy::expect_used)]
        let h = Histogram::new_with_bounds(1, MAX_TRACKED_LATENCY_US, 2)
            .expect("constant histogram bounds are valid");
        Self(h)
    }

    /// Record one call that took `micros` microseconds.
    pub fn record(&mut self, micros: u64) {
        self.0
            .saturating_record(micros.clamp(1, MAX_TRACKED_LATENCY_US));
    }

    /// Record `count` calls at `micros`.
    pub fn record_n(&mut self, micros: u64, count: u64) {
        // Values are clamped into the histogram's range, so this cannot fail.
        let _ = self
            .0
            .record_n(micros.clamp(1, MAX_TRACKED_LATENCY_US), count);
    }

    /// Add every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latency at quantile `q` (0.0..=1.0) in microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q.clamp(0.0, 1.0))
        }
    }

    /// The samples recorded after `earlier` was taken from this same
    /// cumulative histogram; everything when `earlier` has samples this one
    /// lacks (the source was reset, say by a node restart).
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut window = self.0.clone();
        match window.subtract(&earlier.0) {
            Ok(()) => Self(window),
            Err(_) => self.clone(),
        }
    }

    /// The non-empty buckets as `(highest equivalent value, count)`.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|v| {
                (
                    self.0.highest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                )
            })
            .collect()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.buckets() == other.buckets()
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("len", &self.len())
            .field("p50_us", &self.quantile_us(0.5))
            .field("p99_us", &self.quantile_us(0.99))
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistogramRepr {
    unit: String,
    counts: Vec<(u64, u64)>,
}

impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HistogramRepr {
            unit: "us".into(),
            counts: self.buckets(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = HistogramRepr::deserialize(d)?;
        if repr.unit != "us" {
            return Err(serde::de::Error::custom(format!(
                "latency histogram unit must be \"us\", got {:?}",
                repr.unit
            )));
        }
        let mut h = Self::new();
        for (value, count) in repr.counts {
            if value == 0 || value > MAX_TRACKED_LATENCY_US.saturating_mul(2) {
                return Err(serde::de::Error::custom(format!(
                    "latency histogram value {value} is outside 1..={MAX_TRACKED_LATENCY_US}"
                )));
            }
            h.record_n(value, count);
        }
        Ok(h)
    }
}

/// Call statistics of one module version on one node, cumulative since the
/// version was loaded; a heartbeat carries them and the control plane merges
/// them across nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct VersionStats {
    /// Module name.
    pub module: ModuleName,
    /// Module version.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: semver::Version,
    /// Calls completed (successful or not).
    pub calls: u64,
    /// Calls that failed for any reason (traps and timeouts included).
    pub errors: u64,
    /// Calls that trapped.
    pub traps: u64,
    /// Calls interrupted by their timeout.
    pub timeouts: u64,
    /// Latency of completed calls.
    pub latency: LatencyHistogram,
}

impl VersionStats {
    /// Empty statistics for `module@version`.
    pub fn new(module: ModuleName, version: semver::Version) -> Self {
        Self {
            module,
            version,
            calls: 0,
            errors: 0,
            traps: 0,
            timeouts: 0,
            latency: LatencyHistogram::new(),
        }
    }

    /// Add `other`'s counts and samples; both must describe the same version.
    pub fn merge(&mut self, other: &VersionStats) -> Result<()> {
        if self.module != other.module || self.version != other.version {
            return Err(Error::invalid(
                "stats",
                format!(
                    "cannot merge statistics of {}@{} into {}@{}",
                    other.module, other.version, self.module, self.version
                ),
            ));
        }
        self.calls = self.calls.saturating_add(other.calls);
        self.errors = self.errors.saturating_add(other.errors);
        self.traps = self.traps.saturating_add(other.traps);
        self.timeouts = self.timeouts.saturating_add(other.timeouts);
        self.latency.merge(&other.latency);
        Ok(())
    }

    /// The calls counted after `baseline` was taken from these same
    /// cumulative statistics; all of them when `baseline` counted more than
    /// these (the node restarted and its counters began again).
    pub fn since(&self, baseline: &VersionStats) -> VersionStats {
        if baseline.calls > self.calls
            || baseline.errors > self.errors
            || baseline.traps > self.traps
            || baseline.timeouts > self.timeouts
        {
            return self.clone();
        }
        VersionStats {
            module: self.module.clone(),
            version: self.version.clone(),
            calls: self.calls - baseline.calls,
            errors: self.errors - baseline.errors,
            traps: self.traps - baseline.traps,
            timeouts: self.timeouts - baseline.timeouts,
            latency: self.latency.since(&baseline.latency),
        }
    }

    /// Errors per call, 0.0 when there were no calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }

    /// Refuse counts that cannot be true.
    pub fn validate(&self) -> Result<()> {
        if self.errors > self.calls {
            return Err(Error::invalid(
                "errors",
                format!("{} errors exceed {} calls", self.errors, self.calls),
            ));
        }
        if self.traps.saturating_add(self.timeouts) > self.errors {
            return Err(Error::invalid(
                "traps",
                "traps plus timeouts exceed errors; every trap and timeout is an error",
            ));
        }
        if self.latency.len() > self.calls {
            return Err(Error::invalid(
                "latency",
                format!(
                    "{} latency samples exceed {} calls",
                    self.latency.len(),
                    self.calls
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_merges_and_round_trips() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        for v in 1..=1000 {
            a.record(v);
        }
        b.record_n(50_000, 10);
        a.merge(&b);
        assert_eq!(a.len(), 1010);
        let p99 = a.quantile_us(0.995);
        assert!((49_500..=50_500).contains(&p99), "{p99}");
        let json = serde_json::to_string(&a).unwrap();
        let back: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(a, back);
        assert_eq!(back.len(), 1010);
    }

    #[test]
    fn stats_merge_and_validate() {
        let name = ModuleName::new("echo").unwrap();
        let v = semver::Version::new(1, 0, 0);
        let mut s = VersionStats::new(name.clone(), v.clone());
        let mut t = VersionStats::new(name.clone(), v);
        t.calls = 10;
        t.errors = 2;
        t.traps = 1;
        t.latency.record_n(100, 10);
        s.merge(&t).unwrap();
        s.merge(&t).unwrap();
        assert_eq!((s.calls, s.errors, s.latency.len()), (20, 4, 20));
        assert!((s.error_rate() - 0.2).abs() < 1e-9);
        s.validate().unwrap();
        s.traps = 5;
        assert!(s.validate().unwrap_err().to_string().contains("traps"));
        let other = VersionStats::new(name, semver::Version::new(2, 0, 0));
        assert!(s.merge(&other).is_err());
    }
}

#[cfg(feature = "openapi")]
mod schema {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{RefOr, Schema};

    impl utoipa::PartialSchema for super::LatencyHistogram {
        fn schema() -> RefOr<Schema> {
            let int = || {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0))
                    .build()
            };
            let pair = ArrayBuilder::new()
                .prefix_items([int(), int()])
                .min_items(Some(2))
                .max_items(Some(2))
                .build();
            ObjectBuilder::new()
                .description(Some(
                    "Latency histogram: `counts` holds [microseconds, count] pairs",
                ))
                .property(
                    "unit",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .enum_values(Some(["us"])),
                )
                .required("unit")
                .property(
                    "counts",
                    ArrayBuilder::new().items(RefOr::T(Schema::from(pair))),
                )
                .required("counts")
                .build()
                .into()
        }
    }

    impl utoipa::ToSchema for super::LatencyHistogram {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("LatencyHistogram")
        }
    }
}

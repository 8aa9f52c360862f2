//! The metrics of one loaded version: a call counter per outcome and the
//! call-duration histogram, registered once when the version loads so a
//! call only increments handles (no label strings on the hot path).

use std::time::Duration;

use metrics::{Counter, Histogram};
use semver::Version;

use hotswap_core::domain::ModuleName;
use hotswap_core::observe::{CALL_OUTCOMES, FUNCTION_INVOKE_DURATION, FUNCTIONS_INVOKED};

#[derive(Debug)]
pub(crate) struct VersionMetrics {
    calls: Vec<Counter>,
    duration: Histogram,
}

impl VersionMetrics {
    pub(crate) fn new(module: &ModuleName, version: &Version) -> Self {
        let (m, v) = (module.to_string(), version.to_string());
        Self {
            calls: CALL_OUTCOMES
                .iter()
                .map(|outcome| {
                    metrics::counter!(FUNCTIONS_INVOKED, "module" => m.clone(), "version" => v.clone(), "outcome" => *outcome)
                })
                .collect(),
            duration: metrics::histogram!(FUNCTION_INVOKE_DURATION, "module" => m, "version" => v),
        }
    }

    /// Count a call of outcome `index` (into [`CALL_OUTCOMES`]) that took
    /// `elapsed`.
    pub(crate) fn record(&self, index: usize, elapsed: Duration) {
        if let Some(c) = self.calls.get(index) {
            c.increment(1);
        }
        self.duration.record(elapsed.as_secs_f64());
    }
}

//! Per-version call statistics, updated on the hot path.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use semver::Version;

use crate::Error;
use crate::domain::{LatencyHistogram, ModuleName, VersionStats};

/// Counters are atomics; the histogram takes a short lock per call.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    in_flight: AtomicU64,
    calls: AtomicU64,
    errors: AtomicU64,
    traps: AtomicU64,
    timeouts: AtomicU64,
    latency: Mutex<LatencyHistogram>,
}

/// Counts a call as in flight until dropped, even if the caller gives up.
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    /// Count a call as started.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Calls running now.
    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Count one finished call.
    pub(crate) fn record<T>(&self, took: Duration, outcome: &Result<T, Error>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = outcome {
            self.errors.fetch_add(1, Ordering::Relaxed);
            match e {
                Error::Trap { .. }
                | Error::MemoryLimitExceeded { .. }
                | Error::FuelExhausted { .. } => {
                    self.traps.fetch_add(1, Ordering::Relaxed);
                }
                Error::Timeout { .. } => {
                    self.timeouts.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(micros);
    }

    /// A snapshot for a heartbeat.
    pub(crate) fn snapshot(&self, module: &ModuleName, version: &Version) -> VersionStats {
        let mut s = VersionStats::new(module.clone(), version.clone());
        // Read the histogram first: a call recorded between the reads then
        // shows in the counts but not the histogram, never the reverse, so
        // the snapshot stays valid (samples <= calls).
        s.latency = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        s.traps = self.traps.load(Ordering::Relaxed);
        s.timeouts = self.timeouts.load(Ordering::Relaxed);
        s.errors = self
            .errors
            .load(Ordering::Relaxed)
            .max(s.traps + s.timeouts);
        s.calls = self
            .calls
            .load(Ordering::Relaxed)
            .max(s.errors)
            .max(s.latency.len());
        s
    }
}

//! Per-version call statistics, updated on the hot path.
//!
//! Counters and histograms are sharded by thread, each shard on its own
//! cache line, so callers on different cores do not contend; a snapshot
//! adds the shards up.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use semver::Version;

use hotswap_core::Error;
use hotswap_core::domain::{LatencyHistogram, ModuleName, VersionStats};

/// One shard, aligned so two shards never share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    /// Started minus finished on this shard; a call may start on one
    /// thread and finish on another, so one shard can go negative.
    in_flight: AtomicI64,
    calls: AtomicU64,
    errors: AtomicU64,
    traps: AtomicU64,
    timeouts: AtomicU64,
    latency: Mutex<LatencyHistogram>,
}

#[derive(Debug)]
pub(crate) struct Counters {
    shards: Box<[Shard]>,
}

impl Default for Counters {
    fn default() -> Self {
        let n = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .clamp(1, 16)
            .next_power_of_two();
        Self {
            shards: (0..n).map(|_| Shard::default()).collect(),
        }
    }
}

/// This thread's shard index (threads are numbered in order of first use).
fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|i| {
        if i.get() == usize::MAX {
            i.set(NEXT.fetch_add(1, Relaxed));
        }
        i.get()
    })
}

/// Counts a call as in flight until dropped, even if the caller gives up.
pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.shard().in_flight.fetch_sub(1, Relaxed);
    }
}

impl Counters {
    fn shard(&self) -> &Shard {
        &self.shards[thread_index() & (self.shards.len() - 1)]
    }

    /// Count a call as started.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.shard().in_flight.fetch_add(1, Relaxed);
        InFlight(self)
    }

    /// Calls running now.
    pub(crate) fn in_flight(&self) -> u64 {
        let sum: i64 = self.shards.iter().map(|s| s.in_flight.load(Relaxed)).sum();
        u64::try_from(sum).unwrap_or(0)
    }

    /// Count one finished call.
    pub(crate) fn record<T>(&self, took: Duration, outcome: &Result<T, Error>) {
        self.count(took, outcome.is_err(), outcome.as_ref().err());
    }

    /// Count one finished call that `failed` (an error, or an answer that
    /// counts as one, like a 5xx response), with the error if there was one.
    pub(crate) fn count(&self, took: Duration, failed: bool, error: Option<&Error>) {
        let shard = self.shard();
        shard.calls.fetch_add(1, Relaxed);
        if failed {
            shard.errors.fetch_add(1, Relaxed);
        }
        if let Some(e) = error {
            match e {
                Error::Trap { .. }
                | Error::MemoryLimitExceeded { .. }
                | Error::FuelExhausted { .. } => {
                    shard.traps.fetch_add(1, Relaxed);
                }
                Error::Timeout { .. } => {
                    shard.timeouts.fetch_add(1, Relaxed);
                }
                _ => {}
            }
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        shard
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(micros);
    }

    /// A snapshot for a heartbeat.
    pub(crate) fn snapshot(&self, module: &ModuleName, version: &Version) -> VersionStats {
        let mut s = VersionStats::new(module.clone(), version.clone());
        for shard in self.shards.iter() {
            // The histogram first: a call recorded meanwhile then shows in
            // the counts but not the histogram, never the reverse, so the
            // snapshot stays valid (samples <= calls).
            s.latency
                .merge(&shard.latency.lock().unwrap_or_else(|p| p.into_inner()));
            s.traps += shard.traps.load(Relaxed);
            s.timeouts += shard.timeouts.load(Relaxed);
            s.errors += shard.errors.load(Relaxed);
            s.calls += shard.calls.load(Relaxed);
        }
        s.errors = s.errors.max(s.traps + s.timeouts);
        s.calls = s.calls.max(s.errors).max(s.latency.len());
        s
    }
}

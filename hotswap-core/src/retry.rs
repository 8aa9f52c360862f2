//! The one retry policy of hotswap, for everything it retries (loads on
//! nodes, HTTP requests): bounded attempts with exponential backoff and
//! jitter from [backon](https://docs.rs/backon), sleeping on the injected
//! [`Clock`], so a [`ManualClock`](crate::clock::ManualClock) drives the
//! waits in tests and simulations.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};

use crate::clock::{Clock, Sleep};

/// How often and how patiently an operation is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each one after.
    pub initial_backoff: Duration,
    /// The longest wait between attempts, before jitter.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// `attempts` in all, waiting `initial_backoff` (doubling, at most
    /// `max_backoff`) between them.
    pub fn new(attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            attempts,
            initial_backoff,
            max_backoff,
        }
    }

    /// The waits between attempts, one fewer than the attempts: the
    /// doubled backoff, capped at `max_backoff`, plus a random jitter of up
    /// to as much again, so many callers retrying at once spread out.
    pub fn waits(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        self.builder().build()
    }

    fn builder(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.attempts.max(1) as usize - 1)
            .with_jitter()
    }

    /// Run `op` until it succeeds, until `retryable` says its error is
    /// final, or until the attempts are spent; the waits sleep on `clock`.
    /// Returns the last outcome.
    pub async fn run<T, E, F, Fut>(
        &self,
        clock: &Arc<dyn Clock>,
        op: F,
        retryable: impl FnMut(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        op.retry(self.builder())
            .sleep(ClockSleeper(clock.clone()))
            .when(retryable)
            .await
    }
}

/// backon's sleeper over a hotswap [`Clock`].
struct ClockSleeper(Arc<dyn Clock>);

impl backon::Sleeper for ClockSleeper {
    type Sleep = Sleep;

    fn sleep(&self, dur: Duration) -> Sleep {
        self.0.sleep(dur)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn waits_double_to_their_cap_with_jitter() {
        let p = RetryPolicy::new(6, Duration::from_millis(100), Duration::from_millis(500));
        for _ in 0..50 {
            let waits: Vec<Duration> = p.waits().collect();
            assert_eq!(waits.len(), 5, "one wait between each two attempts");
            for (w, base) in waits.iter().zip([100u64, 200, 400, 500, 500]) {
                let base = Duration::from_millis(base);
                assert!(
                    *w >= base && *w <= base * 2,
                    "{w:?} outside {base:?}..{:?}",
                    base * 2
                );
            }
        }
        assert_eq!(
            RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
                .waits()
                .count(),
            0
        );
        assert_eq!(
            RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)
                .waits()
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn run_sleeps_on_the_clock_and_stops_at_a_final_error() {
        let manual = ManualClock::new(chrono::Utc::now());
        let clock: Arc<dyn Clock> = Arc::new(manual.clone());
        let p = RetryPolicy::new(3, Duration::from_secs(60), Duration::from_secs(60));
        let tries = Arc::new(AtomicU32::new(0));
        let counted = tries.clone();
        let task = tokio::spawn(async move {
            p.run(
                &clock,
                || {
                    let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { if n < 3 { Err(n) } else { Ok(n) } }
                },
                |_| true,
            )
            .await
        });
        // Each wait is a minute or two on the manual clock: nothing real.
        for _ in 0..2 {
            while manual.sleepers() == 0 {
                tokio::task::yield_now().await;
            }
            manual.advance(Duration::from_secs(121));
        }
        assert_eq!(task.await.unwrap(), Ok(3));
        assert_eq!(tries.load(Ordering::SeqCst), 3);

        let clock: Arc<dyn Clock> = Arc::new(manual.clone());
        let tries = AtomicU32::new(0);
        let final_error = p
            .run(
                &clock,
                || {
                    tries.fetch_add(1, Ordering::SeqCst);
                    async { Err::<(), _>("final") }
                },
                |e| *e != "final",
            )
            .await;
        assert_eq!(
            (final_error, tries.load(Ordering::SeqCst)),
            (Err("final"), 1)
        );
    }
}

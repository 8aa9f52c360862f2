//! Time as a dependency: the system clock in production, a manual clock in
//! tests and simulations, so a rollout over thousands of simulated nodes
//! runs in milliseconds and gives the same event log every time.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time and of timers.
///
/// Contract: `now` never goes backwards for one clock; `sleep(d)` completes
/// once `now` has advanced by at least `d` from the call.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Complete after `duration` on this clock.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// Wall-clock time and tokio timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that moves only when told to.
///
/// Sleepers wake, in deadline order, when [`ManualClock::advance`] or
/// [`ManualClock::set`] moves the time past their deadline.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

struct ManualState {
    now: DateTime<Utc>,
    next_seq: u64,
    sleepers: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                now: start,
                next_seq: 0,
                sleepers: BTreeMap::new(),
            })),
        }
    }

    /// A clock standing at 2026-01-01T00:00:00Z.
    pub fn at_epoch() -> Self {
        Self::new(DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    fn state(&self) -> MutexGuard<'_, ManualState> {
        // A panic while holding this lock leaves consistent data (every
        // update is a single assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Move the time forward by `by`, waking every sleeper it passes.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let target = {
            let s = self.state();
            s.now.checked_add_signed(by).unwrap_or(s.now)
        };
        self.set(target);
    }

    /// Move the time to `to` (ignored if it is in the past), waking every
    /// sleeper whose deadline is reached.
    pub fn set(&self, to: DateTime<Utc>) {
        let woken = {
            let mut s = self.state();
            if to > s.now {
                s.now = to;
            }
            let now = s.now;
            let later = s.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut s.sleepers, later)
        };
        for (_, tx) in woken {
            let _ = tx.send(());
        }
    }

    /// Number of sleepers waiting.
    pub fn sleepers(&self) -> usize {
        self.state().sleepers.len()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        f.debug_struct("ManualClock")
            .field("now", &s.now)
            .field("sleepers", &s.sleepers.len())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.state().now
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let rx = {
            let mut s = self.state();
            let by = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
            let deadline = s
                .now
                .checked_add_signed(by)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if deadline <= s.now {
                return Box::pin(std::future::ready(()));
            }
            let (tx, rx) = oneshot::channel();
            let seq = s.next_seq;
            s.next_seq += 1;
            s.sleepers.insert((deadline, seq), tx);
            rx
        };
        Box::pin(async move {
            // A dropped sender means the clock is gone; then nobody can
            // advance it, and finishing the sleep is the useful answer.
            let _ = rx.await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_in_deadline_order() {
        let clock = ManualClock::at_epoch();
        let start = clock.now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for secs in [30u64, 10, 20] {
            let (c, o) = (clock.clone(), order.clone());
            let sleep = c.sleep(Duration::from_secs(secs));
            tasks.push(tokio::spawn(async move {
                sleep.await;
                o.lock().unwrap().push(secs);
            }));
        }
        assert_eq!(clock.sleepers(), 3);
        clock.advance(Duration::from_secs(15));
        tasks.remove(1).await.unwrap();
        assert_eq!(*order.lock().unwrap(), vec![10]);
        assert_eq!(clock.sleepers(), 2);
        clock.advance(Duration::from_secs(15));
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(order.lock().unwrap().len(), 3);
        assert_eq!(clock.now() - start, chrono::Duration::seconds(30));
        clock.set(start);
        assert_eq!(
            clock.now() - start,
            chrono::Duration::seconds(30),
            "time never goes back"
        );
        clock.sleep(Duration::ZERO).await;
    }
}

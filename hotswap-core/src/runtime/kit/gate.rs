//! Concurrency limits: a count of instance slots with a lock-free fast
//! path, and a bounded queue of waiting calls woken by `Notify` when a slot
//! is released. Nothing polls.
//!
//! Written by hand rather than on `tokio::sync::Semaphore` because every
//! call passes two of these gates on its hot path: with tokio's semaphore
//! in their place, `benches/runtime.rs` (`call_core_add`, paired against
//! raw wasmtime in one run) went from 1.003x to 1.051x for `invoke_now` and
//! from 1.076x to 1.145x with values, IQRs apart (benches/README.md,
//! 2026-12-01).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use tokio::sync::Notify;

use crate::error::{Error, LimitKind, Result};

#[derive(Debug)]
/// A count of instance slots and a bounded queue of calls waiting for one.
pub struct Gate {
    what: LimitKind,
    capacity: u32,
    in_use: AtomicU32,
    waiting: AtomicU32,
    queue_capacity: u32,
    released: Notify,
}

/// A taken slot; released on drop.
#[derive(Debug)]
pub struct Slot<'a>(&'a Gate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A taken slot that owns its gate, for work that outlives the caller (an
/// HTTP response still streaming); released on drop.
#[derive(Debug)]
pub struct OwnedSlot(Arc<Gate>);

impl Drop for OwnedSlot {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Decrements the waiter count when a waiting call stops waiting, whether
/// it got a slot or was cancelled.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl Gate {
    /// `capacity` slots and room for `queue_capacity` waiting calls;
    /// `what` names the limit in `LimitExceeded` errors.
    pub fn new(what: LimitKind, capacity: u32, queue_capacity: u32) -> Self {
        Self {
            what,
            capacity,
            in_use: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            queue_capacity,
            released: Notify::new(),
        }
    }

    fn release(&self) {
        self.in_use.fetch_sub(1, SeqCst);
        // SeqCst on both sides: a waiter either sees this release in its
        // re-check, or is registered before this load and gets notified.
        if self.waiting.load(SeqCst) > 0 {
            self.released.notify_one();
        }
    }

    /// A slot as [`Gate::enter`] gives it, owning the gate.
    pub async fn enter_owned(self: &Arc<Self>) -> Result<OwnedSlot> {
        let slot = self.enter().await?;
        // The slot stays taken; the owned slot releases it instead.
        std::mem::forget(slot);
        Ok(OwnedSlot(self.clone()))
    }

    /// A slot if one is free now.
    pub fn try_take(&self) -> Option<Slot<'_>> {
        let mut current = self.in_use.load(SeqCst);
        while current < self.capacity {
            match self
                .in_use
                .compare_exchange_weak(current, current + 1, SeqCst, SeqCst)
            {
                Ok(_) => return Some(Slot(self)),
                Err(now) => current = now,
            }
        }
        None
    }

    /// A slot: at once if one is free, else after waiting in the queue;
    /// `LimitExceeded` when the queue is full.
    pub async fn enter(&self) -> Result<Slot<'_>> {
        if let Some(slot) = self.try_take() {
            return Ok(slot);
        }
        let before = self.waiting.fetch_add(1, SeqCst);
        let _waiting = Waiting(&self.waiting);
        if before >= self.queue_capacity {
            return Err(Error::limit_exceeded(
                self.what,
                format!(
                    "all {} instance slots are busy and {before} calls are already waiting (queue capacity {})",
                    self.capacity, self.queue_capacity
                ),
            ));
        }
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Register before re-checking, so a release in between is not
            // lost.
            released.as_mut().enable();
            if let Some(slot) = self.try_take() {
                return Ok(slot);
            }
            released.await;
        }
    }
}

/// A slot of `outer` (a runtime's whole pool), then one of `inner` (a
/// version's); waiting for each as [`Gate::enter`] does.
pub async fn enter_both<'a>(outer: &'a Gate, inner: &'a Gate) -> Result<(Slot<'a>, Slot<'a>)> {
    let outer = outer.enter().await?;
    let inner = inner.enter().await?;
    Ok((outer, inner))
}

/// Both slots of [`enter_both`] if both are free now.
pub fn try_enter_both<'a>(outer: &'a Gate, inner: &'a Gate) -> Option<(Slot<'a>, Slot<'a>)> {
    let outer = outer.try_take()?;
    let inner = inner.try_take()?;
    Some((outer, inner))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slots_queue_and_refusal() {
        let gate = Gate::new(LimitKind::ConcurrentInstances, 1, 1);
        let held = gate.enter().await.unwrap();
        let waiter = gate.enter();
        tokio::pin!(waiter);
        // The waiter queues (and does not finish while the slot is held).
        assert!(
            tokio::time::timeout(Duration::from_millis(20), waiter.as_mut())
                .await
                .is_err()
        );
        let e = gate.enter().await.unwrap_err();
        assert!(
            matches!(e, Error::LimitExceeded { .. }),
            "the queue of one is full: {e}"
        );
        drop(held);
        // Released: the waiter is woken and gets the slot.
        let slot = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(gate.try_take().is_none());
        drop(slot);
        assert!(gate.try_take().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_waiter_gives_up_its_place() {
        let gate = Gate::new(LimitKind::ConcurrentInstances, 1, 1);
        let held = gate.enter().await.unwrap();
        {
            let waiter = gate.enter();
            tokio::pin!(waiter);
            assert!(
                tokio::time::timeout(Duration::from_millis(20), waiter.as_mut())
                    .await
                    .is_err()
            );
        }
        // The cancelled waiter left the queue: another call may wait.
        let second = gate.enter();
        tokio::pin!(second);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), second.as_mut())
                .await
                .is_err()
        );
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap();
    }
}

//! Concurrency limits: a semaphore of instance slots and a bounded queue of
//! waiting calls. Waiters are woken by the semaphore when a slot is
//! released; nothing polls.

use std::sync::atomic::{AtomicU32, Ordering};

use hotswap_core::{Error, Result};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug)]
pub(crate) struct Gate {
    what: &'static str,
    slots: Semaphore,
    waiting: AtomicU32,
    queue_capacity: u32,
}

/// Decrements the waiter count when a waiting call stops waiting, whether
/// it got a slot or was cancelled.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub(crate) fn new(what: &'static str, slots: u32, queue_capacity: u32) -> Self {
        Self {
            what,
            slots: Semaphore::new(slots as usize),
            waiting: AtomicU32::new(0),
            queue_capacity,
        }
    }

    /// A slot: at once if one is free, else after waiting in the queue;
    /// `LimitExceeded` when the queue is full.
    pub(crate) async fn enter(&self) -> Result<SemaphorePermit<'_>> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if before >= self.queue_capacity {
            return Err(Error::limit_exceeded(
                self.what,
                format!(
                    "all instance slots are busy and {before} calls are already waiting (queue capacity {})",
                    self.queue_capacity
                ),
            ));
        }
        self.slots
            .acquire()
            .await
            .map_err(|_| Error::internal("instance gate closed"))
    }
}

//! Locks by key inside one control-plane process, so two of its tasks (a
//! request and the control loop, or two requests) never act on the same
//! deployment at once: a lease is held by a replica, not by a task.
//! Between replicas, leases take this role; what must hold across
//! replicas at creation and deletion (one open deployment per module,
//! held versions) the repositories hold.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// One async lock per key; an unused key's lock is dropped when the last
/// holder lets go.
#[derive(Debug)]
pub(crate) struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::default(),
        }
    }
}

/// A held key; released on drop.
#[derive(Debug)]
pub(crate) struct Held<'a, K: Hash + Eq> {
    guard: Option<OwnedMutexGuard<()>>,
    key: K,
    locks: &'a KeyedLocks<K>,
}

impl<K: Hash + Eq + Clone> KeyedLocks<K> {
    /// Wait for `key`, then hold it.
    pub(crate) async fn hold(&self, key: K) -> Held<'_, K> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        Held {
            guard: Some(lock.lock_owned().await),
            key,
            locks: self,
        }
    }

    /// How many keys have a lock now (held or waited for).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl<K: Hash + Eq> Held<'_, K> {
    /// The key held.
    pub(crate) fn key(&self) -> &K {
        &self.key
    }
}

impl<K: Hash + Eq> Drop for Held<'_, K> {
    fn drop(&mut self) {
        let mut locks = self.locks.locks.lock().unwrap_or_else(|p| p.into_inner());
        self.guard = None;
        // Only the map holds it now: nobody holds or waits for the key.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_per_key_and_unused_keys_are_dropped() {
        let locks = Arc::new(KeyedLocks::<&str>::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _held = locks.hold("a").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Another key is not held up by "a".
        let other = locks.hold("b").await;
        drop(other);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "two held \"a\" at once");
        assert_eq!(locks.len(), 0, "locks of unused keys are dropped");
    }
}

//! Wall-clock timeouts. wasmer 7 has no epochs; it can interrupt a running
//! store from another thread (`Store::interrupter`, behind the
//! `experimental-host-interrupt` feature), which signals the thread running
//! it (SIGUSR1) so the wasm code traps with `HostInterrupt`. One watchdog
//! thread wakes every tick and interrupts every call past its deadline,
//! again on each tick until the call deregisters, because wasmer delivers
//! interrupts on a best-effort basis.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hotswap_core::{Error, Result};
use wasmer::Interrupter;

#[derive(Default)]
struct Calls {
    next: AtomicU64,
    running: Mutex<HashMap<u64, (Instant, Interrupter)>>,
    stop: AtomicBool,
}

/// The watchdog thread; stopped when dropped.
pub(crate) struct Watchdog {
    calls: Arc<Calls>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog").finish_non_exhaustive()
    }
}

/// A call under watch; deregistered on drop.
pub(crate) struct Watched<'a> {
    calls: &'a Calls,
    id: u64,
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        self.calls
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

impl Watchdog {
    pub(crate) fn start(tick: Duration) -> Result<Self> {
        let calls = Arc::new(Calls::default());
        let watched = calls.clone();
        thread::Builder::new()
            .name("hotswap-wasmer-watchdog".into())
            .spawn(move || {
                while !watched.stop.load(Ordering::Relaxed) {
                    thread::sleep(tick);
                    let now = Instant::now();
                    let running = watched.running.lock().unwrap_or_else(|p| p.into_inner());
                    for (deadline, interrupter) in running.values() {
                        if *deadline <= now {
                            interrupter.interrupt();
                        }
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the timeout watchdog: {e}")))?;
        Ok(Self { calls })
    }

    /// Interrupt the store of `interrupter` once `timeout` has passed, until
    /// the returned guard is dropped.
    pub(crate) fn watch(&self, interrupter: Interrupter, timeout: Duration) -> Watched<'_> {
        let id = self.calls.next.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + timeout;
        self.calls
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (deadline, interrupter));
        Watched {
            calls: &self.calls,
            id,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.calls.stop.store(true, Ordering::Relaxed);
    }
}

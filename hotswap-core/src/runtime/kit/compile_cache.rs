//! Compiled modules by digest: in memory (a bounded, first-in-first-out
//! set), then from a verified precompiled artifact, else compiled now and
//! kept in both; with counts of which path each request took.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ArtifactCache;
use crate::domain::Digest;
use crate::error::{Error, Result};

/// Counts of what compile requests did; for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompileCounters {
    /// Modules compiled from bytes.
    pub compiled: u64,
    /// Modules loaded from an on-disk artifact.
    pub artifact_loads: u64,
    /// Artifacts found stale, damaged or foreign, and discarded.
    pub artifact_rejects: u64,
    /// Modules reused from the in-memory cache.
    pub memory_hits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    compiled: AtomicU64,
    artifact_loads: AtomicU64,
    artifact_rejects: AtomicU64,
    memory_hits: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// How a runtime turns bytes or an artifact into its compiled form `T`.
pub trait Compiler<T> {
    /// Load a verified artifact file; an error discards it.
    fn load(&self, artifact: &Path) -> std::result::Result<T, String>;
    /// Compile `bytes` (already checked against their digest).
    fn compile(&self, bytes: &[u8]) -> Result<T>;
    /// The artifact of compiled code, to store for later loads.
    fn serialize(&self, compiled: &T) -> std::result::Result<Vec<u8>, String>;
}

/// Compiled modules of type `T` by digest.
#[derive(Debug)]
pub struct CompileCache<T> {
    artifacts: ArtifactCache,
    capacity: usize,
    memory: Mutex<(HashMap<Digest, T>, VecDeque<Digest>)>,
    counters: Counters,
}

impl<T: Clone> CompileCache<T> {
    /// A cache over `artifacts` keeping up to `memory_entries` modules in
    /// memory (0 keeps none).
    pub fn new(artifacts: ArtifactCache, memory_entries: usize) -> Self {
        Self {
            artifacts,
            capacity: memory_entries,
            memory: Mutex::default(),
            counters: Counters::default(),
        }
    }

    /// The artifact folder.
    pub fn artifacts(&self) -> &ArtifactCache {
        &self.artifacts
    }

    /// What requests have done so far.
    pub fn counters(&self) -> CompileCounters {
        let c = &self.counters;
        CompileCounters {
            compiled: c.compiled.load(Ordering::Relaxed),
            artifact_loads: c.artifact_loads.load(Ordering::Relaxed),
            artifact_rejects: c.artifact_rejects.load(Ordering::Relaxed),
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
        }
    }

    /// The compiled code of `digest`: from memory, from a verified
    /// artifact, or compiled from `bytes` now (after checking them against
    /// `digest`) and then cached in both.
    pub fn get(&self, bytes: &[u8], digest: &Digest, compiler: &impl Compiler<T>) -> Result<T> {
        if let Some(hit) = self.lock().0.get(digest) {
            bump(&self.counters.memory_hits);
            return Ok(hit.clone());
        }
        let mut rejected = false;
        let mut compiled = None;
        if let Some(path) = self.artifacts.load(digest, &mut rejected) {
            match compiler.load(&path) {
                Ok(c) => {
                    bump(&self.counters.artifact_loads);
                    compiled = Some(c);
                }
                Err(reason) => {
                    tracing::warn!(%digest, %reason, "discarding an artifact this engine cannot load");
                    self.artifacts.discard(digest);
                    rejected = true;
                }
            }
        }
        if rejected {
            bump(&self.counters.artifact_rejects);
        }
        let compiled = match compiled {
            Some(c) => c,
            None => self.compile(bytes, digest, compiler)?,
        };
        self.remember(digest, &compiled);
        Ok(compiled)
    }

    fn compile(&self, bytes: &[u8], digest: &Digest, compiler: &impl Compiler<T>) -> Result<T> {
        let actual = Digest::of(bytes);
        if actual != *digest {
            return Err(Error::DigestMismatch {
                expected: *digest,
                actual,
            });
        }
        let compiled = compiler.compile(bytes)?;
        bump(&self.counters.compiled);
        if self.artifacts.dir().is_some() {
            let stored = compiler
                .serialize(&compiled)
                .and_then(|a| self.artifacts.store(digest, &a).map_err(|e| e.to_string()));
            if let Err(reason) = stored {
                tracing::warn!(%digest, %reason, "cannot write the precompiled artifact");
            }
        }
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Digest, T>, VecDeque<Digest>)> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, digest: &Digest, compiled: &T) {
        if self.capacity == 0 {
            return;
        }
        let mut memory = self.lock();
        let (map, order) = &mut *memory;
        if map.insert(*digest, compiled.clone()).is_none() {
            order.push_back(*digest);
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }
}

/// Run `f` on tokio's blocking pool when inside a runtime, else inline, so
/// compiling, or a long call, never stalls an async worker.
pub async fn off_the_hot_path<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::internal(format!("a blocking task failed: {e}")))?,
        Err(_) => f(),
    }
}

//! The shared engine: pooling allocator with fallback, and the epoch ticker.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use hotswap_core::{Error, Result};
use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::WasmtimeConfig;

/// Which allocator the engine ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocator {
    /// The pooling allocator.
    Pooling,
    /// On-demand allocation (configured, or the pool could not be reserved).
    OnDemand,
}

pub(crate) fn wasmtime_config(cfg: &WasmtimeConfig, pooling: bool) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.consume_fuel(cfg.settings.fuel);
    c.max_wasm_stack(cfg.max_stack_bytes);
    c.memory_init_cow(true);
    c.wasm_component_model(true);
    if pooling {
        let mut p = PoolingAllocationConfig::default();
        let memory = usize::try_from(cfg.settings.max_memory_bytes).unwrap_or(usize::MAX);
        let instances = cfg.settings.max_instances;
        p.total_core_instances(instances)
            .total_component_instances(instances)
            .total_memories(instances.saturating_mul(cfg.max_memories_per_instance))
            .total_tables(instances.saturating_mul(cfg.max_tables_per_instance))
            .max_memories_per_module(cfg.max_memories_per_instance)
            .max_tables_per_module(cfg.max_tables_per_instance)
            .table_elements(cfg.max_table_elements)
            .total_gc_heaps(instances)
            .total_stacks(instances)
            .max_memory_size(memory)
            .linear_memory_keep_resident(cfg.keep_resident_bytes)
            .table_keep_resident(cfg.keep_resident_bytes.min(64 * 1024))
            // Without the ioctl (Linux before 6.7) the reset is a memset
            // of the lowest bytes, whether the call touched them or not.
            .pagemap_scan(Enabled::Auto);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
    } else {
        c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    c
}

/// Build the engine, falling back to on-demand allocation when the pool
/// cannot be reserved.
pub(crate) fn build_engine(cfg: &WasmtimeConfig) -> Result<(Engine, Allocator)> {
    let internal = |e: wasmtime::Error| Error::internal(format!("wasmtime engine: {e}"));
    if cfg.pooling {
        match Engine::new(&wasmtime_config(cfg, true)) {
            Ok(engine) => return Ok((engine, Allocator::Pooling)),
            Err(e) => tracing::warn!(
                reason = %e,
                max_instances = cfg.settings.max_instances,
                "pooling allocator unavailable; falling back to on-demand allocation"
            ),
        }
    }
    let engine = Engine::new(&wasmtime_config(cfg, false)).map_err(internal)?;
    Ok((engine, Allocator::OnDemand))
}

/// One thread that advances the engine's epoch every tick; stopped on drop.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, tick: std::time::Duration) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        thread::Builder::new()
            .name("hotswap-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Feeds `Hash` input into SHA-256, so the engine key is stable across
/// processes (std's hashers promise no such thing).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The artifact-cache key: SHA-256 of wasmtime's precompile-compatibility
/// hash.
pub(crate) fn engine_key(engine: &Engine) -> [u8; 32] {
    let mut h = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().into()
}

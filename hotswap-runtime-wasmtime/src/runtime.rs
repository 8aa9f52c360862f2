//! [`WasmtimeRuntime`]: the [`RuntimeHost`] on wasmtime.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use hotswap_core::domain::{Digest, ModuleKind, RuntimeKind, WasiVersion};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeCapabilities, RuntimeHost};
use hotswap_core::{Error, Result};
use wasmtime::component::Component;
use wasmtime::{Linker, Module};

use crate::WasmtimeConfig;
use crate::artifacts::ArtifactCache;
use crate::component_module::{ComponentModule, ComponentPre};
use crate::core_module::{CoreModule, CorePre};
use crate::engine::{Allocator, EpochTicker, build_engine};
use crate::errors::compile_error;
use crate::gate::Gate;
use crate::limiter::{Plain, WasiP1, WasiP2};
use crate::shared::Shared;

/// Counts of what compile calls did; for tests and metrics.
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

#[derive(Clone)]
enum Compiled {
    Core(Module),
    Component(Component),
}

struct Linkers {
    core_plain: Linker<Plain>,
    core_wasi: Linker<WasiP1>,
    component_plain: wasmtime::component::Linker<Plain>,
    component_wasi: wasmtime::component::Linker<WasiP2>,
}

struct Inner {
    shared: Arc<Shared>,
    allocator: Allocator,
    artifacts: ArtifactCache,
    linkers: Linkers,
    memory: Mutex<(HashMap<Digest, Compiled>, VecDeque<Digest>)>,
    counters: Counters,
    _ticker: EpochTicker,
}

/// hotswap's runtime on wasmtime.
///
/// One engine is built and shared by every module; an epoch ticker thread
/// enforces wall-clock timeouts; calls get a fresh store and instance from
/// an `InstancePre`, so they only instantiate. Cheap to clone.
#[derive(Clone)]
pub struct WasmtimeRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WasmtimeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmtimeRuntime")
            .field("allocator", &self.inner.allocator)
            .field("config", &self.inner.shared.config)
            .finish()
    }
}

fn linker_error(e: wasmtime::Error) -> Error {
    Error::internal(format!("cannot set up the WASI linker: {e}"))
}

impl WasmtimeRuntime {
    /// Build the engine, the epoch ticker and the linkers.
    pub fn new(config: WasmtimeConfig) -> Result<Self> {
        config.validate()?;
        let (engine, allocator) = build_engine(&config)?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)?;
        let artifacts = ArtifactCache::new(config.artifact_dir.clone(), &engine).map_err(|e| {
            Error::invalid(
                "artifact_dir",
                format!("cannot create the artifact folder: {e}"),
            )
        })?;
        let mut core_wasi = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut core_wasi, |d: &mut WasiP1| &mut d.wasi)
            .map_err(linker_error)?;
        let mut component_wasi = wasmtime::component::Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut component_wasi).map_err(linker_error)?;
        let linkers = Linkers {
            core_plain: Linker::new(&engine),
            core_wasi,
            component_plain: wasmtime::component::Linker::new(&engine),
            component_wasi,
        };
        let shared = Arc::new(Shared {
            engine_gate: Gate::new("max_instances", config.max_instances, config.queue_capacity),
            engine,
            config,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                allocator,
                artifacts,
                linkers,
                memory: Mutex::default(),
                counters: Counters::default(),
                _ticker: ticker,
            }),
        })
    }

    /// Which allocator the engine uses.
    pub fn allocator(&self) -> Allocator {
        self.inner.allocator
    }

    /// The wasmtime engine (for embedding next to raw wasmtime code).
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.inner.shared.engine
    }

    /// Where a version's artifact is cached on disk, if anywhere.
    pub fn artifact_path(&self, digest: &Digest) -> Option<std::path::PathBuf> {
        self.inner.artifacts.path(digest)
    }

    /// What compile calls have done so far.
    pub fn counters(&self) -> CompileCounters {
        let c = &self.inner.counters;
        CompileCounters {
            compiled: c.compiled.load(Ordering::Relaxed),
            artifact_loads: c.artifact_loads.load(Ordering::Relaxed),
            artifact_rejects: c.artifact_rejects.load(Ordering::Relaxed),
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
        }
    }

    fn compile_blocking(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>> {
        let inner = &self.inner;
        let limits = source.limits;
        limits.validate().map_err(|e| e.within("limits"))?;
        let config = &inner.shared.config;
        if limits.max_memory_bytes > config.max_memory_bytes {
            return Err(Error::invalid(
                "limits.max_memory_bytes",
                format!(
                    "{} exceeds this runtime's per-instance memory of {} bytes",
                    limits.max_memory_bytes, config.max_memory_bytes
                ),
            ));
        }
        if limits.fuel.is_some() && !config.fuel {
            return Err(Error::invalid(
                "limits.fuel",
                "this runtime does not meter fuel; enable WasmtimeConfig::fuel or leave fuel out",
            ));
        }
        let compiled = self.load_or_compile(&source.bytes, &source.digest)?;
        let engine = &inner.shared.engine;
        let shared = inner.shared.clone();
        let imports = |e: wasmtime::Error| Error::invalid("imports", format!("{e:#}"));
        Ok(match compiled {
            Compiled::Core(module) => {
                let wasi = module.imports().any(|i| {
                    i.module() == "wasi_snapshot_preview1" || i.module() == "wasi_unstable"
                });
                let pre = if wasi {
                    CorePre::Wasi(
                        inner
                            .linkers
                            .core_wasi
                            .instantiate_pre(&module)
                            .map_err(imports)?,
                    )
                } else {
                    CorePre::Plain(
                        inner
                            .linkers
                            .core_plain
                            .instantiate_pre(&module)
                            .map_err(imports)?,
                    )
                };
                Arc::new(CoreModule::new(shared, source.digest, limits, &module, pre))
            }
            Compiled::Component(component) => {
                let wasi = component
                    .component_type()
                    .imports(engine)
                    .any(|(name, _)| name.starts_with("wasi:"));
                let pre = if wasi {
                    ComponentPre::Wasi(
                        inner
                            .linkers
                            .component_wasi
                            .instantiate_pre(&component)
                            .map_err(imports)?,
                    )
                } else {
                    ComponentPre::Plain(
                        inner
                            .linkers
                            .component_plain
                            .instantiate_pre(&component)
                            .map_err(imports)?,
                    )
                };
                Arc::new(ComponentModule::new(
                    shared,
                    source.digest,
                    limits,
                    &component,
                    pre,
                ))
            }
        })
    }

    /// The compiled code of `digest`: from memory, from a verified artifact,
    /// or compiled from `bytes` now (after checking them against `digest`
    /// and validating them) and then cached in both.
    fn load_or_compile(&self, bytes: &[u8], digest: &Digest) -> Result<Compiled> {
        let inner = &self.inner;
        if let Some(hit) = inner
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .get(digest)
        {
            inner.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.clone());
        }
        let engine = &inner.shared.engine;
        let mut rejected = false;
        let mut compiled = None;
        if let Some(path) = inner.artifacts.load(digest, &mut rejected) {
            match deserialize(engine, &path) {
                Ok(c) => {
                    inner
                        .counters
                        .artifact_loads
                        .fetch_add(1, Ordering::Relaxed);
                    compiled = Some(c);
                }
                Err(e) => {
                    tracing::warn!(%digest, reason = %e, "discarding an artifact this engine cannot load");
                    inner.artifacts.discard(digest);
                    rejected = true;
                }
            }
        }
        if rejected {
            inner
                .counters
                .artifact_rejects
                .fetch_add(1, Ordering::Relaxed);
        }
        let compiled = match compiled {
            Some(c) => c,
            None => self.compile_bytes(bytes, digest)?,
        };
        self.remember(digest, &compiled);
        Ok(compiled)
    }

    fn compile_bytes(&self, bytes: &[u8], digest: &Digest) -> Result<Compiled> {
        let inner = &self.inner;
        let actual = Digest::of(bytes);
        if actual != *digest {
            return Err(Error::DigestMismatch {
                expected: *digest,
                actual,
            });
        }
        let info = inspect(bytes, &InspectOptions::default())?;
        let engine = &inner.shared.engine;
        let c = match info.kind {
            ModuleKind::Core => Compiled::Core(Module::new(engine, bytes).map_err(compile_error)?),
            ModuleKind::Component => {
                Compiled::Component(Component::new(engine, bytes).map_err(compile_error)?)
            }
        };
        inner.counters.compiled.fetch_add(1, Ordering::Relaxed);
        if inner.artifacts.dir().is_some() {
            let artifact = match &c {
                Compiled::Core(m) => m.serialize(),
                Compiled::Component(c) => c.serialize(),
            };
            let stored = artifact
                .map_err(|e| e.to_string())
                .and_then(|a| inner.artifacts.store(digest, &a).map_err(|e| e.to_string()));
            if let Err(reason) = stored {
                tracing::warn!(%digest, %reason, "cannot write the precompiled artifact");
            }
        }
        Ok(c)
    }

    fn remember(&self, digest: &Digest, compiled: &Compiled) {
        let capacity = self.inner.shared.config.memory_cache_entries;
        if capacity == 0 {
            return;
        }
        let mut memory = self.inner.memory.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *memory;
        if map.insert(*digest, compiled.clone()).is_none() {
            order.push_back(*digest);
            while order.len() > capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }
}

/// Load an artifact file this cache verified.
#[allow(unsafe_code)]
fn deserialize(engine: &wasmtime::Engine, path: &std::path::Path) -> wasmtime::Result<Compiled> {
    let kind = wasmtime::Engine::detect_precompiled_file(path)?;
    // SAFETY: wasmtime requires that deserialized bytes come from
    // `serialize` of a trusted engine and that the file is not changed while
    // mapped. The cache only hands out files whose sidecar binds them to
    // this module's digest and this engine's compatibility hash and whose
    // length and CRC-32 match, i.e. files this runtime wrote and that were
    // not damaged since; files are only ever replaced by rename, never
    // modified in place; and wasmtime re-checks its version and config.
    unsafe {
        Ok(match kind {
            Some(wasmtime::Precompiled::Component) => {
                Compiled::Component(Component::deserialize_file(engine, path)?)
            }
            _ => Compiled::Core(Module::deserialize_file(engine, path)?),
        })
    }
}

/// Run `f` on tokio's blocking pool when inside a runtime, else inline, so
/// compiling never stalls an async worker.
async fn off_the_hot_path<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::internal(format!("compile task failed: {e}")))?,
        Err(_) => f(),
    }
}

#[async_trait]
impl RuntimeHost for WasmtimeRuntime {
    fn capabilities(&self) -> RuntimeCapabilities {
        let mut caps = RuntimeCapabilities::core_only(RuntimeKind::Wasmtime);
        caps.components = true;
        caps.wasi = vec![WasiVersion::Preview1, WasiVersion::Preview2];
        caps.fuel = self.inner.shared.config.fuel;
        caps.timeouts = true;
        caps
    }

    async fn compile(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>> {
        let this = self.clone();
        off_the_hot_path(move || this.compile_blocking(source)).await
    }

    async fn precompile(&self, bytes: Bytes) -> Result<Bytes> {
        let engine = self.inner.shared.engine.clone();
        off_the_hot_path(move || {
            let info = inspect(&bytes, &InspectOptions::default())?;
            let artifact = match info.kind {
                ModuleKind::Core => engine.precompile_module(&bytes),
                ModuleKind::Component => engine.precompile_component(&bytes),
            }
            .map_err(compile_error)?;
            Ok(Bytes::from(artifact))
        })
        .await
    }
}

//! [`WasmtimeRuntime`]: the [`RuntimeHost`] on wasmtime.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hotswap_core::domain::{Digest, ModuleKind, RuntimeKind, WasiVersion, WasmFeature};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::runtime::http::is_incoming_handler;
use hotswap_core::runtime::kit::{
    ArtifactCache, CompileCache, CompileCounters, Compiler, Gate, off_the_hot_path,
};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeCapabilities, RuntimeHost};
use hotswap_core::{Error, Result};
use wasmtime::component::Component;
use wasmtime::{Linker, Module};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::WasmtimeConfig;
use crate::component_module::{ComponentModule, ComponentPre};
use crate::core_module::{CoreModule, CorePre};
use crate::engine::{Allocator, EpochTicker, build_engine, engine_key};
use crate::errors::compile_error;
use crate::http::WasiHttp;
use crate::keyvalue::KeyValue;
use crate::limiter::{Plain, WasiP1, WasiP2};
use crate::outbound::Outbound;
use crate::reach::Reach;
use crate::shared::Shared;
use hotswap_core::LimitKind;

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
    component_http: wasmtime::component::Linker<WasiHttp>,
}

struct Inner {
    shared: Arc<Shared>,
    allocator: Allocator,
    cache: CompileCache<Compiled>,
    linkers: Linkers,
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
        let artifacts = ArtifactCache::new(
            config.settings.artifact_dir.clone(),
            engine_key(&engine),
            "cwasm",
        )
        .map_err(|e| {
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
        let mut component_http = wasmtime::component::Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut component_http).map_err(linker_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut component_http)
            .map_err(linker_error)?;
        crate::keyvalue::add_to_linker(&mut component_http).map_err(linker_error)?;
        crate::wasi_config::add_to_linker(&mut component_http).map_err(linker_error)?;
        let linkers = Linkers {
            core_plain: Linker::new(&engine),
            core_wasi,
            component_plain: wasmtime::component::Linker::new(&engine),
            component_wasi,
            component_http,
        };
        let config_entries = config.settings.memory_cache_entries;
        let shared = Arc::new(Shared {
            engine_gate: Arc::new(Gate::new(
                LimitKind::Instances,
                config.settings.max_instances,
                config.settings.queue_capacity,
            )),
            engine,
            config,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                allocator,
                cache: CompileCache::new(artifacts, config_entries),
                linkers,
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
        self.inner.cache.artifacts().path(digest)
    }

    /// What compile calls have done so far.
    pub fn counters(&self) -> CompileCounters {
        self.inner.cache.counters()
    }

    fn compile_blocking(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>> {
        let inner = &self.inner;
        let limits = source.limits;
        limits.validate().map_err(|e| e.within("limits"))?;
        let config = &inner.shared.config;
        if limits.max_memory_bytes > config.settings.max_memory_bytes {
            return Err(Error::invalid(
                "limits.max_memory_bytes",
                format!(
                    "{} exceeds this runtime's per-instance memory of {} bytes",
                    limits.max_memory_bytes, config.settings.max_memory_bytes
                ),
            ));
        }
        if limits.fuel.is_some() && !config.settings.fuel {
            return Err(Error::invalid(
                "limits.fuel",
                "this runtime does not meter fuel; enable fuel (WasmtimeConfig::with_fuel) or leave fuel out",
            ));
        }
        let compiled = inner.cache.get(&source.bytes, &source.digest, self)?;
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
                Arc::new(CoreModule::new(
                    shared,
                    source.digest,
                    limits,
                    &module,
                    pre,
                    source.config.clone(),
                ))
            }
            Compiled::Component(component) => {
                let ty = component.component_type();
                let serves_http = ty
                    .exports(engine)
                    .any(|(name, _)| is_incoming_handler(name));
                let keyvalue = KeyValue::new(&source.label, source.keyvalue.clone());
                if let Some((name, _)) = ty
                    .imports(engine)
                    .find(|(name, _)| name.starts_with(crate::keyvalue::IMPORT_PREFIX))
                    && !keyvalue.available()
                {
                    return Err(Error::invalid(
                        "imports",
                        format!(
                            "the component imports {name}, and this node has no key-value store (capability keyvalue)"
                        ),
                    ));
                }
                // The state that hosts wasi:http also hosts wasi:keyvalue
                // and wasi:config.
                let http = serves_http
                    || ty.imports(engine).any(|(name, _)| {
                        name.starts_with("wasi:http/")
                            || name.starts_with(crate::keyvalue::IMPORT_PREFIX)
                            || name.starts_with(crate::wasi_config::IMPORT_PREFIX)
                    });
                let wasi = ty
                    .imports(engine)
                    .any(|(name, _)| name.starts_with("wasi:"));
                let pre = if http {
                    let pre = inner
                        .linkers
                        .component_http
                        .instantiate_pre(&component)
                        .map_err(imports)?;
                    let proxy = if serves_http {
                        Some(ProxyPre::new(pre.clone()).map_err(|e| {
                            Error::invalid(
                                "exports",
                                format!("wasi:http/incoming-handler does not match 0.2: {e:#}"),
                            )
                        })?)
                    } else {
                        None
                    };
                    ComponentPre::Http { pre, proxy }
                } else if wasi {
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
                    Reach {
                        outbound: Outbound::new(&source.label, source.outbound.clone())?,
                        keyvalue,
                        config: source.config.clone(),
                    },
                ))
            }
        })
    }
}

impl Compiler<Compiled> for WasmtimeRuntime {
    fn load(&self, artifact: &std::path::Path) -> std::result::Result<Compiled, String> {
        deserialize(&self.inner.shared.engine, artifact).map_err(|e| e.to_string())
    }

    fn compile(&self, bytes: &[u8]) -> Result<Compiled> {
        let info = inspect(bytes, &InspectOptions::default())?;
        let engine = &self.inner.shared.engine;
        Ok(match info.kind {
            ModuleKind::Core => Compiled::Core(Module::new(engine, bytes).map_err(compile_error)?),
            ModuleKind::Component => {
                Compiled::Component(Component::new(engine, bytes).map_err(compile_error)?)
            }
        })
    }

    fn serialize(&self, compiled: &Compiled) -> std::result::Result<Vec<u8>, String> {
        match compiled {
            Compiled::Core(m) => m.serialize(),
            Compiled::Component(c) => c.serialize(),
        }
        .map_err(|e| e.to_string())
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

/// What wasmtime 48 enables by default with its `gc` feature on the
/// Cranelift backend, all of which the pooling allocator hosts (threads
/// are left out: shared memories do not live in the pool).
const WASM_FEATURES: [WasmFeature; 15] = [
    WasmFeature::MutableGlobal,
    WasmFeature::SaturatingFloatToInt,
    WasmFeature::SignExtension,
    WasmFeature::MultiValue,
    WasmFeature::BulkMemory,
    WasmFeature::ReferenceTypes,
    WasmFeature::Simd,
    WasmFeature::RelaxedSimd,
    WasmFeature::TailCall,
    WasmFeature::MultiMemory,
    WasmFeature::ExtendedConst,
    WasmFeature::FunctionReferences,
    WasmFeature::Gc,
    WasmFeature::Exceptions,
    WasmFeature::Memory64,
];

#[async_trait]
impl RuntimeHost for WasmtimeRuntime {
    fn capabilities(&self) -> RuntimeCapabilities {
        let mut caps = RuntimeCapabilities::core_only(RuntimeKind::Wasmtime);
        caps.components = true;
        caps.wasi = vec![WasiVersion::Preview1, WasiVersion::Preview2];
        caps.fuel = self.inner.shared.config.settings.fuel;
        caps.timeouts = true;
        caps.wasi_http = true;
        caps.wasm_features = WASM_FEATURES.to_vec();
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

//! [`WasmerRuntime`]: the [`RuntimeHost`] on wasmer with Cranelift.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hotswap_core::domain::{Digest, ModuleKind, RuntimeKind, WasiVersion, WasmFeature};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::runtime::kit::{
    ArtifactCache, CompileCache, CompileCounters, Compiler, Gate, off_the_hot_path,
};
use hotswap_core::runtime::{CompiledModule, ModuleSource, RuntimeCapabilities, RuntimeHost};
use hotswap_core::{Error, Result};
use wasmer::Module;

use crate::WasmerConfig;
use crate::engine::Engines;
use crate::errors::compile_error;
use crate::module::{Shared, WasmerModule};
use crate::wasi::WasiHost;
use crate::watchdog::Watchdog;
use hotswap_core::LimitKind;

/// A compiled module and the engine that holds its code.
#[derive(Clone)]
struct Compiled {
    module: Module,
    engine: wasmer::Engine,
}

struct Inner {
    shared: Arc<Shared>,
    cache: CompileCache<Compiled>,
}

/// hotswap's runtime on wasmer (Cranelift): core modules and WASI
/// preview 1 commands, each call in a fresh store and instance; CPU budgets
/// by the metering middleware (when [`RuntimeSettings::fuel`](hotswap_core::runtime::kit::RuntimeSettings::fuel) is on), memory
/// limits by tunables, timeouts by a watchdog that interrupts the store.
/// Components are refused. Cheap to clone.
#[derive(Clone)]
pub struct WasmerRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WasmerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmerRuntime")
            .field("config", &self.inner.shared.config)
            .finish()
    }
}

impl WasmerRuntime {
    /// Start the timeout watchdog and open the artifact folder.
    pub fn new(config: WasmerConfig) -> Result<Self> {
        config.validate()?;
        let engines = Engines::new(config.settings.fuel);
        let artifacts =
            ArtifactCache::new(config.settings.artifact_dir.clone(), engines.key(), "wasmu")
                .map_err(|e| {
                    Error::invalid(
                        "artifact_dir",
                        format!("cannot create the artifact folder: {e}"),
                    )
                })?;
        let cache = CompileCache::new(artifacts, config.settings.memory_cache_entries);
        let shared = Arc::new(Shared {
            engine_gate: Gate::new(
                LimitKind::Instances,
                config.settings.max_instances,
                config.settings.queue_capacity,
            ),
            watchdog: Watchdog::start(config.timeout_tick)?,
            wasi: WasiHost::default(),
            engines,
            config,
        });
        Ok(Self {
            inner: Arc::new(Inner { shared, cache }),
        })
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
        let shared = &self.inner.shared;
        let limits = source.limits;
        limits.validate().map_err(|e| e.within("limits"))?;
        if limits.max_memory_bytes > shared.config.settings.max_memory_bytes {
            return Err(Error::invalid(
                "limits.max_memory_bytes",
                format!(
                    "{} exceeds this runtime's per-instance memory of {} bytes",
                    limits.max_memory_bytes, shared.config.settings.max_memory_bytes
                ),
            ));
        }
        if limits.fuel.is_some() && !shared.config.settings.fuel {
            return Err(Error::invalid(
                "limits.fuel",
                "this runtime does not meter fuel; enable WasmerConfig::fuel or leave fuel out",
            ));
        }
        let Compiled { module, engine } =
            self.inner.cache.get(&source.bytes, &source.digest, self)?;
        Ok(Arc::new(WasmerModule::new(
            shared.clone(),
            source.digest,
            limits,
            module,
            engine,
            source.config.clone(),
        )?))
    }
}

/// Refuse what this runtime cannot run (components), naming it.
fn core_only(bytes: &[u8]) -> Result<()> {
    let info = inspect(bytes, &InspectOptions::default())?;
    if info.kind == ModuleKind::Component {
        return Err(Error::invalid(
            "wasm",
            "this is a component, and the wasmer runtime runs core modules only; \
             deploy it to a node whose runtime supports components (wasmtime)",
        ));
    }
    Ok(())
}

impl Compiler<Compiled> for WasmerRuntime {
    fn load(&self, artifact: &Path) -> std::result::Result<Compiled, String> {
        let engine = self.inner.shared.engines.loader();
        // SAFETY: wasmer requires that the bytes come from `serialize` of a
        // trusted engine. The cache only hands out files whose sidecar binds
        // them to this module's digest and this engine key (wasmer's
        // release, the compiler settings, target and metering) and whose
        // length and CRC-32 match, i.e. files this runtime wrote and that
        // were not damaged since; files are only ever replaced by rename.
        #[allow(unsafe_code)]
        let module = unsafe { Module::deserialize_from_file(&engine, artifact) }
            .map_err(|e| e.to_string())?;
        // wasmer does not record middlewares in its artifacts; the metering
        // globals show whether this one was compiled with them.
        let metered = module
            .info()
            .exports
            .contains_key("wasmer_metering_remaining_points");
        let fuel = self.inner.shared.config.settings.fuel;
        if metered != fuel {
            let with = |on: bool| if on { "with" } else { "without" };
            return Err(format!(
                "compiled {} metering, and this runtime meters {}",
                with(metered),
                if fuel { "every call" } else { "nothing" },
            ));
        }
        Ok(Compiled { module, engine })
    }

    fn compile(&self, bytes: &[u8]) -> Result<Compiled> {
        core_only(bytes)?;
        let engine = self.inner.shared.engines.compiler();
        let module = Module::new(&engine, bytes).map_err(compile_error)?;
        Ok(Compiled { module, engine })
    }

    fn serialize(&self, compiled: &Compiled) -> std::result::Result<Vec<u8>, String> {
        compiled
            .module
            .serialize()
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string())
    }
}

/// What wasmer 7.3's default feature set compiles on Cranelift: WebAssembly
/// 2.0 with several memories and extended constants (its threads are left
/// out: hotswap's instances never share a memory).
const WASM_FEATURES: [WasmFeature; 9] = [
    WasmFeature::MutableGlobal,
    WasmFeature::SaturatingFloatToInt,
    WasmFeature::SignExtension,
    WasmFeature::MultiValue,
    WasmFeature::BulkMemory,
    WasmFeature::ReferenceTypes,
    WasmFeature::Simd,
    WasmFeature::MultiMemory,
    WasmFeature::ExtendedConst,
];

#[async_trait]
impl RuntimeHost for WasmerRuntime {
    fn capabilities(&self) -> RuntimeCapabilities {
        let mut caps = RuntimeCapabilities::core_only(RuntimeKind::Wasmer);
        caps.wasi = vec![WasiVersion::Preview1];
        caps.fuel = self.inner.shared.config.settings.fuel;
        caps.timeouts = true;
        caps.wasm_features = WASM_FEATURES.to_vec();
        caps
    }

    async fn compile(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>> {
        let this = self.clone();
        off_the_hot_path(move || this.compile_blocking(source)).await
    }

    async fn precompile(&self, bytes: Bytes) -> Result<Bytes> {
        let this = self.clone();
        off_the_hot_path(move || {
            let compiled = Compiler::compile(&this, &bytes)?;
            let artifact = compiled
                .module
                .serialize()
                .map_err(|e| Error::internal(format!("cannot serialize: {e}")))?;
            Ok(artifact)
        })
        .await
    }
}

//! Engines. Each module version gets its own engine: wasmer keeps the
//! machine code of every module an engine compiled or loaded until the
//! engine is dropped, and the metering middleware can instrument only one
//! module, so a shared engine would leak code across hot swaps and could
//! not meter. Clones of a version's engine (one per call, carrying that
//! call's tunables) share its code and signature registry.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use wasmer::sys::{
    BaseTunables, CompilerConfig, Cranelift, EngineBuilder, NativeEngineExt, Target,
};
use wasmer::wasmparser::Operator;
use wasmer_middlewares::Metering;

/// The wasmer release this crate pins (`=7.3.0` in its manifest); part of
/// the artifact key, because wasmer's artifact format changes between
/// releases.
const WASMER_VERSION: &str = "7.3.0";

/// Changes whenever the metering cost function below changes, so artifacts
/// metered the old way are not reused.
const COST_MODEL: &str = "one-point-per-operator-v1";

fn cost(_: &Operator<'_>) -> u64 {
    1
}

/// Builds the engines of one runtime.
#[derive(Clone)]
pub(crate) struct Engines {
    fuel: bool,
    key: [u8; 32],
    pub(crate) base_tunables: Arc<BaseTunables>,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines")
            .field("fuel", &self.fuel)
            .field("key", &hex::encode(&self.key[..8]))
            .finish()
    }
}

impl Engines {
    pub(crate) fn new(fuel: bool) -> Self {
        let probe = Self::compiler_engine(fuel);
        let target = Target::default();
        let mut h = Sha256::new();
        for part in [
            "wasmer",
            WASMER_VERSION,
            &probe.deterministic_id(),
            &target.triple().to_string(),
            &format!("{:?}", target.cpu_features()),
            if fuel { COST_MODEL } else { "unmetered" },
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        Self {
            fuel,
            key: h.finalize().into(),
            base_tunables: Arc::new(BaseTunables::for_target(&target)),
        }
    }

    fn compiler_engine(fuel: bool) -> wasmer::Engine {
        let mut compiler = Cranelift::new();
        if fuel {
            compiler.push_middleware(Arc::new(Metering::new(u64::MAX, cost)));
        }
        EngineBuilder::new(compiler).engine().into()
    }

    /// A fresh engine that compiles one module.
    pub(crate) fn compiler(&self) -> wasmer::Engine {
        Self::compiler_engine(self.fuel)
    }

    /// A fresh engine without a compiler, to load one artifact into.
    pub(crate) fn loader(&self) -> wasmer::Engine {
        wasmer::Engine::headless()
    }

    /// Equal for runtimes whose artifacts are interchangeable: wasmer's
    /// version, the compiler's settings, the target and the metering.
    pub(crate) fn key(&self) -> [u8; 32] {
        self.key
    }
}

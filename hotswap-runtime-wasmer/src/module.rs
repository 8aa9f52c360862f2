//! A compiled core module version on wasmer: plain functions called with a
//! fresh instance per call, WASI preview 1 ones with captured stdio.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use hotswap_core::domain::{ConfigValues, Digest, ModuleKind, ResourceLimits, Value, ValueType};
use hotswap_core::runtime::kit::{self, Attempt, Export, Exports, Gate, Slot, WasiInput};
use hotswap_core::runtime::{
    CallOutput, CompiledModule, FunctionSignature, Invocation, InvokeNow, Param,
};
use hotswap_core::{Error, Result};
use wasmer::{ExternType, Module, Type};

use crate::WasmerConfig;
use crate::call::Code;
use crate::engine::Engines;
use crate::wasi::WasiHost;
use crate::watchdog::Watchdog;
use hotswap_core::LimitKind;

/// State shared by the runtime and every module it compiled.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: WasmerConfig,
    pub(crate) engines: Engines,
    /// Instance slots of the whole runtime.
    pub(crate) engine_gate: Gate,
    pub(crate) watchdog: Watchdog,
    pub(crate) wasi: WasiHost,
}

impl Shared {
    /// A slot of the runtime, then one of the version's `gate`.
    async fn enter<'a>(&'a self, gate: &'a Gate) -> Result<(Slot<'a>, Slot<'a>)> {
        kit::enter_both(&self.engine_gate, gate).await
    }

    /// Both slots of [`Shared::enter`] if both are free now.
    fn try_enter<'a>(&'a self, gate: &'a Gate) -> Option<(Slot<'a>, Slot<'a>)> {
        kit::try_enter_both(&self.engine_gate, gate)
    }
}

/// A compiled core module version with its own engine.
pub(crate) struct WasmerModule {
    code: Code,
    digest: Digest,
    wasi: bool,
    exports: Exports<()>,
    gate: Gate,
}

impl fmt::Debug for WasmerModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmerModule")
            .field("digest", &self.digest)
            .field("wasi", &self.wasi)
            .field("functions", &self.exports.signatures.len())
            .finish()
    }
}

/// The hotswap type of a core value type; `None` for types a JSON call
/// cannot carry (v128, references).
fn core_type(ty: &Type) -> Option<ValueType> {
    match ty {
        Type::I32 => Some(ValueType::I32),
        Type::I64 => Some(ValueType::I64),
        Type::F32 => Some(ValueType::F32),
        Type::F64 => Some(ValueType::F64),
        _ => None,
    }
}

/// The callable function exports of `module` with their signatures.
fn exports(module: &Module) -> Exports<()> {
    let mut callable = Vec::new();
    let mut unmappable = Vec::new();
    for export in module.exports() {
        let ExternType::Function(ty) = export.ty() else {
            continue;
        };
        let params: Option<Vec<Param>> = ty
            .params()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Some(Param {
                    name: format!("p{i}"),
                    ty: core_type(t)?,
                })
            })
            .collect();
        let results: Option<Vec<ValueType>> = ty.results().iter().map(core_type).collect();
        match (params, results) {
            (Some(params), Some(results)) => callable.push(Export {
                index: (),
                signature: FunctionSignature {
                    name: export.name().to_owned(),
                    params,
                    results,
                },
            }),
            _ => unmappable.push(export.name().to_owned()),
        }
    }
    Exports::new(callable, unmappable)
}

/// Whether `module` is a WASI preview 1 module; `Invalid` naming the first
/// import neither plain modules nor WASI provide.
pub(crate) fn wasi_imports(module: &Module) -> Result<bool> {
    let mut wasi = false;
    for import in module.imports() {
        match import.module() {
            "wasi_snapshot_preview1" | "wasi_unstable" => wasi = true,
            other => {
                return Err(Error::invalid(
                    "imports",
                    format!(
                        "{other}::{} is imported, and this runtime provides only WASI preview 1",
                        import.name()
                    ),
                ));
            }
        }
    }
    Ok(wasi)
}

impl WasmerModule {
    /// A first attempt at a plain call on this thread (see
    /// [`kit::attempt`]).
    fn attempt(&self, export: &Export<()>, args: &[Value]) -> Attempt {
        let config = &self.code.shared.config;
        kit::attempt(self.code.limits.timeout(), config.timeout_tick, |budget| {
            self.code.call_plain(&export.signature.name, args, budget)
        })
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        digest: Digest,
        limits: ResourceLimits,
        module: Module,
        engine: wasmer::Engine,
        config: Arc<ConfigValues>,
    ) -> Result<Self> {
        let wasi = wasi_imports(&module)?;
        let gate = Gate::new(
            LimitKind::ConcurrentInstances,
            limits.max_concurrent_instances,
            shared.config.settings.queue_capacity,
        );
        Ok(Self {
            exports: exports(&module),
            code: Code {
                has_memory: !module.info().memories.is_empty(),
                shared,
                limits,
                module,
                engine,
                config,
            },
            digest,
            wasi,
            gate,
        })
    }
}

#[async_trait]
impl CompiledModule for WasmerModule {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Core
    }

    fn functions(&self) -> &[FunctionSignature] {
        &self.exports.signatures
    }

    fn invoke_now(&self, call: Invocation) -> InvokeNow {
        if self.wasi {
            return InvokeNow::Later(call);
        }
        kit::invoke_now(
            &self.exports,
            call,
            || self.code.shared.try_enter(&self.gate),
            |export, args| self.attempt(export, &args),
        )
    }

    async fn invoke(&self, call: Invocation) -> Result<CallOutput> {
        // Input is checked before a slot is taken: bad input never waits.
        let export = self.exports.get(&call.function)?;
        if self.wasi {
            let input = WasiInput::of(&export.signature, &call, call.function == "_start")?;
            let _slots = self.code.shared.enter(&self.gate).await?;
            return self.code.call_wasi(export, input, &call);
        }
        let args = kit::arguments(&export.signature, call.input)?;
        kit::invoke_plain(
            args,
            call.long_running,
            self.code.shared.enter(&self.gate),
            |args| self.attempt(export, args),
            |args| {
                let (code, name) = (self.code.clone(), export.signature.name.clone());
                kit::off_the_hot_path(move || code.call_plain(&name, &args, code.limits.timeout()))
            },
        )
        .await
    }
}

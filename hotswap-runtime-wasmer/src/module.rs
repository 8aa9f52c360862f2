//! A compiled core module version on wasmer: plain functions called with a
//! fresh instance per call, WASI preview 1 ones with captured stdio.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use hotswap_core::domain::{Digest, ModuleKind, ResourceLimits, Value, ValueType};
use hotswap_core::runtime::kit::{self, Export, Exports, Gate, Slot, WasiInput};
use hotswap_core::runtime::{
    CallOutput, CompiledModule, FunctionSignature, Invocation, InvokeNow, Param,
};
use hotswap_core::{Error, Result};
use wasmer::sys::NativeEngineExt;
use wasmer::{ExternType, Imports, Instance, Module, Store, Type};
use wasmer_middlewares::metering::{self, MeteringPoints};
use wasmer_wasix::WasiError;

use crate::WasmerConfig;
use crate::engine::Engines;
use crate::errors::{Failure, call_error, instantiate_error};
use crate::tunables::CallTunables;
use crate::wasi::WasiHost;
use crate::watchdog::Watchdog;

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
    shared: Arc<Shared>,
    digest: Digest,
    limits: ResourceLimits,
    module: Module,
    engine: wasmer::Engine,
    wasi: bool,
    /// Whether the module defines memories the limit must cap.
    has_memory: bool,
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
        Type::I32 => Some(ValueType::S32),
        Type::I64 => Some(ValueType::S64),
        Type::F32 => Some(ValueType::F32),
        Type::F64 => Some(ValueType::F64),
        _ => None,
    }
}

fn to_wasmer(v: &Value) -> Result<wasmer::Value> {
    Ok(match v {
        Value::S32(x) => wasmer::Value::I32(*x),
        Value::S64(x) => wasmer::Value::I64(*x),
        Value::F32(x) => wasmer::Value::F32(*x),
        Value::F64(x) => wasmer::Value::F64(*x),
        other => {
            return Err(Error::invalid(
                "arguments",
                format!(
                    "a core function takes i32, i64, f32 or f64, not {}",
                    other.kind()
                ),
            ));
        }
    })
}

fn from_wasmer(v: &wasmer::Value) -> Result<Value> {
    Ok(match v {
        wasmer::Value::I32(x) => Value::S32(*x),
        wasmer::Value::I64(x) => Value::S64(*x),
        wasmer::Value::F32(x) => Value::F32(*x),
        wasmer::Value::F64(x) => Value::F64(*x),
        _ => {
            return Err(Error::internal(
                "a core function returned a value hotswap cannot map",
            ));
        }
    })
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
    pub(crate) fn new(
        shared: Arc<Shared>,
        digest: Digest,
        limits: ResourceLimits,
        module: Module,
        engine: wasmer::Engine,
    ) -> Result<Self> {
        let wasi = wasi_imports(&module)?;
        let gate = Gate::new(
            "max_concurrent_instances",
            limits.max_concurrent_instances,
            shared.config.queue_capacity,
        );
        Ok(Self {
            has_memory: !module.info().memories.is_empty(),
            exports: exports(&module),
            shared,
            digest,
            limits,
            module,
            engine,
            wasi,
            gate,
        })
    }

    /// A fresh store for one call, whose memories `refused` watches.
    fn store(&self, refused: &Arc<AtomicBool>) -> Store {
        let mut engine = self.engine.clone();
        if self.has_memory {
            engine.set_tunables(CallTunables::new(
                self.shared.engines.base_tunables.clone(),
                self.limits.max_memory_bytes,
                refused.clone(),
            ));
        }
        Store::new(engine)
    }

    /// The fuel budget of a call, when metering is on.
    fn budget(&self) -> Option<u64> {
        self.shared
            .config
            .fuel
            .then(|| self.limits.fuel.unwrap_or(u64::MAX))
    }

    fn start_metering(&self, store: &mut Store, instance: &Instance) {
        if let Some(budget) = self.budget() {
            metering::set_remaining_points(store, instance, budget);
        }
    }

    fn fuel_used(&self, store: &mut Store, instance: &Instance) -> Option<u64> {
        let budget = self.budget()?;
        match metering::get_remaining_points(store, instance) {
            MeteringPoints::Remaining(left) => Some(budget.saturating_sub(left)),
            MeteringPoints::Exhausted => Some(budget),
        }
    }

    /// What a failed call ran under and ran into.
    fn failure(
        &self,
        store: &mut Store,
        instance: Option<&Instance>,
        refused: &AtomicBool,
    ) -> Failure {
        Failure {
            timeout: self.limits.timeout(),
            fuel: self.budget(),
            fuel_exhausted: self.budget().is_some()
                && instance.is_some_and(|i| {
                    metering::get_remaining_points(store, i) == MeteringPoints::Exhausted
                }),
            memory_bytes: self.limits.max_memory_bytes,
            memory_refused: refused.load(Ordering::Relaxed),
        }
    }

    /// Run `name` on `instance` under the watchdog.
    fn run(
        &self,
        store: &mut Store,
        instance: &Instance,
        name: &str,
        args: &[Value],
    ) -> Result<std::result::Result<Box<[wasmer::Value]>, wasmer::RuntimeError>> {
        let func = instance
            .exports
            .get_function(name)
            .map_err(|e| Error::internal(format!("export {name} vanished: {e}")))?;
        let params = args.iter().map(to_wasmer).collect::<Result<Vec<_>>>()?;
        self.start_metering(store, instance);
        let _watched = self
            .shared
            .watchdog
            .watch(store.interrupter(), self.limits.timeout());
        Ok(func.call(store, &params))
    }

    fn call_plain(&self, export: &Export<()>, args: &[Value]) -> Result<CallOutput> {
        let refused = Arc::new(AtomicBool::new(false));
        let mut store = self.store(&refused);
        let instance = Instance::new(&mut store, &self.module, &Imports::new())
            .map_err(|e| instantiate_error(e, self.failure(&mut store, None, &refused)))?;
        let results = self
            .run(&mut store, &instance, &export.signature.name, args)?
            .map_err(|e| call_error(e, self.failure(&mut store, Some(&instance), &refused)))?;
        let mut out =
            CallOutput::from_values(results.iter().map(from_wasmer).collect::<Result<_>>()?);
        out.fuel_consumed = self.fuel_used(&mut store, &instance);
        Ok(out)
    }

    fn call_wasi(
        &self,
        export: &Export<()>,
        input: WasiInput,
        call: &Invocation,
    ) -> Result<CallOutput> {
        let config = &self.shared.config;
        let (builder, pipes) = self.shared.wasi.builder(
            &call.function,
            input.stdin,
            &call.env,
            &config.env_allowlist,
            config.max_output_bytes,
        )?;
        let refused = Arc::new(AtomicBool::new(false));
        let mut store = self.store(&refused);
        let wasi_error = |e: &dyn fmt::Display| Error::internal(format!("cannot set up WASI: {e}"));
        let mut env = builder.finalize(&mut store).map_err(|e| wasi_error(&e))?;
        let imports = env
            .import_object(&mut store, &self.module)
            .map_err(|e| Error::invalid("imports", e.to_string()))?;
        let instance = Instance::new(&mut store, &self.module, &imports)
            .map_err(|e| instantiate_error(e, self.failure(&mut store, None, &refused)))?;
        env.initialize(&mut store, instance.clone())
            .map_err(|e| wasi_error(&e))?;
        let outcome = self.run(&mut store, &instance, &export.signature.name, &input.args)?;
        let (values, exit_code) = match outcome {
            Ok(results) => (
                results
                    .iter()
                    .map(from_wasmer)
                    .collect::<Result<Vec<_>>>()?,
                input.command.then_some(0),
            ),
            Err(e) => match e.downcast_ref::<WasiError>() {
                Some(WasiError::Exit(code)) => (Vec::new(), Some(code.raw())),
                _ => {
                    let failure = self.failure(&mut store, Some(&instance), &refused);
                    env.on_exit(&mut store, None);
                    return Err(call_error(e, failure));
                }
            },
        };
        let fuel = self.fuel_used(&mut store, &instance);
        env.on_exit(&mut store, None);
        drop(store);
        let mut out = CallOutput::from_values(values);
        out.stdout = pipes.stdout.contents();
        out.stderr = pipes.stderr.contents();
        out.exit_code = exit_code;
        out.fuel_consumed = fuel;
        Ok(out)
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
            || self.shared.try_enter(&self.gate),
            |export, args| {
                hotswap_core::runtime::kit::Attempt::Done(self.call_plain(export, &args))
            },
        )
    }

    async fn invoke(&self, call: Invocation) -> Result<CallOutput> {
        // Input is checked before a slot is taken: bad input never waits.
        let export = self.exports.get(&call.function)?;
        if self.wasi {
            let input = WasiInput::of(&export.signature, &call, call.function == "_start")?;
            let _slots = self.shared.enter(&self.gate).await?;
            self.call_wasi(export, input, &call)
        } else {
            let args = kit::arguments(&export.signature, call.input)?;
            let _slots = self.shared.enter(&self.gate).await?;
            self.call_plain(export, &args)
        }
    }
}

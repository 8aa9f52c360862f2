//! Core wasm modules: plain ones called synchronously, WASI preview 1 ones
//! run asynchronously with captured stdio.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use hotswap_core::domain::{ConfigValues, Digest, ModuleKind, ResourceLimits, Value, ValueType};
use hotswap_core::runtime::kit::{self as call, Export, Exports, Gate, WasiInput};
use hotswap_core::runtime::{
    CallOutput, CompiledModule, FunctionSignature, Invocation, InvokeNow, Param,
};
use hotswap_core::{Error, Result};
use wasmtime::{ExternType, InstancePre, Module, ModuleExport, ValRaw};

use crate::errors::{call_error, instantiate_error, wasi_exit};
use crate::limiter::{Limiter, Plain, WasiP1};
use crate::shared::Shared;
use crate::values::{core_type, from_core, to_core};
use hotswap_core::LimitKind;

pub(crate) enum CorePre {
    Plain(InstancePre<Plain>),
    Wasi(InstancePre<WasiP1>),
}

/// A compiled core module version.
pub(crate) struct CoreModule {
    shared: Arc<Shared>,
    digest: Digest,
    limits: ResourceLimits,
    pre: CorePre,
    module: Module,
    /// Whether the module defines memories or tables the limiter watches.
    grows: bool,
    /// Built on first use: a module with thousands of exports then loads
    /// as fast as wasmtime deserializes it.
    exports: OnceLock<Exports<ModuleExport>>,
    gate: Gate,
    /// The configuration a WASI command gets as its environment.
    config: Arc<ConfigValues>,
}

impl fmt::Debug for CoreModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreModule")
            .field("digest", &self.digest)
            .field("wasi", &matches!(self.pre, CorePre::Wasi(_)))
            .field("functions", &self.exports.get().map(|e| e.signatures.len()))
            .finish()
    }
}

/// The callable function exports of `module` with their signatures.
pub(crate) fn exports(module: &Module) -> Exports<ModuleExport> {
    let mut callable = Vec::new();
    let mut unmappable = Vec::new();
    for export in module.exports() {
        let ExternType::Func(ty) = export.ty() else {
            continue;
        };
        let params: Option<Vec<Param>> = ty
            .params()
            .enumerate()
            .map(|(i, t)| {
                Some(Param {
                    name: format!("p{i}"),
                    ty: core_type(&t)?,
                })
            })
            .collect();
        let results: Option<Vec<ValueType>> = ty.results().map(|t| core_type(&t)).collect();
        match (params, results, module.get_export_index(export.name())) {
            (Some(params), Some(results), Some(index)) => callable.push(Export {
                index,
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

impl CoreModule {
    pub(crate) fn new(
        shared: Arc<Shared>,
        digest: Digest,
        limits: ResourceLimits,
        module: &Module,
        pre: CorePre,
        config: Arc<ConfigValues>,
    ) -> Self {
        let gate = Gate::new(
            LimitKind::ConcurrentInstances,
            limits.max_concurrent_instances,
            shared.config.settings.queue_capacity,
        );
        Self {
            module: module.clone(),
            grows: {
                let r = module.resources_required();
                r.num_memories > 0 || r.num_tables > 0
            },
            exports: OnceLock::new(),
            shared,
            digest,
            limits,
            pre,
            gate,
            config,
        }
    }

    fn exports(&self) -> &Exports<ModuleExport> {
        self.exports.get_or_init(|| exports(&self.module))
    }

    fn call_plain(
        &self,
        pre: &InstancePre<Plain>,
        export: &Export<ModuleExport>,
        args: &[Value],
        budget: Duration,
    ) -> Result<CallOutput> {
        run_plain(
            &self.shared,
            &self.limits,
            self.grows,
            pre,
            export,
            args,
            budget,
        )
    }

    /// The whole call on a blocking thread.
    async fn offload(
        &self,
        pre: &InstancePre<Plain>,
        export: &Export<ModuleExport>,
        args: Vec<Value>,
    ) -> Result<CallOutput> {
        let (shared, limits, grows) = (self.shared.clone(), self.limits, self.grows);
        let (pre, export) = (pre.clone(), export.clone());
        call::off_the_hot_path(move || {
            run_plain(
                &shared,
                &limits,
                grows,
                &pre,
                &export,
                &args,
                limits.timeout(),
            )
        })
        .await
    }

    async fn call_wasi(
        &self,
        pre: &InstancePre<WasiP1>,
        export: &Export<ModuleExport>,
        input: WasiInput,
        call: &Invocation,
    ) -> Result<CallOutput> {
        let WasiInput {
            command,
            stdin,
            args,
        } = input;
        let params = args.iter().map(to_core).collect::<Result<Vec<_>>>()?;
        let limits = self.shared.call_limits(&self.limits);
        let (mut builder, pipes) = self
            .shared
            .wasi(&call.function, stdin, &call.env, &self.config);
        let data = WasiP1 {
            limiter: Limiter::new(self.limits.max_memory_bytes),
            wasi: builder.build_p1(),
        };
        let mut store = self
            .shared
            .store(data, &self.limits, true, self.limits.timeout())?;
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| instantiate_error(e, limits, store.data().limiter.memory_refused))?;
        let func = instance
            .get_module_export(&mut store, &export.index)
            .and_then(wasmtime::Extern::into_func)
            .ok_or_else(|| Error::internal("export index does not name a function"))?;
        let mut results = vec![wasmtime::Val::I32(0); export.signature.results.len()];
        let outcome = func.call_async(&mut store, &params, &mut results).await;
        let memory_refused = store.data().limiter.memory_refused;
        let exit_code = wasi_exit(outcome, command.then_some(0), limits, memory_refused)?;
        let fuel = self.shared.fuel_used(&store, &self.limits);
        drop(store);
        let values = if command {
            Vec::new()
        } else {
            results.iter().map(from_core).collect::<Result<_>>()?
        };
        Ok(pipes.output(values, exit_code, fuel))
    }
}

#[async_trait]
impl CompiledModule for CoreModule {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Core
    }

    fn functions(&self) -> &[FunctionSignature] {
        &self.exports().signatures
    }

    fn invoke_now(&self, call: Invocation) -> InvokeNow {
        let CorePre::Plain(pre) = &self.pre else {
            return InvokeNow::Later(call);
        };
        call::invoke_now(
            self.exports(),
            call,
            || self.shared.try_enter(&self.gate),
            |export, args| {
                self.shared.attempt(&self.limits, |budget| {
                    self.call_plain(pre, export, &args, budget)
                })
            },
        )
    }

    async fn invoke(&self, call: Invocation) -> Result<CallOutput> {
        // Input is checked before a slot is taken: bad input never waits.
        let export = self.exports().get(&call.function)?;
        match &self.pre {
            CorePre::Plain(pre) => {
                let args = call::arguments(&export.signature, call.input)?;
                call::invoke_plain(
                    args,
                    call.long_running,
                    self.shared.enter(&self.gate),
                    |args| {
                        self.shared.attempt(&self.limits, |budget| {
                            self.call_plain(pre, export, args, budget)
                        })
                    },
                    |args| self.offload(pre, export, args),
                )
                .await
            }
            CorePre::Wasi(pre) => {
                let input = WasiInput::of(&export.signature, &call, call.function == "_start")?;
                let _slots = self.shared.enter(&self.gate).await?;
                self.call_wasi(pre, export, input, &call).await
            }
        }
    }
}

/// One plain call of `export` with `args` in a fresh instance, interrupted
/// after `budget`.
fn run_plain(
    shared: &Shared,
    limits: &ResourceLimits,
    grows: bool,
    pre: &InstancePre<Plain>,
    export: &Export<ModuleExport>,
    args: &[Value],
    budget: Duration,
) -> Result<CallOutput> {
    let mut call_limits = shared.call_limits(limits);
    call_limits.timeout = budget;
    let mut store = shared.store(Limiter::new(limits.max_memory_bytes), limits, grows, budget)?;
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| instantiate_error(e, call_limits, store.data().memory_refused))?;
    let func = instance
        .get_module_export(&mut store, &export.index)
        .and_then(wasmtime::Extern::into_func)
        .ok_or_else(|| Error::internal("export index does not name a function"))?;
    let values = call_numeric(&func, &mut store, &export.signature, args)
        .map_err(|e| call_error(e, call_limits, store.data().memory_refused))?;
    let mut out = CallOutput::from_values(values);
    out.fuel_consumed = shared.fuel_used(&store, limits);
    Ok(out)
}

/// Most values a call passes on the stack; more go through a `Vec`.
const INLINE_VALUES: usize = 8;

/// Call a core function whose signature holds only numbers, without the
/// per-call type check of `Func::call` (which takes a reference on the
/// engine's shared type registry, a cache line every core fights over).
#[allow(unsafe_code)]
fn call_numeric(
    func: &wasmtime::Func,
    store: &mut wasmtime::Store<Plain>,
    signature: &FunctionSignature,
    args: &[Value],
) -> wasmtime::Result<Vec<Value>> {
    let len = signature.params.len().max(signature.results.len());
    let mut inline = [ValRaw::i32(0); INLINE_VALUES];
    let mut heap = Vec::new();
    let buffer: &mut [ValRaw] = if len <= INLINE_VALUES {
        &mut inline[..len]
    } else {
        heap.resize(len, ValRaw::i32(0));
        &mut heap
    };
    for (slot, value) in buffer.iter_mut().zip(args) {
        *slot = match value {
            Value::S32(x) => ValRaw::i32(*x),
            Value::S64(x) => ValRaw::i64(*x),
            Value::F32(x) => ValRaw::f32(x.to_bits()),
            Value::F64(x) => ValRaw::f64(x.to_bits()),
            other => wasmtime::bail!("a core function takes numbers, not {}", other.kind()),
        };
    }
    // SAFETY: `signature` was derived from this export's own function type
    // when the module was loaded, holding only i32/i64/f32/f64 (functions
    // with other types are not callable); the arguments were checked against
    // it before the call (`call::arguments`) and written above with the
    // matching `ValRaw` constructors; the buffer holds max(params, results)
    // values; there are no references to keep alive; and this is a plain
    // synchronous call on a synchronous store, not nested in `call_async`.
    unsafe { func.call_unchecked(&mut *store, buffer as *mut [ValRaw])? };
    Ok(signature
        .results
        .iter()
        .zip(buffer.iter())
        .map(|(ty, raw)| match ty {
            ValueType::I64 => Value::S64(raw.get_i64()),
            ValueType::F32 => Value::F32(f32::from_bits(raw.get_f32())),
            ValueType::F64 => Value::F64(f64::from_bits(raw.get_f64())),
            _ => Value::S32(raw.get_i32()),
        })
        .collect())
}

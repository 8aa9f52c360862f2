//! One call of a compiled version: a fresh store and instance, metering,
//! the memory cap, the watchdog, and the mapping of values and failures.
//! [`Code`] is cheap to clone, so a long call can move to a blocking
//! thread.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hotswap_core::domain::{ConfigValues, ResourceLimits, Value};
use hotswap_core::runtime::kit::{Export, WasiInput};
use hotswap_core::runtime::{CallOutput, Invocation};
use hotswap_core::{Error, Result};
use wasmer::sys::NativeEngineExt;
use wasmer::{Imports, Instance, Module, Store};
use wasmer_middlewares::metering::{self, MeteringPoints};
use wasmer_wasix::WasiError;

use crate::errors::{Failure, call_error, instantiate_error};
use crate::module::Shared;
use crate::tunables::CallTunables;

/// What a call of one version runs: its module, engine and limits.
#[derive(Clone)]
pub(crate) struct Code {
    pub(crate) shared: Arc<Shared>,
    pub(crate) limits: ResourceLimits,
    pub(crate) module: Module,
    pub(crate) engine: wasmer::Engine,
    /// Whether the module defines memories the limit must cap.
    pub(crate) has_memory: bool,
    /// The configuration a WASI command gets as its environment.
    pub(crate) config: Arc<ConfigValues>,
}

impl Code {
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
            .settings
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

    /// Run `name` on `instance`, interrupted by the watchdog after
    /// `budget`.
    fn run(
        &self,
        store: &mut Store,
        instance: &Instance,
        name: &str,
        args: &[Value],
        budget: Duration,
    ) -> Result<std::result::Result<Box<[wasmer::Value]>, wasmer::RuntimeError>> {
        let func = instance
            .exports
            .get_function(name)
            .map_err(|e| Error::internal(format!("export {name} vanished: {e}")))?;
        let params = args.iter().map(to_wasmer).collect::<Result<Vec<_>>>()?;
        self.start_metering(store, instance);
        let _watched = self.shared.watchdog.watch(store.interrupter(), budget);
        Ok(func.call(store, &params))
    }

    /// One plain call of `name` with `args` in a fresh instance,
    /// interrupted after `budget` (a timeout error still names the
    /// version's whole timeout).
    pub(crate) fn call_plain(
        &self,
        name: &str,
        args: &[Value],
        budget: Duration,
    ) -> Result<CallOutput> {
        let refused = Arc::new(AtomicBool::new(false));
        let mut store = self.store(&refused);
        let instance = Instance::new(&mut store, &self.module, &Imports::new())
            .map_err(|e| instantiate_error(e, self.failure(&mut store, None, &refused)))?;
        let results = self
            .run(&mut store, &instance, name, args, budget)?
            .map_err(|e| call_error(e, self.failure(&mut store, Some(&instance), &refused)))?;
        let mut out =
            CallOutput::from_values(results.iter().map(from_wasmer).collect::<Result<_>>()?);
        out.fuel_consumed = self.fuel_used(&mut store, &instance);
        Ok(out)
    }

    /// One WASI call in a fresh instance, with its whole timeout.
    pub(crate) fn call_wasi(
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
            &config.settings.env_allowlist,
            &self.config,
            config.settings.max_output_bytes,
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
        let outcome = self.run(
            &mut store,
            &instance,
            &export.signature.name,
            &input.args,
            self.limits.timeout(),
        )?;
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

//! State shared by the runtime and every module it compiled.

use std::time::Duration;

use bytes::Bytes;
use hotswap_core::domain::{ConfigValues, ResourceLimits};
use hotswap_core::runtime::CallOutput;
use hotswap_core::runtime::kit::{self, Attempt, Gate, Slot, enter_both, try_enter_both};
use hotswap_core::{Error, Result};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::WasmtimeConfig;
use crate::errors::CallLimits;
use crate::limiter::HasLimiter;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) config: WasmtimeConfig,
    /// Instance slots of the whole engine (the pool's capacity).
    pub(crate) engine_gate: std::sync::Arc<Gate>,
}

/// The pipes of one WASI call.
pub(crate) struct Pipes {
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
}

impl Pipes {
    /// The output of a finished WASI call (its store already dropped).
    pub(crate) fn output(
        self,
        values: Vec<hotswap_core::domain::Value>,
        exit_code: Option<i32>,
        fuel_consumed: Option<u64>,
    ) -> hotswap_core::runtime::CallOutput {
        let mut out = hotswap_core::runtime::CallOutput::from_values(values);
        out.stdout = self.stdout.contents();
        out.stderr = self.stderr.contents();
        out.exit_code = exit_code;
        out.fuel_consumed = fuel_consumed;
        out
    }
}

impl Shared {
    /// A slot of the engine's pool, then one of the version's `gate`.
    pub(crate) async fn enter<'a>(&'a self, gate: &'a Gate) -> Result<(Slot<'a>, Slot<'a>)> {
        enter_both(&self.engine_gate, gate).await
    }

    /// Both slots of [`Shared::enter`] if both are free now.
    pub(crate) fn try_enter<'a>(&'a self, gate: &'a Gate) -> Option<(Slot<'a>, Slot<'a>)> {
        try_enter_both(&self.engine_gate, gate)
    }

    /// Epoch ticks to allow a call of `timeout`: one extra tick because the
    /// current tick may end at once, so the call gets at least `timeout` and
    /// ends within `timeout` + 2 ticks.
    pub(crate) fn deadline_ticks(&self, timeout: Duration) -> u64 {
        let tick = self.config.epoch_tick.as_nanos().max(1);
        let ticks = timeout.as_nanos().div_ceil(tick);
        u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1)
    }

    /// A fresh store for one call under `limits`, interrupted after
    /// `budget` (the call's timeout, or a first attempt's slice). `grows`
    /// says whether the module has memories or tables for the limiter to
    /// watch; without any, the call skips the limiter.
    pub(crate) fn store<T: HasLimiter>(
        &self,
        data: T,
        limits: &ResourceLimits,
        grows: bool,
        budget: Duration,
    ) -> Result<Store<T>> {
        let mut store = Store::new(&self.engine, data);
        if grows {
            store.limiter(|d| d.limiter());
        }
        store.set_epoch_deadline(self.deadline_ticks(budget));
        if self.config.settings.fuel {
            store
                .set_fuel(limits.fuel.unwrap_or(u64::MAX))
                .map_err(|e| Error::internal(format!("cannot set fuel: {e}")))?;
        }
        Ok(store)
    }

    /// A first attempt at a plain call under `limits` (see
    /// [`kit::attempt`]).
    pub(crate) fn attempt(
        &self,
        limits: &ResourceLimits,
        run: impl FnOnce(Duration) -> Result<CallOutput>,
    ) -> Attempt {
        kit::attempt(limits.timeout(), self.config.epoch_tick, run)
    }

    /// Fuel a finished call used, when metering is on.
    pub(crate) fn fuel_used<T>(&self, store: &Store<T>, limits: &ResourceLimits) -> Option<u64> {
        if !self.config.settings.fuel {
            return None;
        }
        let left = store.get_fuel().ok()?;
        Some(limits.fuel.unwrap_or(u64::MAX).saturating_sub(left))
    }

    /// The limits a failed call is described with.
    pub(crate) fn call_limits(&self, limits: &ResourceLimits) -> CallLimits {
        CallLimits {
            timeout: limits.timeout(),
            fuel: limits.fuel.filter(|_| self.config.settings.fuel),
            memory_bytes: limits.max_memory_bytes,
        }
    }

    /// A WASI context builder with `stdin`, captured stdout and stderr, the
    /// version's configuration and the allowed part of `env` as its
    /// environment, and no filesystem or network.
    pub(crate) fn wasi(
        &self,
        program: &str,
        stdin: Bytes,
        env: &[(String, String)],
        config: &ConfigValues,
    ) -> (WasiCtxBuilder, Pipes) {
        let pipes = Pipes {
            stdout: MemoryOutputPipe::new(self.config.settings.max_output_bytes),
            stderr: MemoryOutputPipe::new(self.config.settings.max_output_bytes),
        };
        let mut b = WasiCtxBuilder::new();
        b.stdin(MemoryInputPipe::new(stdin))
            .stdout(pipes.stdout.clone())
            .stderr(pipes.stderr.clone())
            .arg(program)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (k, v) in kit::command_env(config, env, &self.config.settings.env_allowlist) {
            b.env(k, v);
        }
        (b, pipes)
    }
}

//! Mapping wasmtime's errors onto hotswap's.

use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::LimitKind;
use wasmtime::{Trap, WasmBacktrace};

/// What a failed call ran under, for naming the limit it hit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallLimits {
    pub(crate) timeout: Duration,
    pub(crate) fuel: Option<u64>,
    pub(crate) memory_bytes: u64,
}

/// Map an error from instantiating or calling into a distinct hotswap error.
pub(crate) fn call_error(err: wasmtime::Error, limits: CallLimits, memory_refused: bool) -> Error {
    let backtrace = || err.downcast_ref::<WasmBacktrace>().map(|b| b.to_string());
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Timeout {
            after: limits.timeout,
        },
        Some(Trap::OutOfFuel) => Error::FuelExhausted {
            budget: limits.fuel.unwrap_or(u64::MAX),
        },
        _ if memory_refused => Error::MemoryLimitExceeded {
            limit_bytes: limits.memory_bytes,
        },
        // wasmtime's own text already says "wasm trap: ".
        Some(trap) => Error::trap(trap.to_string(), backtrace()),
        None => Error::trap(format!("{err:#}"), backtrace()),
    }
}

/// Map an instantiation failure: an exhausted pool is over capacity; the
/// rest (a trapping start function, say) are call errors.
pub(crate) fn instantiate_error(
    err: wasmtime::Error,
    limits: CallLimits,
    memory_refused: bool,
) -> Error {
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return Error::limit_exceeded(
            LimitKind::Instances,
            format!("the instance pool is full: {err:#}"),
        );
    }
    call_error(err, limits, memory_refused)
}

/// A compile-time failure of input that passed validation.
pub(crate) fn compile_error(err: wasmtime::Error) -> Error {
    Error::invalid("wasm", format!("cannot compile: {err:#}"))
}

/// The exit code of a finished WASI call: `returned` when it returned, the
/// code passed to `proc_exit` when it exited, else the mapped call error.
pub(crate) fn wasi_exit(
    outcome: wasmtime::Result<()>,
    returned: Option<i32>,
    limits: CallLimits,
    memory_refused: bool,
) -> Result<Option<i32>, Error> {
    match outcome {
        Ok(()) => Ok(returned),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(Some(exit.0)),
            None => Err(call_error(e, limits, memory_refused)),
        },
    }
}

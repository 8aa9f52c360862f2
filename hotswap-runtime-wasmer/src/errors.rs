//! Mapping wasmer's errors onto hotswap's.

use std::fmt::Write as _;
use std::time::Duration;

use hotswap_core::Error;
use wasmer::sys::vm::TrapCode;
use wasmer::{InstantiationError, RuntimeError};

/// What a failed call ran under, and what the runtime saw happen.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Failure {
    pub(crate) timeout: Duration,
    /// The fuel budget, when metering is on.
    pub(crate) fuel: Option<u64>,
    /// The metering middleware ran out of points.
    pub(crate) fuel_exhausted: bool,
    pub(crate) memory_bytes: u64,
    /// A memory grow (or creation) was refused for passing the limit.
    pub(crate) memory_refused: bool,
}

/// Map an error from calling into a distinct hotswap error.
pub(crate) fn call_error(err: RuntimeError, failure: Failure) -> Error {
    if err.clone().to_trap() == Some(TrapCode::HostInterrupt) {
        return Error::Timeout {
            after: failure.timeout,
        };
    }
    if failure.fuel_exhausted {
        return Error::FuelExhausted {
            budget: failure.fuel.unwrap_or(u64::MAX),
        };
    }
    if failure.memory_refused {
        return Error::MemoryLimitExceeded {
            limit_bytes: failure.memory_bytes,
        };
    }
    Error::trap(err.message(), backtrace(&err))
}

/// Map an instantiation failure: a start function's trap is a call error,
/// a memory the limit refused is `MemoryLimitExceeded`, the rest are the
/// module's imports not being satisfiable.
pub(crate) fn instantiate_error(err: InstantiationError, failure: Failure) -> Error {
    match err {
        _ if failure.memory_refused => Error::MemoryLimitExceeded {
            limit_bytes: failure.memory_bytes,
        },
        InstantiationError::Start(e) => call_error(e, failure),
        other => Error::invalid("imports", format!("cannot instantiate: {other}")),
    }
}

/// The wasm frames of a trap, innermost first; `None` without frames.
fn backtrace(err: &RuntimeError) -> Option<String> {
    let frames = err.trace();
    if frames.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, frame) in frames.iter().enumerate() {
        let _ = write!(out, "{i:>4}: {}!", frame.module_name());
        let _ = match frame.function_name() {
            Some(name) => write!(out, "{name}"),
            None => write!(out, "<wasm function {}>", frame.func_index()),
        };
        let _ = writeln!(out, " @ {:#x}", frame.module_offset());
    }
    Some(out)
}

/// A compile-time failure of input that passed validation.
pub(crate) fn compile_error(err: wasmer::CompileError) -> Error {
    Error::invalid("wasm", format!("cannot compile: {err}"))
}

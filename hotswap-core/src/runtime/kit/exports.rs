//! Preparing a call: finding the export and checking the input.

use std::future::Future;
use std::time::Duration;

use rustc_hash::FxHashMap;

use bytes::Bytes;

use crate::domain::Value;
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::runtime::{CallInput, CallOutput, FunctionSignature, Invocation, InvokeNow};

/// A callable export and its signature.
#[derive(Debug, Clone)]
pub struct Export<I> {
    /// How the runtime finds the export quickly.
    pub index: I,
    /// Its signature.
    pub signature: FunctionSignature,
}

/// The exports of a module by name, and their signatures in order.
#[derive(Debug)]
pub struct Exports<I> {
    /// Fx-hashed: lookups happen on every call, and the keys are the
    /// module's own export names.
    by_name: FxHashMap<String, Export<I>>,
    /// The signatures, in export order.
    pub signatures: Vec<FunctionSignature>,
    /// Exports that exist but take or return types a call cannot carry.
    unmappable: Vec<String>,
}

impl<I: Clone> Exports<I> {
    /// The callable `exports`, and the names of exports whose types a
    /// call cannot carry.
    pub fn new(exports: Vec<Export<I>>, unmappable: Vec<String>) -> Self {
        let signatures = exports.iter().map(|e| e.signature.clone()).collect();
        let by_name = exports
            .into_iter()
            .map(|e| (e.signature.name.clone(), e))
            .collect();
        Self {
            by_name,
            signatures,
            unmappable,
        }
    }

    /// The export `name`, or `NotFound` naming it (or `Invalid` when it
    /// exists with types a call cannot carry).
    pub fn get(&self, name: &str) -> Result<&Export<I>> {
        if let Some(e) = self.by_name.get(name) {
            return Ok(e);
        }
        if self.unmappable.iter().any(|u| u == name) {
            return Err(Error::invalid(
                "function",
                format!(
                    "{name} uses types (resources, references, v128, ...) that a call cannot carry"
                ),
            ));
        }
        Err(Error::not_found(ResourceKind::Function, name))
    }
}

/// The arguments of a function call, checked against `signature`.
pub fn arguments(signature: &FunctionSignature, input: CallInput) -> Result<Vec<Value>> {
    match input {
        CallInput::Json(json) => signature.args_from_json(&json),
        CallInput::Values(values) => {
            signature.check_args(&values)?;
            Ok(values)
        }
        CallInput::Stdin(_) => Err(Error::invalid(
            "input",
            format!(
                "{} is a function; stdin is for WASI commands (_start)",
                signature.name
            ),
        )),
    }
}

/// The stdin of a command call, refusing function-call inputs.
pub fn stdin(call: &Invocation) -> Result<Bytes> {
    match &call.input {
        CallInput::Stdin(bytes) => Ok(bytes.clone()),
        CallInput::Json(serde_json::Value::Null) => Ok(Bytes::new()),
        CallInput::Values(v) if v.is_empty() => Ok(Bytes::new()),
        _ => Err(Error::invalid(
            "input",
            "a WASI command takes its input on stdin, not as arguments",
        )),
    }
}

/// The checked input of a call on a WASI module: a command (`_start`, or
/// `command` said by the caller) takes stdin, a function takes arguments.
#[derive(Debug)]
pub struct WasiInput {
    /// Whether the call runs a command.
    pub command: bool,
    /// Its stdin (empty for a function).
    pub stdin: Bytes,
    /// Its arguments (none for a command).
    pub args: Vec<Value>,
}

impl WasiInput {
    /// The input of `call` on the export with `signature`; `command` says
    /// whether it runs a command.
    pub fn of(signature: &FunctionSignature, call: &Invocation, command: bool) -> Result<Self> {
        Ok(if command {
            Self {
                command,
                stdin: stdin(call)?,
                args: Vec::new(),
            }
        } else {
            Self {
                command,
                stdin: Bytes::new(),
                args: arguments(signature, call.input.clone())?,
            }
        })
    }
}

/// How long a plain call may run on the calling (async) thread before it
/// is stopped and run again off the async threads: a long call must not
/// hold up the other tasks of a thread. Calls are fresh instances without
/// host imports, so running one again is invisible to the caller.
pub const FAST_SLICE: Duration = Duration::from_millis(20);

/// What a time-sliced attempt at a plain call did.
#[derive(Debug)]
pub enum Attempt {
    /// It finished (or failed) within its slice.
    Done(Result<CallOutput>),
    /// It ran past its slice and was stopped; run it off the async threads.
    Overran,
}

/// A first attempt at a plain call whose timeout is `timeout`, on a
/// runtime that interrupts calls every `tick`: `run` with [`FAST_SLICE`]
/// (at least one tick) as its budget, and [`Attempt::Overran`] when it
/// timed out there. When the timeout is not longer than the slice plus two
/// ticks, slicing would only waste the first attempt: `run` gets the whole
/// timeout and its outcome stands.
pub fn attempt(
    timeout: Duration,
    tick: Duration,
    run: impl FnOnce(Duration) -> Result<CallOutput>,
) -> Attempt {
    let slice = FAST_SLICE.max(tick);
    if timeout <= slice + tick * 2 {
        return Attempt::Done(run(timeout));
    }
    match run(slice) {
        Err(Error::Timeout { .. }) => Attempt::Overran,
        other => Attempt::Done(other),
    }
}

/// The arguments of `input` for `signature`, leaving `input` as it is.
pub fn arguments_of(signature: &FunctionSignature, input: &CallInput) -> Result<Vec<Value>> {
    match input {
        CallInput::Json(json) => signature.args_from_json(json),
        CallInput::Values(values) => {
            signature.check_args(values)?;
            Ok(values.clone())
        }
        other => arguments(signature, other.clone()),
    }
}

/// The async call of a plain (non-WASI) function, as every adapter makes
/// it once its input is checked (`args`): wait for the slots (`enter`),
/// run a time-sliced `attempt` on this thread unless the call is known to
/// run long, and run a call that overran again, whole, with `long` (which
/// moves it to a blocking thread; fresh instances without host imports
/// make the rerun invisible).
pub async fn invoke_plain<S, L>(
    args: Vec<Value>,
    long_running: bool,
    enter: impl Future<Output = Result<S>>,
    attempt: impl FnOnce(&[Value]) -> Attempt,
    long: impl FnOnce(Vec<Value>) -> L,
) -> Result<CallOutput>
where
    L: Future<Output = Result<CallOutput>>,
{
    let _slots = enter.await?;
    if !long_running && let Attempt::Done(outcome) = attempt(&args) {
        return outcome;
    }
    long(args).await
}

/// `invoke_now` of a plain (non-WASI) module: `run` a time-sliced attempt
/// at the call at once when `try_enter` gives the slots it needs, else hand
/// it back. Unknown functions and bad arguments fail at once. A call that
/// overran its slice, or is known to run long, is handed back marked
/// `long_running` with its input intact.
pub fn invoke_now<I: Clone, S>(
    exports: &Exports<I>,
    mut call: Invocation,
    try_enter: impl FnOnce() -> Option<S>,
    run: impl FnOnce(&Export<I>, Vec<Value>) -> Attempt,
) -> InvokeNow {
    let export = match exports.get(&call.function) {
        Ok(export) => export,
        Err(e) => return InvokeNow::Done(Err(e)),
    };
    if call.long_running {
        return InvokeNow::Later(call);
    }
    let Some(_slots) = try_enter() else {
        return InvokeNow::Later(call);
    };
    let args = match arguments_of(&export.signature, &call.input) {
        Ok(args) => args,
        Err(e) => return InvokeNow::Done(Err(e)),
    };
    match run(export, args) {
        Attempt::Done(outcome) => InvokeNow::Done(outcome),
        Attempt::Overran => {
            call.long_running = true;
            InvokeNow::Later(call)
        }
    }
}

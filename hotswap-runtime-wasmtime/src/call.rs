//! What the core and component modules share when preparing a call.

use rustc_hash::FxHashMap;

use bytes::Bytes;
use hotswap_core::domain::Value;
use hotswap_core::runtime::{CallInput, CallOutput, FunctionSignature, Invocation, InvokeNow};
use hotswap_core::{Error, Result};

use crate::gate::Gate;
use crate::shared::Shared;

/// A callable export and its signature.
#[derive(Debug, Clone)]
pub(crate) struct Export<I> {
    pub(crate) index: I,
    pub(crate) signature: FunctionSignature,
}

/// The exports of a module by name, and their signatures in order.
#[derive(Debug)]
pub(crate) struct Exports<I> {
    /// Fx-hashed: lookups happen on every call, and the keys are the
    /// module's own export names.
    by_name: FxHashMap<String, Export<I>>,
    pub(crate) signatures: Vec<FunctionSignature>,
    /// Exports that exist but take or return types a call cannot carry.
    unmappable: Vec<String>,
}

impl<I: Clone> Exports<I> {
    pub(crate) fn new(exports: Vec<Export<I>>, unmappable: Vec<String>) -> Self {
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
    pub(crate) fn get(&self, name: &str) -> Result<&Export<I>> {
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
        Err(Error::not_found("function", name))
    }
}

/// The arguments of a function call, checked against `signature`.
pub(crate) fn arguments(signature: &FunctionSignature, input: CallInput) -> Result<Vec<Value>> {
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
        _ => Err(Error::invalid(
            "input",
            "this kind of input is not supported",
        )),
    }
}

/// The stdin of a command call, refusing function-call inputs.
pub(crate) fn stdin(call: &Invocation) -> Result<Bytes> {
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

/// `invoke_now` of a plain (non-WASI) module: `run` the call at once when
/// both instance slots are free, else hand it back. Unknown functions fail
/// at once; arguments are checked once the slots are taken, so a call
/// handed back still holds its input.
pub(crate) fn invoke_now<I: Clone>(
    shared: &Shared,
    gate: &Gate,
    exports: &Exports<I>,
    call: Invocation,
    run: impl FnOnce(&Export<I>, Vec<Value>) -> Result<CallOutput>,
) -> InvokeNow {
    let export = match exports.get(&call.function) {
        Ok(export) => export,
        Err(e) => return InvokeNow::Done(Err(e)),
    };
    let Some(_slots) = shared.try_enter(gate) else {
        return InvokeNow::Later(call);
    };
    InvokeNow::Done(arguments(&export.signature, call.input).and_then(|args| run(export, args)))
}

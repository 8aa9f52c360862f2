//! The runtime abstraction: compile a module version once, then call its
//! functions with a fresh instance per call.

mod call;
pub mod http;
pub mod kit;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use call::{CallInput, CallOutput, FunctionSignature, Invocation, Param};

use crate::domain::{
    Digest, ModuleKind, OutboundGrants, ResourceLimits, RuntimeKind, WasiVersion, WasmFeature,
};
use crate::error::Result;

/// What a runtime adapter supports; node selection matches modules against
/// it, and conformance tests skip what it lacks (saying which capability).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuntimeCapabilities {
    /// Which runtime.
    pub kind: RuntimeKind,
    /// Runs core modules.
    pub core_modules: bool,
    /// Runs components.
    pub components: bool,
    /// WASI versions provided.
    pub wasi: Vec<WasiVersion>,
    /// Enforces fuel (CPU) budgets.
    pub fuel: bool,
    /// Enforces wall-clock timeouts by interruption.
    pub timeouts: bool,
    /// Serves components that export `wasi:http/incoming-handler` (0.2).
    #[serde(default)]
    pub wasi_http: bool,
    /// WebAssembly features it compiles (modules using others are refused
    /// at registration when no node accepts them).
    #[serde(default = "crate::domain::wasm_features::wasm2")]
    pub wasm_features: Vec<WasmFeature>,
}

impl RuntimeCapabilities {
    /// Capabilities of a runtime `kind` that runs core modules only.
    pub fn core_only(kind: RuntimeKind) -> Self {
        Self {
            kind,
            core_modules: true,
            components: false,
            wasi: Vec::new(),
            fuel: false,
            timeouts: false,
            wasi_http: false,
            wasm_features: crate::domain::wasm_features::wasm2(),
        }
    }

    /// Whether a module of `kind` using `wasi` can run; the error names the
    /// missing capability.
    pub fn supports(&self, kind: ModuleKind, wasi: Option<WasiVersion>) -> Result<()> {
        crate::domain::NodeCapabilities::of_runtime(self, u64::MAX).supports(kind, wasi)
    }
}

/// A module version to compile.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ModuleSource {
    /// Raw wasm bytes.
    pub bytes: Bytes,
    /// Their SHA-256 (the runtime's artifact cache key).
    pub digest: Digest,
    /// Limits every call of this version runs under.
    pub limits: ResourceLimits,
    /// What its calls may reach over HTTP.
    pub outbound: OutboundGrants,
    /// Who it is (`name@version`), in denial logs and metrics.
    pub label: String,
    /// The node's key-value store and the buckets this version may open;
    /// `None` on a node without a store.
    pub keyvalue: Option<KeyValueAccess>,
    /// The configuration its calls read (`wasi:config/store`, or a WASI
    /// command's environment), opened; `Debug` shows the keys only.
    pub config: Arc<crate::domain::ConfigValues>,
}

/// A version's way into the node's key-value store.
#[derive(Clone, Debug)]
pub struct KeyValueAccess {
    /// The node's store.
    pub store: Arc<dyn crate::keyvalue::KeyValueStore>,
    /// What the version may open in it.
    pub grants: crate::domain::KeyValueGrants,
}

impl ModuleSource {
    /// A source for `bytes` with default limits.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            digest: Digest::of(&bytes),
            bytes,
            limits: ResourceLimits::default(),
            outbound: OutboundGrants::default(),
            label: String::new(),
            keyvalue: None,
            config: Arc::default(),
        }
    }

    /// A source for `bytes` claimed to hash to `digest`, without hashing
    /// them here: the runtime checks the claim whenever it compiles them.
    pub fn new_unchecked(bytes: impl Into<Bytes>, digest: Digest) -> Self {
        Self {
            bytes: bytes.into(),
            digest,
            limits: ResourceLimits::default(),
            outbound: OutboundGrants::default(),
            label: String::new(),
            keyvalue: None,
            config: Arc::default(),
        }
    }

    /// Set the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Give the version `grants` in the node's key-value `store`.
    #[must_use]
    pub fn with_keyvalue(
        mut self,
        store: Arc<dyn crate::keyvalue::KeyValueStore>,
        grants: crate::domain::KeyValueGrants,
    ) -> Self {
        self.keyvalue = Some(KeyValueAccess { store, grants });
        self
    }

    /// Let the version's calls read `config`.
    #[must_use]
    pub fn with_config(mut self, config: crate::domain::ConfigValues) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Grant outbound HTTP to the version `label` (`name@version`).
    #[must_use]
    pub fn with_outbound(mut self, label: impl Into<String>, outbound: OutboundGrants) -> Self {
        self.label = label.into();
        self.outbound = outbound;
        self
    }
}

/// A wasm runtime: compiles module versions into callable modules.
///
/// Contract:
/// - `compile` identifies the module by `digest`. Bytes it compiles are
///   first checked against the digest (a mismatch is `DigestMismatch`) and
///   validated; when it already holds verified compiled code for the digest
///   (in memory, or a precompiled artifact it wrote) it may use that without
///   reading the bytes again. An artifact is checked against this engine and
///   its own checksum, and recompiled when stale, damaged or foreign — never
///   loaded blindly.
/// - It refuses what [`RuntimeHost::capabilities`] lacks with `Invalid`
///   naming the capability, and limits it cannot enforce likewise.
/// - Compiling the same bytes twice gives equivalent modules.
/// - Safe to call from many tasks at once.
#[async_trait]
pub trait RuntimeHost: Send + Sync + fmt::Debug + 'static {
    /// What this runtime supports.
    fn capabilities(&self) -> RuntimeCapabilities;

    /// Compile (or load from the artifact cache) a module version.
    async fn compile(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>>;

    /// Compile `bytes` ahead of time into this engine's artifact format.
    async fn precompile(&self, bytes: Bytes) -> Result<Bytes>;
}

/// A compiled module version, ready to call.
///
/// Contract for [`CompiledModule::invoke`]: each call gets a fresh instance
/// and store, so no state leaks between calls. Failures are distinct errors:
/// `Trap` (with the wasm backtrace), `Timeout`, `FuelExhausted`,
/// `MemoryLimitExceeded`, `NotFound { kind: ResourceKind::Function }` for an unknown
/// function, `Invalid { field: "arguments..." }` for wrong arguments, and
/// `LimitExceeded` when the version's concurrency limit and wait queue are
/// full. After any of them the module keeps serving other calls.
#[async_trait]
pub trait CompiledModule: Send + Sync + fmt::Debug + 'static {
    /// Digest of the bytes it was compiled from.
    fn digest(&self) -> Digest;

    /// Core module or component.
    fn kind(&self) -> ModuleKind;

    /// The exported functions that can be invoked, with signatures.
    fn functions(&self) -> &[FunctionSignature];

    /// Call a function in a fresh instance.
    async fn invoke(&self, call: Invocation) -> Result<CallOutput>;

    /// Run `call` at once on this thread when it needs no waiting (for
    /// example a plain function while an instance slot is free), with the
    /// same results and errors as [`CompiledModule::invoke`]; otherwise hand
    /// it back untouched for `invoke`. Callers on a hot path try this first:
    /// it skips the boxed future of `invoke`. The default hands every call
    /// back.
    fn invoke_now(&self, call: Invocation) -> InvokeNow {
        InvokeNow::Later(call)
    }

    /// Whether it exports `wasi:http/incoming-handler` (0.2.x) and so can
    /// [`serve_http`](CompiledModule::serve_http).
    fn serves_http(&self) -> bool {
        false
    }

    /// Handle one HTTP request in a fresh instance.
    ///
    /// Contract: the instance runs the handler once, never again, under the
    /// version's limits; its wall-clock timeout covers the whole handler,
    /// streaming included. The response comes back as soon as the handler
    /// sets it, with a body that streams from the instance, which stays
    /// alive (holding its instance slot) until the body ends, fails or is
    /// dropped. Before a response is set, failures are errors: `Timeout`,
    /// `Trap` (also for a handler that returns without setting a response,
    /// or sets an error), `FuelExhausted`, `MemoryLimitExceeded`, and
    /// `LimitExceeded` when no instance slot is free and the wait queue is
    /// full. A module that does not export the handler is `NotFound` (a
    /// function). After any of them the module keeps serving.
    async fn serve_http(&self, call: http::HttpCall) -> Result<http::HttpResponse> {
        drop(call);
        Err(crate::Error::not_found(
            crate::ResourceKind::Function,
            "wasi:http/incoming-handler (this module does not serve HTTP)",
        ))
    }
}

/// What [`CompiledModule::invoke_now`] did with a call.
#[derive(Debug)]
#[must_use]
pub enum InvokeNow {
    /// The call ran; its outcome.
    Done(Result<CallOutput>),
    /// The call did not start; pass it to [`CompiledModule::invoke`].
    Later(Invocation),
}

impl InvokeNow {
    /// The outcome, running the call through [`CompiledModule::invoke`]
    /// when it could not run at once.
    pub async fn finish(self, module: &dyn CompiledModule) -> Result<CallOutput> {
        match self {
            InvokeNow::Done(outcome) => outcome,
            InvokeNow::Later(call) => module.invoke(call).await,
        }
    }
}

//! A runtime that runs no wasm: a "compiled" version is its digest, checked
//! against the bytes, and every call answers at once with no results. The
//! edge host, the agent and the protocol around it are the real ones, so a
//! harness node costs the control plane what a real node does, and the
//! harness process a few kilobytes.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hotswap_core::domain::{Digest, ModuleKind, RuntimeKind, WasiVersion};
use hotswap_core::runtime::{
    CallOutput, CompiledModule, FunctionSignature, Invocation, InvokeNow, ModuleSource,
    RuntimeCapabilities, RuntimeHost,
};
use hotswap_core::{Error, Result};

/// See the module.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoWasmRuntime;

/// A version of [`NoWasmRuntime`].
#[derive(Debug)]
struct NoWasmModule {
    digest: Digest,
}

#[async_trait]
impl RuntimeHost for NoWasmRuntime {
    fn capabilities(&self) -> RuntimeCapabilities {
        // What a wasmtime node offers core modules, so node selection
        // treats harness nodes as real ones.
        let mut caps = RuntimeCapabilities::core_only(RuntimeKind::Wasmtime);
        caps.wasi = vec![WasiVersion::Preview1];
        caps.fuel = true;
        caps.timeouts = true;
        caps
    }

    async fn compile(&self, source: ModuleSource) -> Result<Arc<dyn CompiledModule>> {
        let actual = Digest::of(&source.bytes);
        if actual != source.digest {
            return Err(Error::DigestMismatch {
                expected: source.digest,
                actual,
            });
        }
        Ok(Arc::new(NoWasmModule {
            digest: source.digest,
        }))
    }

    async fn precompile(&self, bytes: Bytes) -> Result<Bytes> {
        Ok(bytes)
    }
}

#[async_trait]
impl CompiledModule for NoWasmModule {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Core
    }

    fn functions(&self) -> &[FunctionSignature] {
        &[]
    }

    async fn invoke(&self, _call: Invocation) -> Result<CallOutput> {
        Ok(CallOutput::from_values(Vec::new()))
    }

    fn invoke_now(&self, _call: Invocation) -> InvokeNow {
        InvokeNow::Done(Ok(CallOutput::from_values(Vec::new())))
    }
}

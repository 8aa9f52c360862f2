//! Bringing a module version onto nodes: bounded attempts with exponential
//! backoff and jitter, and a check that the node loaded exactly the bytes
//! the version names.

use std::sync::Arc;

use hotswap_core::clock::Clock;
use hotswap_core::domain::{EdgeNode, LoadedVersion, WasmModule};
use hotswap_core::error::{Error, Result};

use hotswap_core::node::NodeControl;
use hotswap_core::retry::RetryPolicy;

/// Load `module` on `node` under `policy`, sleeping on `clock` between
/// attempts. A node that reports another digest than the version's is
/// refused at once (retrying cannot fix the bytes); unreachable nodes and
/// other failures are retried. The error names the node and the attempts.
pub async fn load_with_retries(
    control: &dyn NodeControl,
    clock: &Arc<dyn Clock>,
    policy: RetryPolicy,
    node: &EdgeNode,
    module: &WasmModule,
) -> Result<LoadedVersion> {
    let attempts = policy.attempts.max(1);
    let load = || async {
        let loaded = control.load(node, module).await?;
        if loaded.digest == module.digest && loaded.version == module.version {
            Ok(loaded)
        } else {
            Err(Error::DigestMismatch {
                expected: module.digest,
                actual: loaded.digest,
            })
        }
    };
    // Other bytes than the version's cannot be fixed by retrying.
    let retryable = |e: &Error| !matches!(e, Error::DigestMismatch { .. });
    let last = match policy.run(clock, load, retryable).await {
        Ok(loaded) => return Ok(loaded),
        Err(e @ Error::DigestMismatch { .. }) => return Err(e),
        Err(e) => e,
    };
    Err(Error::Unavailable {
        service: format!("node {}", node.name),
        temporary: true,
        reason: format!(
            "{}@{} did not load after {attempts} attempts: {last}",
            module.name, module.version
        ),
        source: None,
    })
}

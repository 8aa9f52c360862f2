//! Bringing a module version onto nodes: bounded attempts with exponential
//! backoff and jitter, and a check that the node loaded exactly the bytes
//! the version names.

use std::sync::Arc;

use hotswap_core::clock::Clock;
use hotswap_core::domain::{EdgeNode, LoadedVersion, ModuleConfig, WasmModule};
use hotswap_core::error::{Error, Result};

use hotswap_core::node::NodeControl;
use hotswap_core::retry::RetryPolicy;

/// Load `module` with `config` on `node` under `policy`, sleeping on `clock` between
/// attempts. Failures retrying cannot fix end it at once: a node that
/// reports another digest than the version's, and bytes the node refuses
/// (`Invalid` or `Incompatible`: compiling them again gives the same
/// answer), which come back naming the node, and a `Conflict` (the node
/// holds the version with other bytes or another routed configuration). Unreachable nodes and other
/// failures are retried; the error names the node and the attempts.
pub async fn load_with_retries(
    control: &dyn NodeControl,
    clock: &Arc<dyn Clock>,
    policy: RetryPolicy,
    node: &EdgeNode,
    module: &WasmModule,
    config: &ModuleConfig,
) -> Result<LoadedVersion> {
    let attempts = policy.attempts.max(1);
    let load = || async {
        let loaded = control.load(node, module, config).await?;
        if loaded.digest == module.digest && loaded.version == module.version {
            if loaded.config_revision != config.revision {
                return Err(Error::conflict(
                    format!("node {}", node.name),
                    format!(
                        "loaded {} with configuration revision {}, not {}",
                        module.reference(),
                        loaded.config_revision,
                        config.revision
                    ),
                ));
            }
            Ok(loaded)
        } else {
            Err(Error::DigestMismatch {
                expected: module.digest,
                actual: loaded.digest,
            })
        }
    };
    let permanent = |e: &Error| {
        matches!(
            e,
            Error::DigestMismatch { .. }
                | Error::Invalid { .. }
                | Error::Incompatible { .. }
                | Error::Conflict { .. }
        )
    };
    let last = match policy.run(clock, load, |e| !permanent(e)).await {
        Ok(loaded) => return Ok(loaded),
        Err(Error::Invalid { field, reason }) => {
            return Err(Error::Invalid {
                field,
                reason: format!(
                    "node {} cannot load {}@{}: {reason}",
                    node.name, module.name, module.version
                ),
            });
        }
        Err(e) if permanent(&e) => return Err(e),
        Err(e) => e,
    };
    let service = format!("node {}", node.name);
    // The node's own unavailability is said once.
    let last = match last {
        Error::Unavailable {
            service: s, reason, ..
        } if s == service => reason,
        other => other.to_string(),
    };
    Err(Error::Unavailable {
        service,
        temporary: true,
        reason: format!(
            "{}@{} did not load after {attempts} attempts: {last}",
            module.name, module.version
        ),
        source: None,
    })
}

//! Bringing a module version onto nodes: bounded attempts with exponential
//! backoff and jitter, and a check that the node loaded exactly the bytes
//! the version names.

use std::sync::Arc;
use std::time::Duration;

use hotswap_core::clock::Clock;
use hotswap_core::domain::{EdgeNode, LoadedVersion, WasmModule};
use hotswap_core::error::{Error, Result};

use hotswap_core::node::NodeControl;

/// How often and how patiently a load is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each one after.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// `attempts` in all, waiting `initial_backoff` (doubling, at most
    /// `max_backoff`) between them.
    pub fn new(attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            attempts,
            initial_backoff,
            max_backoff,
        }
    }

    /// The wait before attempt `n` (1-based, `n >= 2`): the doubled backoff,
    /// capped, with "full jitter" (a random share of it) so many nodes
    /// retrying at once spread out.
    pub fn backoff(&self, n: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1u32 << n.saturating_sub(2).min(20));
        let cap = doubled.min(self.max_backoff);
        cap.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

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
    let mut last = None;
    for n in 1..=attempts {
        if n > 1 {
            clock.sleep(policy.backoff(n)).await;
        }
        match control.load(node, module).await {
            Ok(loaded) if loaded.digest == module.digest && loaded.version == module.version => {
                return Ok(loaded);
            }
            Ok(loaded) => {
                return Err(Error::DigestMismatch {
                    expected: module.digest,
                    actual: loaded.digest,
                });
            }
            Err(e @ Error::DigestMismatch { .. }) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map_or_else(String::new, |e| e.to_string());
    Err(Error::Unavailable {
        service: format!("node {}", node.name),
        temporary: true,
        reason: format!(
            "{}@{} did not load after {attempts} attempts: {reason}",
            module.name, module.version
        ),
        source: None,
    })
}

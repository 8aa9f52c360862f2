//! Execution routing: run a call on a healthy node that has the module
//! (the pinned version, when pinned), preferring the caller's region and
//! then the node with the least work in flight; when the chosen node
//! cannot take the call, try the next, and name every node tried.

use std::sync::Arc;

use hotswap_core::domain::{EdgeNode, NodeId};
use hotswap_core::error::{Error, Result};
use hotswap_core::node::CallOutcome;
use hotswap_core::node::{Execution, NodeControl};
use hotswap_core::repository::{NodeFilter, NodeRepository, NodeRepositoryExt};

/// A call that ran: where, and what it returned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Executed {
    /// The node that ran it.
    pub node: NodeId,
    /// That node's name.
    pub node_name: String,
    /// The version, the reason it was chosen, and the output.
    pub outcome: CallOutcome,
}

/// Routes calls to nodes.
#[derive(Clone, Debug)]
pub struct ExecutionRouter {
    nodes: Arc<dyn NodeRepository>,
    control: Arc<dyn NodeControl>,
}

impl ExecutionRouter {
    /// A router over the nodes in `nodes`, reached through `control`.
    pub fn new(nodes: Arc<dyn NodeRepository>, control: Arc<dyn NodeControl>) -> Self {
        Self { nodes, control }
    }

    /// The nodes that may take `execution`, best first.
    pub async fn candidates(&self, execution: &Execution) -> Result<Vec<EdgeNode>> {
        let nodes = self.nodes.all_nodes(&NodeFilter::default()).await?;
        let mut fit: Vec<EdgeNode> = nodes
            .into_iter()
            .filter(|n| n.status.accepts_traffic())
            .filter(|n| match &execution.pin {
                Some(v) => n.has_loaded(&execution.module, v),
                None => n.loaded.iter().any(|l| l.module == execution.module),
            })
            .collect();
        fit.sort_by(|a, b| {
            let away = |n: &EdgeNode| execution.region.as_ref().is_some_and(|r| *r != n.region);
            (away(a), a.metrics.in_flight, &a.name).cmp(&(away(b), b.metrics.in_flight, &b.name))
        });
        Ok(fit)
    }

    /// Run `execution` on the best node that takes it; returns that node
    /// and what the call returned. Errors of the call itself (a trap, bad arguments)
    /// come back at once; a node that is unreachable or full is skipped,
    /// and when none is left the error names every node tried and why.
    pub async fn execute(&self, execution: &Execution) -> Result<Executed> {
        let candidates = self.candidates(execution).await?;
        if candidates.is_empty() {
            let what = match &execution.pin {
                Some(v) => format!("{}@{v}", execution.module),
                None => execution.module.to_string(),
            };
            return Err(Error::Unavailable {
                service: format!("module {}", execution.module),
                temporary: true,
                reason: format!("no healthy node has {what} loaded"),
                source: None,
            });
        }
        let mut tried = Vec::new();
        for node in &candidates {
            match self.control.execute(node, execution).await {
                Ok(outcome) => {
                    return Ok(Executed {
                        node: node.id,
                        node_name: node.name.clone(),
                        outcome,
                    });
                }
                Err(e @ (Error::Unavailable { .. } | Error::LimitExceeded { .. })) => {
                    tried.push(format!("{} ({e})", node.name));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable {
            service: format!("module {}", execution.module),
            temporary: true,
            reason: format!("no node could take the call; tried {}", tried.join(", ")),
            source: None,
        })
    }
}

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod analysis;
mod configs;
mod distribution;
mod driver;
mod gauges;
pub mod hooks;
mod http_routes;
pub mod interface;
mod locks;
mod nodes;
pub mod notify;
mod orchestrator;
mod orphans;
mod plane;
mod reconcile;
mod registration;
mod router;
pub mod strategy;

pub use configs::ConfigService;
pub use distribution::load_with_retries;
pub use driver::{ControlLoop, ControlLoopConfig, TickReport};
pub use hotswap_core::retry::RetryPolicy;
pub use http_routes::{HttpRouteService, Pushed, RoutesChanged};
pub use nodes::{AlertHook, NodeHealthConfig, NodeService};
pub use orchestrator::{DEFAULT_FANOUT, Operation, Orchestrator, OrchestratorConfig};
pub use orphans::{SweepReport, store_module_version, sweep_orphans};
pub use plane::{Backends, ControlPlane, ControlPlaneConfig};
pub use reconcile::{Reconciled, Reconciler};
pub use registration::{ModuleRegistrar, Registration};
pub use router::{Executed, ExecutionRouter};

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod agents;
mod control_plane;
mod no_wasm;
pub mod process;
pub mod scenario;

pub use agents::{Agents, AgentsConfig};
pub use control_plane::{ControlPlane, ControlPlaneConfig};
pub use no_wasm::NoWasmRuntime;
pub use scenario::{Figures, Scenario};

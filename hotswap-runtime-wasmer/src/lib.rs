#![doc = include_str!("../README.md")]

mod call;
mod config;
mod engine;
mod errors;
mod module;
mod runtime;
mod tunables;
mod wasi;
mod watchdog;

pub use config::WasmerConfig;
pub use hotswap_core::runtime::kit::CompileCounters;
pub use runtime::WasmerRuntime;

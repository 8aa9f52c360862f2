#![doc = include_str!("../README.md")]

mod artifacts;
mod call;
mod component_module;
mod config;
mod core_module;
mod engine;
mod errors;
mod gate;
mod limiter;
mod runtime;
mod shared;
mod values;

pub use config::WasmtimeConfig;
pub use engine::Allocator;
pub use runtime::{CompileCounters, WasmtimeRuntime};

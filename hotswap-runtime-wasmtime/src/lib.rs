#![doc = include_str!("../README.md")]

mod component_module;
mod config;
mod core_module;
mod engine;
mod errors;
mod http;
mod keyvalue;
mod limiter;
mod outbound;
mod reach;
mod runtime;
mod shared;
mod values;
mod wasi_config;

pub use config::WasmtimeConfig;
pub use engine::Allocator;
pub use hotswap_core::runtime::kit::CompileCounters;
pub use runtime::WasmtimeRuntime;

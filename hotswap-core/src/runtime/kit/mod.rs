//! Building blocks every runtime adapter needs and none should write
//! twice: concurrency gates with a bounded wait queue, export lookup with
//! input checking, and the compile cache over verified precompiled
//! artifacts.

mod artifacts;
mod command_env;
mod compile_cache;
mod config;
mod exports;
mod gate;

pub use artifacts::{ArtifactCache, META_LEN};
pub use command_env::command_env;
pub use compile_cache::{CompileCache, CompileCounters, Compiler, off_the_hot_path};
pub use config::{RuntimeSettings, check_pool, check_tick};
pub use exports::{
    Attempt, Export, Exports, FAST_SLICE, WasiInput, arguments, arguments_of, attempt, invoke_now,
    invoke_plain, stdin,
};
pub use gate::{Gate, OwnedSlot, Slot, enter_both, try_enter_both};

//! Checks every runtime adapter's configuration shares, with the same
//! field names and messages.

use std::time::Duration;

use crate::domain::{MAX_MEMORY_BYTES, WASM_PAGE_BYTES};
use crate::error::{Error, Result};

/// Refuse an instance pool outside 1..=100000 and a per-instance memory
/// outside one page..4 GiB.
pub fn check_pool(max_instances: u32, max_memory_bytes: u64) -> Result<()> {
    if max_instances == 0 || max_instances > 100_000 {
        return Err(Error::invalid(
            "max_instances",
            format!("{max_instances} is outside 1..=100000"),
        ));
    }
    if !(WASM_PAGE_BYTES..=MAX_MEMORY_BYTES).contains(&max_memory_bytes) {
        return Err(Error::invalid(
            "max_memory_bytes",
            "must be between one 64 KiB page and 4 GiB",
        ));
    }
    Ok(())
}

/// Refuse a timeout tick (`field`) outside 1 ms..=1 s.
pub fn check_tick(field: &str, tick: Duration) -> Result<()> {
    if tick < Duration::from_millis(1) || tick > Duration::from_secs(1) {
        return Err(Error::invalid(field, "must be between 1 ms and 1 s"));
    }
    Ok(())
}

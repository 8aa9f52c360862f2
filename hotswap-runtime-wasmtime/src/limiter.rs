//! Per-call store state: the memory limiter and, for WASI calls, the WASI
//! context.

use wasmtime::ResourceLimiter;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

/// Most table elements one instance may grow to.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// Refuses memory growth past the version's limit, and remembers that it did
/// so a resulting trap is reported as `MemoryLimitExceeded`.
#[derive(Debug)]
pub(crate) struct Limiter {
    max_memory: usize,
    pub(crate) memory_refused: bool,
}

impl Limiter {
    pub(crate) fn new(max_memory_bytes: u64) -> Self {
        Self {
            max_memory: usize::try_from(max_memory_bytes).unwrap_or(usize::MAX),
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Store state of a call that needs no WASI.
pub(crate) type Plain = Limiter;

/// Store state of a WASI preview 1 call.
pub(crate) struct WasiP1 {
    pub(crate) limiter: Limiter,
    pub(crate) wasi: WasiP1Ctx,
}

/// Store state of a WASI 0.2 component call.
pub(crate) struct WasiP2 {
    pub(crate) limiter: Limiter,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
}

impl WasiView for WasiP2 {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Access to the limiter inside any store state.
pub(crate) trait HasLimiter: Send + 'static {
    fn limiter(&mut self) -> &mut Limiter;
}

impl HasLimiter for Limiter {
    fn limiter(&mut self) -> &mut Limiter {
        self
    }
}

impl HasLimiter for WasiP1 {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

impl HasLimiter for WasiP2 {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

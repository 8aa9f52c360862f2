//! Memory limits through wasmer's `Tunables`: every memory a call's
//! instance creates gets its maximum lowered to the version's limit, and
//! records when a grow was refused because of that limit, so the call's
//! failure can be reported as `MemoryLimitExceeded` rather than as the
//! trap the guest raised after `memory.grow` returned -1.

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmer::sys::vm::{
    ExpectedValue, LinearMemory, MemoryError, MemoryStyle, ThreadConditions, Trap, VMConfig,
    VMMemory, VMMemoryDefinition, VMSharedMemory, VMTable, VMTableDefinition, WaiterError,
};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryType, Pages, TableStyle, TableType};

/// The tunables of one call: the base ones, with memories capped at
/// `max_pages` and refusals reported through `refused`.
pub(crate) struct CallTunables {
    base: Arc<BaseTunables>,
    max_pages: Pages,
    refused: Arc<AtomicBool>,
}

impl CallTunables {
    pub(crate) fn new(base: Arc<BaseTunables>, max_bytes: u64, refused: Arc<AtomicBool>) -> Self {
        let pages = max_bytes / wasmer::WASM_PAGE_SIZE as u64;
        Self {
            base,
            max_pages: Pages(u32::try_from(pages).unwrap_or(u32::MAX)),
            refused,
        }
    }

    /// `ty` with its maximum lowered to the limit; an error (and a
    /// recorded refusal) when even its minimum does not fit.
    fn capped(&self, ty: &MemoryType) -> Result<MemoryType, MemoryError> {
        if ty.minimum > self.max_pages {
            self.refused.store(true, Ordering::Relaxed);
            return Err(MemoryError::MinimumMemoryTooLarge {
                min_requested: ty.minimum,
                max_allowed: self.max_pages,
            });
        }
        let mut capped = *ty;
        capped.maximum = Some(ty.maximum.map_or(self.max_pages, |m| m.min(self.max_pages)));
        Ok(capped)
    }

    fn watched(&self, memory: VMMemory) -> VMMemory {
        VMMemory(Box::new(Watched {
            inner: memory,
            max_pages: self.max_pages,
            refused: self.refused.clone(),
        }))
    }
}

impl Tunables for CallTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(memory)
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(table)
    }

    fn create_host_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
    ) -> Result<VMMemory, MemoryError> {
        let ty = self.capped(ty)?;
        Ok(self.watched(self.base.create_host_memory(&ty, style)?))
    }

    #[allow(unsafe_code)]
    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        let ty = self.capped(ty)?;
        // SAFETY: forwarded unchanged from wasmer, which guarantees the
        // location is valid; only the maximum of the type was lowered.
        let memory = unsafe {
            self.base
                .create_vm_memory(&ty, style, vm_definition_location)?
        };
        Ok(self.watched(memory))
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.base.create_host_table(ty, style)
    }

    #[allow(unsafe_code)]
    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        // SAFETY: forwarded unchanged from wasmer.
        unsafe { self.base.create_vm_table(ty, style, vm_definition_location) }
    }

    fn vmconfig(&self) -> &VMConfig {
        self.base.vmconfig()
    }
}

/// A memory that records grows refused for passing the limit.
#[derive(Debug)]
struct Watched {
    inner: VMMemory,
    max_pages: Pages,
    refused: Arc<AtomicBool>,
}

impl LinearMemory for Watched {
    fn ty(&self) -> MemoryType {
        self.inner.ty()
    }

    fn size(&self) -> Pages {
        self.inner.size()
    }

    fn style(&self) -> MemoryStyle {
        self.inner.style()
    }

    fn grow(&mut self, delta: Pages) -> Result<Pages, MemoryError> {
        let wanted = u64::from(self.inner.size().0) + u64::from(delta.0);
        let outcome = self.inner.grow(delta);
        if outcome.is_err() && wanted > u64::from(self.max_pages.0) {
            self.refused.store(true, Ordering::Relaxed);
        }
        outcome
    }

    fn grow_at_least(&mut self, min_size: u64) -> Result<(), MemoryError> {
        self.inner.grow_at_least(min_size)
    }

    fn reset(&mut self) -> Result<(), MemoryError> {
        self.inner.reset()
    }

    fn vmmemory(&self) -> NonNull<VMMemoryDefinition> {
        self.inner.vmmemory()
    }

    fn try_clone(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        LinearMemory::try_clone(&self.inner)
    }

    #[allow(unsafe_code)]
    unsafe fn initialize_with_data(&self, start: usize, data: &[u8]) -> Result<(), Trap> {
        // SAFETY: forwarded unchanged; the caller upholds the contract.
        unsafe { self.inner.initialize_with_data(start, data) }
    }

    fn copy(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        LinearMemory::copy(&self.inner)
    }

    fn as_shared(&self) -> Result<VMSharedMemory, MemoryError> {
        self.inner.as_shared()
    }

    #[allow(unsafe_code)]
    unsafe fn do_wait(
        &mut self,
        dst: u32,
        expected: ExpectedValue,
        timeout: Option<Duration>,
    ) -> Result<u32, WaiterError> {
        // SAFETY: forwarded unchanged; the caller upholds the contract.
        unsafe { self.inner.do_wait(dst, expected, timeout) }
    }

    fn do_notify(&mut self, dst: u32, count: u32) -> u32 {
        self.inner.do_notify(dst, count)
    }

    fn thread_conditions(&self) -> Option<&ThreadConditions> {
        self.inner.thread_conditions()
    }
}

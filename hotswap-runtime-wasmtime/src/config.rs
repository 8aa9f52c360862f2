//! Configuration of the wasmtime runtime.

use std::time::Duration;

use hotswap_core::env::Vars;
use hotswap_core::runtime::kit::{self, RuntimeSettings};
use hotswap_core::{Error, Result};

/// How the wasmtime engine is built and what calls may use.
///
/// Build with [`WasmtimeConfig::default`] or [`WasmtimeConfig::from_env`],
/// adjust with the `with_*` methods, and check with
/// [`WasmtimeConfig::validate`] (the runtime does this on construction).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WasmtimeConfig {
    /// What every runtime adapter configures the same way (instances, the
    /// pool's size; memory, fuel, artifacts, queue, WASI environment and
    /// output); without an artifact folder, artifacts stay in memory.
    pub settings: RuntimeSettings,
    /// Use the pooling instance allocator (falls back to on-demand, with a
    /// logged reason, when its address space cannot be reserved).
    pub pooling: bool,
    /// Largest wasm stack, in bytes (engine-wide).
    pub max_stack_bytes: usize,
    /// Period of the epoch ticker that enforces wall-clock timeouts.
    pub epoch_tick: Duration,
    /// Bytes of each pooled linear memory reset in place (the pages a call
    /// dirtied, found with Linux's `PAGEMAP_SCAN`, copied back from the
    /// module's image) instead of returned to the kernel with `madvise`.
    /// Every `madvise` in a multi-threaded process flushes the TLB of every
    /// core and the next call page-faults its memory back; at HTTP request
    /// rates those flushes were a third of the server's CPU. Slots kept warm
    /// hold up to this much memory each; 0 returns everything.
    pub keep_resident_bytes: usize,
    /// Linear memories one core instance may define (multi-memory); the
    /// pool holds `max_instances` times this many.
    pub max_memories_per_instance: u32,
    /// Tables one core instance may define; the pool holds
    /// `max_instances` times this many.
    pub max_tables_per_instance: u32,
    /// Elements one table may hold.
    pub max_table_elements: usize,
}

impl Default for WasmtimeConfig {
    fn default() -> Self {
        Self {
            settings: RuntimeSettings::default(),
            pooling: true,
            max_stack_bytes: 512 * 1024,
            epoch_tick: Duration::from_millis(10),
            keep_resident_bytes: 1024 * 1024,
            max_memories_per_instance: 4,
            max_tables_per_instance: 8,
            max_table_elements: 20_000,
        }
    }
}

hotswap_core::runtime_settings_builders!(WasmtimeConfig);

impl WasmtimeConfig {
    /// Defaults overridden by `HOTSWAP_WASMTIME_POOLING` (true/false),
    /// `HOTSWAP_WASMTIME_KEEP_RESIDENT_BYTES`,
    /// `HOTSWAP_WASMTIME_MAX_MEMORIES_PER_INSTANCE`,
    /// `HOTSWAP_WASMTIME_MAX_TABLES_PER_INSTANCE`,
    /// `HOTSWAP_WASMTIME_MAX_TABLE_ELEMENTS`,
    /// `HOTSWAP_WASMTIME_MAX_INSTANCES`, `HOTSWAP_WASMTIME_QUEUE_CAPACITY`, `HOTSWAP_WASMTIME_FUEL` (true/false),
    /// `HOTSWAP_WASMTIME_ARTIFACT_DIR` and `HOTSWAP_WASMTIME_ENV_ALLOWLIST`
    /// (comma-separated). A malformed value is an error naming the variable.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&Vars::process())
    }

    /// [`WasmtimeConfig::from_env`] over `env`.
    pub fn from_vars(env: &Vars) -> Result<Self> {
        let mut c = Self::default();
        if let Some(v) = env.flag("HOTSWAP_WASMTIME_POOLING")? {
            c.pooling = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_KEEP_RESIDENT_BYTES", "a byte count")? {
            c.keep_resident_bytes = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_MAX_MEMORIES_PER_INSTANCE", "a count")? {
            c.max_memories_per_instance = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_MAX_TABLES_PER_INSTANCE", "a count")? {
            c.max_tables_per_instance = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_MAX_TABLE_ELEMENTS", "a count")? {
            c.max_table_elements = v;
        }
        c.settings.read(env, "WASMTIME")?;
        c.validate()?;
        Ok(c)
    }

    /// Turn the pooling allocator on or off.
    #[must_use]
    pub fn with_pooling(mut self, pooling: bool) -> Self {
        self.pooling = pooling;
        self
    }

    /// Set [`WasmtimeConfig::keep_resident_bytes`].
    #[must_use]
    pub fn with_keep_resident_bytes(mut self, bytes: usize) -> Self {
        self.keep_resident_bytes = bytes;
        self
    }

    /// Set how many memories and tables one instance may define, and how
    /// many elements a table may hold.
    #[must_use]
    pub fn with_instance_shape(
        mut self,
        memories: u32,
        tables: u32,
        table_elements: usize,
    ) -> Self {
        self.max_memories_per_instance = memories;
        self.max_tables_per_instance = tables;
        self.max_table_elements = table_elements;
        self
    }

    /// Set [`WasmtimeConfig::epoch_tick`].
    #[must_use]
    pub fn with_epoch_tick(mut self, tick: Duration) -> Self {
        self.epoch_tick = tick;
        self
    }

    /// Refuse zero or absurd values, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()?;
        if self.max_stack_bytes < 16 * 1024 || self.max_stack_bytes > 64 * 1024 * 1024 {
            return Err(Error::invalid(
                "max_stack_bytes",
                "must be between 16 KiB and 64 MiB",
            ));
        }
        for (field, value) in [
            ("max_memories_per_instance", self.max_memories_per_instance),
            ("max_tables_per_instance", self.max_tables_per_instance),
        ] {
            if !(1..=64).contains(&value) {
                return Err(Error::invalid(field, "must be between 1 and 64"));
            }
        }
        if self.max_table_elements == 0 || self.max_table_elements > 10_000_000 {
            return Err(Error::invalid(
                "max_table_elements",
                "must be between 1 and 10,000,000",
            ));
        }
        kit::check_tick("epoch_tick", self.epoch_tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<WasmtimeConfig> {
        WasmtimeConfig::from_vars(&Vars::from_pairs(pairs))
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        let c = from(&[
            ("HOTSWAP_WASMTIME_POOLING", "false"),
            ("HOTSWAP_WASMTIME_KEEP_RESIDENT_BYTES", "65536"),
            ("HOTSWAP_WASMTIME_MAX_MEMORIES_PER_INSTANCE", "2"),
            ("HOTSWAP_WASMTIME_MAX_TABLES_PER_INSTANCE", "3"),
            ("HOTSWAP_WASMTIME_MAX_TABLE_ELEMENTS", "500"),
            ("HOTSWAP_WASMTIME_FUEL", "true"),
            ("HOTSWAP_WASMTIME_MAX_INSTANCES", "8"),
            ("HOTSWAP_WASMTIME_QUEUE_CAPACITY", "2"),
            ("HOTSWAP_WASMTIME_ARTIFACT_DIR", "/var/cache/artifacts"),
            ("HOTSWAP_WASMTIME_ENV_ALLOWLIST", "TZ, LANG,,"),
        ])
        .unwrap();
        assert!(!c.pooling);
        assert_eq!(c.keep_resident_bytes, 65536);
        assert_eq!(
            (
                c.max_memories_per_instance,
                c.max_tables_per_instance,
                c.max_table_elements
            ),
            (2, 3, 500)
        );
        assert!(c.settings.fuel);
        assert_eq!(
            (c.settings.max_instances, c.settings.queue_capacity),
            (8, 2)
        );
        assert_eq!(
            c.settings.artifact_dir.as_deref(),
            Some(std::path::Path::new("/var/cache/artifacts"))
        );
        assert_eq!(c.settings.env_allowlist, ["TZ", "LANG"]);
        let d = from(&[]).unwrap();
        assert_eq!(
            d.settings.max_instances,
            WasmtimeConfig::default().settings.max_instances
        );
        assert!(d.settings.artifact_dir.is_none());
    }

    #[test]
    fn a_bad_value_is_an_error_naming_it() {
        let e = from(&[("HOTSWAP_WASMTIME_MAX_INSTANCES", "many")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid HOTSWAP_WASMTIME_MAX_INSTANCES: \"many\" is not a count"
        );
        let e = from(&[("HOTSWAP_WASMTIME_FUEL", "sometimes")]).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid HOTSWAP_WASMTIME_FUEL"),
            "{e}"
        );
        let e = from(&[("HOTSWAP_WASMTIME_MAX_INSTANCES", "0")]).unwrap_err();
        assert!(e.to_string().contains("max_instances"), "{e}");
        let e = WasmtimeConfig::default()
            .with_max_output_bytes(0)
            .validate()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid max_output_bytes: must not be zero");
        let e = from(&[("HOTSWAP_WASMTIME_MAX_MEMORIES_PER_INSTANCE", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid max_memories_per_instance: must be between 1 and 64"
        );
    }
}

//! Configuration of the wasmtime runtime.

use std::path::PathBuf;
use std::time::Duration;

use hotswap_core::env::Vars;
use hotswap_core::runtime::kit;
use hotswap_core::{Error, Result};

/// How the wasmtime engine is built and what calls may use.
///
/// Build with [`WasmtimeConfig::default`] or [`WasmtimeConfig::from_env`],
/// adjust with the `with_*` methods, and check with
/// [`WasmtimeConfig::validate`] (the runtime does this on construction).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WasmtimeConfig {
    /// Use the pooling instance allocator (falls back to on-demand, with a
    /// logged reason, when its address space cannot be reserved).
    pub pooling: bool,
    /// Instances alive at once across all versions (the pool's size, and
    /// the engine-wide concurrency limit).
    pub max_instances: u32,
    /// Largest linear memory of one instance, in bytes; a module whose
    /// limits ask for more is refused at compile time.
    pub max_memory_bytes: u64,
    /// Largest wasm stack, in bytes (engine-wide).
    pub max_stack_bytes: usize,
    /// Period of the epoch ticker that enforces wall-clock timeouts.
    pub epoch_tick: Duration,
    /// Meter fuel so CPU budgets (`ResourceLimits::fuel`) can be enforced.
    pub fuel: bool,
    /// Folder of the precompiled-artifact cache; `None` keeps artifacts in
    /// memory only.
    pub artifact_dir: Option<PathBuf>,
    /// Calls that may wait for a free instance of one version (and for the
    /// engine-wide pool) before new calls are refused with `LimitExceeded`.
    pub queue_capacity: u32,
    /// Environment variables a WASI call may see; others are dropped.
    pub env_allowlist: Vec<String>,
    /// Most bytes a WASI call may write to stdout or stderr.
    pub max_output_bytes: usize,
    /// Compiled modules kept in memory by digest, so reloading a version
    /// compiles nothing even without an artifact folder (0 turns it off).
    pub memory_cache_entries: usize,
}

impl Default for WasmtimeConfig {
    fn default() -> Self {
        Self {
            pooling: true,
            max_instances: 1000,
            max_memory_bytes: 64 * 1024 * 1024,
            max_stack_bytes: 512 * 1024,
            epoch_tick: Duration::from_millis(10),
            fuel: false,
            artifact_dir: None,
            queue_capacity: 1024,
            env_allowlist: Vec::new(),
            max_output_bytes: 16 * 1024 * 1024,
            memory_cache_entries: 64,
        }
    }
}

impl WasmtimeConfig {
    /// Defaults overridden by `HOTSWAP_WASMTIME_POOLING` (true/false),
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
        if let Some(v) = env.flag("HOTSWAP_WASMTIME_FUEL")? {
            c.fuel = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_MAX_INSTANCES", "a count")? {
            c.max_instances = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMTIME_QUEUE_CAPACITY", "a count")? {
            c.queue_capacity = v;
        }
        if let Some(v) = env.var("HOTSWAP_WASMTIME_ARTIFACT_DIR") {
            c.artifact_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env.list("HOTSWAP_WASMTIME_ENV_ALLOWLIST") {
            c.env_allowlist = v;
        }
        c.validate()?;
        Ok(c)
    }

    /// Turn the pooling allocator on or off.
    #[must_use]
    pub fn with_pooling(mut self, pooling: bool) -> Self {
        self.pooling = pooling;
        self
    }

    /// Set [`WasmtimeConfig::max_instances`].
    #[must_use]
    pub fn with_max_instances(mut self, n: u32) -> Self {
        self.max_instances = n;
        self
    }

    /// Set [`WasmtimeConfig::max_memory_bytes`].
    #[must_use]
    pub fn with_max_memory_bytes(mut self, bytes: u64) -> Self {
        self.max_memory_bytes = bytes;
        self
    }

    /// Set [`WasmtimeConfig::epoch_tick`].
    #[must_use]
    pub fn with_epoch_tick(mut self, tick: Duration) -> Self {
        self.epoch_tick = tick;
        self
    }

    /// Turn fuel metering on or off.
    #[must_use]
    pub fn with_fuel(mut self, fuel: bool) -> Self {
        self.fuel = fuel;
        self
    }

    /// Keep precompiled artifacts in `dir`.
    #[must_use]
    pub fn with_artifact_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.artifact_dir = Some(dir.into());
        self
    }

    /// Set [`WasmtimeConfig::queue_capacity`].
    #[must_use]
    pub fn with_queue_capacity(mut self, n: u32) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Set [`WasmtimeConfig::memory_cache_entries`].
    #[must_use]
    pub fn with_memory_cache_entries(mut self, n: usize) -> Self {
        self.memory_cache_entries = n;
        self
    }

    /// Cap each WASI call's stdout and stderr at `bytes`.
    #[must_use]
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// Let WASI calls see these environment variables.
    #[must_use]
    pub fn with_env_allowlist(
        mut self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.env_allowlist = names.into_iter().map(Into::into).collect();
        self
    }

    /// Refuse zero or absurd values, naming the field.
    pub fn validate(&self) -> Result<()> {
        kit::check_pool(self.max_instances, self.max_memory_bytes)?;
        if self.max_stack_bytes < 16 * 1024 || self.max_stack_bytes > 64 * 1024 * 1024 {
            return Err(Error::invalid(
                "max_stack_bytes",
                "must be between 16 KiB and 64 MiB",
            ));
        }
        kit::check_tick("epoch_tick", self.epoch_tick)?;
        if self.max_output_bytes == 0 {
            return Err(Error::invalid("max_output_bytes", "must not be zero"));
        }
        Ok(())
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
            ("HOTSWAP_WASMTIME_FUEL", "true"),
            ("HOTSWAP_WASMTIME_MAX_INSTANCES", "8"),
            ("HOTSWAP_WASMTIME_QUEUE_CAPACITY", "2"),
            ("HOTSWAP_WASMTIME_ARTIFACT_DIR", "/var/cache/artifacts"),
            ("HOTSWAP_WASMTIME_ENV_ALLOWLIST", "TZ, LANG,,"),
        ])
        .unwrap();
        assert!(!c.pooling);
        assert!(c.fuel);
        assert_eq!((c.max_instances, c.queue_capacity), (8, 2));
        assert_eq!(
            c.artifact_dir.as_deref(),
            Some(std::path::Path::new("/var/cache/artifacts"))
        );
        assert_eq!(c.env_allowlist, ["TZ", "LANG"]);
        let d = from(&[]).unwrap();
        assert_eq!(d.max_instances, WasmtimeConfig::default().max_instances);
        assert!(d.artifact_dir.is_none());
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
    }
}

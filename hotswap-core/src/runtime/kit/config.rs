//! What every runtime adapter's configuration shares: the settings, their
//! variables, and the checks, with the same field names and messages.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::{MAX_MEMORY_BYTES, WASM_PAGE_BYTES};
use crate::env::Vars;
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

/// What every runtime adapter configures the same way, read from the same
/// variables (`HOTSWAP_<RUNTIME>_FUEL`, `..._MAX_INSTANCES`,
/// `..._QUEUE_CAPACITY`, `..._ARTIFACT_DIR`, `..._ENV_ALLOWLIST`) and
/// checked the same way. Each adapter's configuration holds one as
/// `settings` and adds what only its engine has.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeSettings {
    /// Instances alive at once across all versions (the engine-wide
    /// concurrency limit, and the pool's size where there is a pool).
    pub max_instances: u32,
    /// Largest linear memory of one instance, in bytes; a module whose
    /// limits ask for more is refused at compile time.
    pub max_memory_bytes: u64,
    /// Meter fuel so CPU budgets (`ResourceLimits::fuel`) can be enforced;
    /// metered code runs slower, so it is off by default.
    pub fuel: bool,
    /// Folder of the precompiled-artifact cache; `None` writes none.
    pub artifact_dir: Option<PathBuf>,
    /// Calls that may wait for a free instance of one version (and for the
    /// engine-wide limit) before new calls are refused with `LimitExceeded`.
    pub queue_capacity: u32,
    /// Environment variables a WASI call may see; others are dropped.
    pub env_allowlist: Vec<String>,
    /// Most bytes a WASI call may write to stdout or stderr.
    pub max_output_bytes: usize,
    /// Compiled modules kept in memory by digest, so reloading a version
    /// compiles nothing even without an artifact folder (0 turns it off).
    pub memory_cache_entries: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            max_instances: 1000,
            max_memory_bytes: 64 * 1024 * 1024,
            fuel: false,
            artifact_dir: None,
            queue_capacity: 1024,
            env_allowlist: Vec::new(),
            max_output_bytes: 16 * 1024 * 1024,
            memory_cache_entries: 64,
        }
    }
}

impl RuntimeSettings {
    /// Override these settings from `HOTSWAP_<runtime>_*` in `env`
    /// (`runtime` upper case, e.g. `WASMTIME`). A malformed value is an
    /// error naming the variable.
    pub fn read(&mut self, env: &Vars, runtime: &str) -> Result<()> {
        let name = |suffix: &str| format!("HOTSWAP_{runtime}_{suffix}");
        if let Some(v) = env.flag(&name("FUEL"))? {
            self.fuel = v;
        }
        if let Some(v) = env.parse(&name("MAX_INSTANCES"), "a count")? {
            self.max_instances = v;
        }
        if let Some(v) = env.parse(&name("QUEUE_CAPACITY"), "a count")? {
            self.queue_capacity = v;
        }
        if let Some(v) = env.var(&name("ARTIFACT_DIR")) {
            self.artifact_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env.list(&name("ENV_ALLOWLIST")) {
            self.env_allowlist = v;
        }
        Ok(())
    }

    /// Refuse zero or absurd values, naming the field.
    pub fn validate(&self) -> Result<()> {
        check_pool(self.max_instances, self.max_memory_bytes)?;
        if self.max_output_bytes == 0 {
            return Err(Error::invalid("max_output_bytes", "must not be zero"));
        }
        Ok(())
    }
}

/// The `with_*` builder methods of [`RuntimeSettings`]' fields on an
/// adapter's configuration type that holds them as `settings`.
#[macro_export]
macro_rules! runtime_settings_builders {
    ($config:ty) => {
        impl $config {
            /// Set the engine-wide instance limit.
            #[must_use]
            pub fn with_max_instances(mut self, n: u32) -> Self {
                self.settings.max_instances = n;
                self
            }

            /// Set the largest memory of one instance, in bytes.
            #[must_use]
            pub fn with_max_memory_bytes(mut self, bytes: u64) -> Self {
                self.settings.max_memory_bytes = bytes;
                self
            }

            /// Turn fuel metering on or off.
            #[must_use]
            pub fn with_fuel(mut self, fuel: bool) -> Self {
                self.settings.fuel = fuel;
                self
            }

            /// Keep precompiled artifacts in `dir`.
            #[must_use]
            pub fn with_artifact_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
                self.settings.artifact_dir = Some(dir.into());
                self
            }

            /// Set how many calls may wait for an instance.
            #[must_use]
            pub fn with_queue_capacity(mut self, n: u32) -> Self {
                self.settings.queue_capacity = n;
                self
            }

            /// Set how many compiled modules stay in memory by digest.
            #[must_use]
            pub fn with_memory_cache_entries(mut self, n: usize) -> Self {
                self.settings.memory_cache_entries = n;
                self
            }

            /// Cap each WASI call's stdout and stderr at `bytes`.
            #[must_use]
            pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
                self.settings.max_output_bytes = bytes;
                self
            }

            /// Let WASI calls see these environment variables.
            #[must_use]
            pub fn with_env_allowlist(
                mut self,
                names: impl IntoIterator<Item = impl Into<String>>,
            ) -> Self {
                self.settings.env_allowlist = names.into_iter().map(Into::into).collect();
                self
            }
        }
    };
}

//! Configuration of the wasmer runtime.

use std::path::PathBuf;
use std::time::Duration;

use hotswap_core::env::Vars;
use hotswap_core::runtime::kit;
use hotswap_core::{Error, Result};

/// What the wasmer runtime allows and how it enforces it.
///
/// Build with [`WasmerConfig::default`] or [`WasmerConfig::from_env`],
/// adjust with the `with_*` methods; the runtime checks it with
/// [`WasmerConfig::validate`] on construction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WasmerConfig {
    /// Instances alive at once across all versions (the engine-wide
    /// concurrency limit).
    pub max_instances: u32,
    /// Largest linear memory of one instance, in bytes; a module whose
    /// limits ask for more is refused at compile time.
    pub max_memory_bytes: u64,
    /// Period of the watchdog that interrupts calls past their timeout.
    pub timeout_tick: Duration,
    /// Compile modules with the metering middleware so CPU budgets
    /// (`ResourceLimits::fuel`) can be enforced. Metered code counts every
    /// operator, so it runs slower; off by default.
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

impl Default for WasmerConfig {
    fn default() -> Self {
        Self {
            max_instances: 1000,
            max_memory_bytes: 64 * 1024 * 1024,
            timeout_tick: Duration::from_millis(10),
            fuel: false,
            artifact_dir: None,
            queue_capacity: 1024,
            env_allowlist: Vec::new(),
            max_output_bytes: 16 * 1024 * 1024,
            memory_cache_entries: 64,
        }
    }
}

impl WasmerConfig {
    /// Defaults overridden by `HOTSWAP_WASMER_MAX_INSTANCES`, `HOTSWAP_WASMER_QUEUE_CAPACITY`,
    /// `HOTSWAP_WASMER_FUEL` (true/false), `HOTSWAP_WASMER_ARTIFACT_DIR` and
    /// `HOTSWAP_WASMER_ENV_ALLOWLIST` (comma-separated). A malformed value
    /// is an error naming the variable.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&Vars::process())
    }

    /// [`WasmerConfig::from_env`] over `env`.
    pub fn from_vars(env: &Vars) -> Result<Self> {
        let mut c = Self::default();
        if let Some(v) = env.flag("HOTSWAP_WASMER_FUEL")? {
            c.fuel = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMER_MAX_INSTANCES", "a count")? {
            c.max_instances = v;
        }
        if let Some(v) = env.parse("HOTSWAP_WASMER_QUEUE_CAPACITY", "a count")? {
            c.queue_capacity = v;
        }
        if let Some(v) = env.var("HOTSWAP_WASMER_ARTIFACT_DIR") {
            c.artifact_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env.list("HOTSWAP_WASMER_ENV_ALLOWLIST") {
            c.env_allowlist = v;
        }
        c.validate()?;
        Ok(c)
    }

    /// Set [`WasmerConfig::max_instances`].
    #[must_use]
    pub fn with_max_instances(mut self, n: u32) -> Self {
        self.max_instances = n;
        self
    }

    /// Set [`WasmerConfig::max_memory_bytes`].
    #[must_use]
    pub fn with_max_memory_bytes(mut self, bytes: u64) -> Self {
        self.max_memory_bytes = bytes;
        self
    }

    /// Set [`WasmerConfig::timeout_tick`].
    #[must_use]
    pub fn with_timeout_tick(mut self, tick: Duration) -> Self {
        self.timeout_tick = tick;
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

    /// Set [`WasmerConfig::queue_capacity`].
    #[must_use]
    pub fn with_queue_capacity(mut self, n: u32) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Set [`WasmerConfig::memory_cache_entries`].
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
        kit::check_tick("timeout_tick", self.timeout_tick)?;
        if self.max_output_bytes == 0 {
            return Err(Error::invalid("max_output_bytes", "must not be zero"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<WasmerConfig> {
        WasmerConfig::from_vars(&Vars::from_pairs(pairs))
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        let c = from(&[
            ("HOTSWAP_WASMER_FUEL", "true"),
            ("HOTSWAP_WASMER_MAX_INSTANCES", "8"),
            ("HOTSWAP_WASMER_QUEUE_CAPACITY", "2"),
            ("HOTSWAP_WASMER_ARTIFACT_DIR", "/var/cache/artifacts"),
            ("HOTSWAP_WASMER_ENV_ALLOWLIST", "TZ, LANG,,"),
        ])
        .unwrap();
        assert!(c.fuel);
        assert_eq!((c.max_instances, c.queue_capacity), (8, 2));
        assert_eq!(
            c.artifact_dir.as_deref(),
            Some(std::path::Path::new("/var/cache/artifacts"))
        );
        assert_eq!(c.env_allowlist, ["TZ", "LANG"]);
        let d = from(&[]).unwrap();
        assert_eq!(d.max_instances, WasmerConfig::default().max_instances);
        assert!(d.artifact_dir.is_none());
    }

    #[test]
    fn a_bad_value_is_an_error_naming_it() {
        let e = from(&[("HOTSWAP_WASMER_MAX_INSTANCES", "many")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid HOTSWAP_WASMER_MAX_INSTANCES: \"many\" is not a count"
        );
        let e = from(&[("HOTSWAP_WASMER_FUEL", "sometimes")]).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid HOTSWAP_WASMER_FUEL"),
            "{e}"
        );
        let e = from(&[("HOTSWAP_WASMER_MAX_INSTANCES", "0")]).unwrap_err();
        assert!(e.to_string().contains("max_instances"), "{e}");
        let e = WasmerConfig::default()
            .with_max_output_bytes(0)
            .validate()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid max_output_bytes: must not be zero");
    }
}

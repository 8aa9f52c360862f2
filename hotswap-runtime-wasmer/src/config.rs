//! Configuration of the wasmer runtime.

use std::time::Duration;

use hotswap_core::Result;
use hotswap_core::env::Vars;
use hotswap_core::runtime::kit::{self, RuntimeSettings};

/// What the wasmer runtime allows and how it enforces it.
///
/// Build with [`WasmerConfig::default`] or [`WasmerConfig::from_env`],
/// adjust with the `with_*` methods; the runtime checks it with
/// [`WasmerConfig::validate`] on construction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WasmerConfig {
    /// What every runtime adapter configures the same way (instances,
    /// memory, fuel metering, artifacts, queue, WASI environment and
    /// output); wasmer's fuel is its metering middleware, one point per
    /// operator.
    pub settings: RuntimeSettings,
    /// Period of the watchdog that interrupts calls past their timeout.
    pub timeout_tick: Duration,
}

impl Default for WasmerConfig {
    fn default() -> Self {
        Self {
            settings: RuntimeSettings::default(),
            timeout_tick: Duration::from_millis(10),
        }
    }
}

hotswap_core::runtime_settings_builders!(WasmerConfig);

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
        c.settings.read(env, "WASMER")?;
        c.validate()?;
        Ok(c)
    }

    /// Set [`WasmerConfig::timeout_tick`].
    #[must_use]
    pub fn with_timeout_tick(mut self, tick: Duration) -> Self {
        self.timeout_tick = tick;
        self
    }

    /// Refuse zero or absurd values, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()?;
        kit::check_tick("timeout_tick", self.timeout_tick)
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
            WasmerConfig::default().settings.max_instances
        );
        assert!(d.settings.artifact_dir.is_none());
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

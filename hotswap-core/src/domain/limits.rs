//! Resource limits for running a module version.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The wasm page size: memory limits are rounded down to whole pages.
pub const WASM_PAGE_BYTES: u64 = 64 * 1024;
/// The largest 32-bit linear memory (65536 pages).
pub const MAX_MEMORY_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// The longest wall-clock timeout accepted: 15 minutes.
pub const MAX_TIMEOUT_MS: u64 = 15 * 60 * 1000;
/// The most concurrent instances of one version on one node.
pub const MAX_CONCURRENT_INSTANCES: u32 = 10_000;
/// The smallest wasm stack accepted: 16 KiB.
pub const MIN_STACK_BYTES: u64 = 16 * 1024;
/// The largest wasm stack accepted: 64 MiB.
pub const MAX_STACK_BYTES: u64 = 64 * 1024 * 1024;
/// The most memory all concurrent instances of one version may reserve
/// together (`max_memory_bytes * max_concurrent_instances`): 256 GiB.
pub const MAX_AGGREGATE_MEMORY_BYTES: u64 = 256 * 1024 * 1024 * 1024;

/// Limits applied to every call of a module version.
///
/// JSON (all fields optional on input, defaults shown):
/// `{"max_memory_bytes": 67108864, "fuel": null, "timeout_ms": 5000,
///   "max_concurrent_instances": 64, "max_stack_bytes": 524288}`.
/// Unknown fields are refused so a misspelt limit never silently falls back
/// to its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "ResourceLimitsInput")]
#[non_exhaustive]
pub struct ResourceLimits {
    /// Largest linear memory of one instance, in bytes
    /// (at least one 64 KiB page, at most 4 GiB).
    #[cfg_attr(
        feature = "openapi",
        schema(required = false, schema_with = crate::domain::schema::memory_bytes)
    )]
    pub max_memory_bytes: u64,
    /// CPU budget of one call in fuel units (about one unit per wasm
    /// instruction); `None` leaves calls unmetered.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::fuel_or_null))]
    pub fuel: Option<u64>,
    /// Wall-clock timeout of one call in milliseconds (1 ms to 15 min).
    #[cfg_attr(
        feature = "openapi",
        schema(required = false, schema_with = crate::domain::schema::timeout_ms)
    )]
    pub timeout_ms: u64,
    /// How many instances of this version may run at once on one node.
    #[cfg_attr(
        feature = "openapi",
        schema(required = false, schema_with = crate::domain::schema::concurrent_instances)
    )]
    pub max_concurrent_instances: u32,
    /// Largest wasm stack of one call, in bytes (16 KiB to 64 MiB).
    #[cfg_attr(
        feature = "openapi",
        schema(required = false, schema_with = crate::domain::schema::stack_bytes)
    )]
    pub max_stack_bytes: u64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 * 1024 * 1024,
            fuel: None,
            timeout_ms: 5_000,
            max_concurrent_instances: 64,
            max_stack_bytes: 512 * 1024,
        }
    }
}

impl ResourceLimits {
    /// Set [`ResourceLimits::max_memory_bytes`].
    #[must_use]
    pub fn with_max_memory_bytes(mut self, bytes: u64) -> Self {
        self.max_memory_bytes = bytes;
        self
    }

    /// Set [`ResourceLimits::fuel`].
    #[must_use]
    pub fn with_fuel(mut self, fuel: Option<u64>) -> Self {
        self.fuel = fuel;
        self
    }

    /// Set [`ResourceLimits::timeout_ms`] from a duration.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Set [`ResourceLimits::max_concurrent_instances`].
    #[must_use]
    pub fn with_max_concurrent_instances(mut self, n: u32) -> Self {
        self.max_concurrent_instances = n;
        self
    }

    /// Set [`ResourceLimits::max_stack_bytes`].
    #[must_use]
    pub fn with_max_stack_bytes(mut self, bytes: u64) -> Self {
        self.max_stack_bytes = bytes;
        self
    }

    /// The wall-clock timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The memory limit in whole wasm pages.
    pub fn max_memory_pages(&self) -> u64 {
        self.max_memory_bytes / WASM_PAGE_BYTES
    }

    /// Refuse zero, absurd or inconsistent values, naming the field.
    pub fn validate(&self) -> Result<()> {
        range(
            "max_memory_bytes",
            self.max_memory_bytes,
            WASM_PAGE_BYTES,
            MAX_MEMORY_BYTES,
        )?;
        if self.fuel == Some(0) {
            return Err(Error::invalid(
                "fuel",
                "must be positive; leave it out (null) for unmetered calls",
            ));
        }
        range("timeout_ms", self.timeout_ms, 1, MAX_TIMEOUT_MS)?;
        range(
            "max_concurrent_instances",
            u64::from(self.max_concurrent_instances),
            1,
            u64::from(MAX_CONCURRENT_INSTANCES),
        )?;
        range(
            "max_stack_bytes",
            self.max_stack_bytes,
            MIN_STACK_BYTES,
            MAX_STACK_BYTES,
        )?;
        let aggregate = self
            .max_memory_bytes
            .saturating_mul(u64::from(self.max_concurrent_instances));
        if aggregate > MAX_AGGREGATE_MEMORY_BYTES {
            return Err(Error::invalid(
                "max_concurrent_instances",
                format!(
                    "{} instances of {} bytes each could reserve {aggregate} bytes, more than the {MAX_AGGREGATE_MEMORY_BYTES} allowed for one version",
                    self.max_concurrent_instances, self.max_memory_bytes
                ),
            ));
        }
        Ok(())
    }
}

fn range(field: &str, value: u64, min: u64, max: u64) -> Result<()> {
    if value == 0 {
        return Err(Error::invalid(field, "must not be zero"));
    }
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("{value} is outside the allowed range {min}..={max}"),
        ));
    }
    Ok(())
}

/// The input form of [`ResourceLimits`]: every field optional.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ResourceLimitsInput {
    max_memory_bytes: u64,
    fuel: Option<u64>,
    timeout_ms: u64,
    max_concurrent_instances: u32,
    max_stack_bytes: u64,
}

impl Default for ResourceLimitsInput {
    fn default() -> Self {
        let d = ResourceLimits::default();
        Self {
            max_memory_bytes: d.max_memory_bytes,
            fuel: d.fuel,
            timeout_ms: d.timeout_ms,
            max_concurrent_instances: d.max_concurrent_instances,
            max_stack_bytes: d.max_stack_bytes,
        }
    }
}

impl TryFrom<ResourceLimitsInput> for ResourceLimits {
    type Error = Error;

    fn try_from(i: ResourceLimitsInput) -> Result<Self> {
        let limits = Self {
            max_memory_bytes: i.max_memory_bytes,
            fuel: i.fuel,
            timeout_ms: i.timeout_ms,
            max_concurrent_instances: i.max_concurrent_instances,
            max_stack_bytes: i.max_stack_bytes,
        };
        limits.validate()?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(l: ResourceLimits) -> String {
        l.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid_and_partial_json_fills_them() {
        ResourceLimits::default().validate().unwrap();
        let l: ResourceLimits = serde_json::from_str(r#"{"timeout_ms": 250}"#).unwrap();
        assert_eq!(
            l,
            ResourceLimits::default().with_timeout(Duration::from_millis(250))
        );
    }

    #[test]
    fn refuses_zero_absurd_and_inconsistent_values() {
        let d = ResourceLimits::default();
        assert_eq!(
            err(d.with_timeout(Duration::ZERO)),
            "invalid timeout_ms: must not be zero"
        );
        assert!(err(d.with_fuel(Some(0))).starts_with("invalid fuel: must be positive"));
        assert!(
            err(d.with_max_memory_bytes(1 << 40))
                .starts_with("invalid max_memory_bytes: 1099511627776 is outside")
        );
        assert!(err(d.with_max_memory_bytes(100)).contains("max_memory_bytes"));
        assert!(err(d.with_max_stack_bytes(1024)).contains("max_stack_bytes"));
        assert!(
            err(d.with_max_concurrent_instances(0))
                .contains("max_concurrent_instances: must not be zero")
        );
        let e = err(d
            .with_max_memory_bytes(MAX_MEMORY_BYTES)
            .with_max_concurrent_instances(100));
        assert!(
            e.starts_with("invalid max_concurrent_instances: 100 instances"),
            "{e}"
        );
    }

    #[test]
    fn json_refuses_unknown_and_invalid_fields() {
        let e = serde_json::from_str::<ResourceLimits>(r#"{"timeout":5}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `timeout`"), "{e}");
        let e = serde_json::from_str::<ResourceLimits>(r#"{"timeout_ms":0}"#).unwrap_err();
        assert!(e.to_string().contains("invalid timeout_ms"), "{e}");
    }
}

//! Module versions.

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

use super::{
    ConfigKey, Digest, KeyValueGrants, Labels, ModuleId, ModuleName, OutboundGrants,
    ResourceLimits, WasmFeature,
};
use crate::error::{Error, Result};

/// Whether a binary is a core wasm module or a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// A core WebAssembly module.
    Core,
    /// A component-model component.
    Component,
}

/// The WASI version a module is written against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WasiVersion {
    /// `wasi_snapshot_preview1` imports in a core module.
    Preview1,
    /// `wasi:*@0.2.x` imports in a component (WASI 0.2, "preview 2").
    Preview2,
}

/// What an import or export is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A function.
    Func,
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
    /// A component instance (an interface).
    Instance,
    /// A type.
    Type,
    /// A nested core module.
    Module,
    /// A nested component.
    Component,
    /// A component value.
    Value,
}

/// One export of a module version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Export {
    /// The export name, e.g. `add` or `hotswap:demo/greeter@0.1.0`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// What it is.
    pub kind: ItemKind,
    /// Its type as text, e.g. `(i32, i32) -> i32` or
    /// `memory 1..` (absent where it is not rendered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// One import of a module version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Import {
    /// The module (core) or empty (component) the import comes from.
    pub module: String,
    /// The import name.
    pub name: String,
    /// What it is.
    pub kind: ItemKind,
    /// Its type as text, where rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// One immutable version of a named module.
///
/// `(name, version)` is unique and a version is never overwritten; only its
/// labels and default limits may change after registration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WasmModule {
    /// Identity of this version.
    pub id: ModuleId,
    /// Module name.
    pub name: ModuleName,
    /// Semver version.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: Version,
    /// SHA-256 of the raw bytes.
    pub digest: Digest,
    /// Raw size in bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub size_bytes: u64,
    /// Size in storage (Brotli) in bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub compressed_size_bytes: u64,
    /// Core module or component.
    pub kind: ModuleKind,
    /// The WASI version it imports, if any.
    #[serde(default)]
    pub wasi: Option<WasiVersion>,
    /// WebAssembly features beyond the MVP it uses; only nodes whose
    /// runtime accepts them all run it.
    #[serde(default)]
    pub wasm_features: Vec<WasmFeature>,
    /// Exports with signatures.
    #[serde(default)]
    pub exports: Vec<Export>,
    /// Imports with signatures.
    #[serde(default)]
    pub imports: Vec<Import>,
    /// The WIT world the component targets, if known.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\S+$", min_length = 1, max_length = 256)
    )]
    pub wit_world: Option<String>,
    /// The version's interface as WIT text, taken from the binary at
    /// registration (see `hotswap_control::interface::extract_wit`); compared with
    /// earlier versions' under the package's compatibility mode.
    #[serde(default)]
    pub interface_wit: Option<String>,
    /// An admin's decision to register this version although its interface
    /// breaks the package's compatibility mode.
    #[serde(default)]
    pub interface_override: Option<InterfaceOverride>,
    /// Limits applied to calls unless a deployment overrides them.
    #[serde(default)]
    pub limits: ResourceLimits,
    /// What the version may reach over HTTP (nothing unless granted).
    #[serde(default)]
    pub outbound: OutboundGrants,
    /// Which key-value buckets the version may open (none unless granted).
    #[serde(default)]
    pub keyvalue: KeyValueGrants,
    /// The configuration keys the version reads (`wasi:config/store`, or
    /// the environment of a WASI command); it sees no other key, and a
    /// deployment whose configuration lacks one is refused.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub config_keys: Vec<ConfigKey>,
    /// Free-form labels.
    #[serde(default)]
    pub labels: Labels,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Who registered it (a user or token subject).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::actor))]
    pub created_by: String,
}

/// Who registered a version whose interface broke its package's mode,
/// why, and what it broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InterfaceOverride {
    /// The admin.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The findings that were overridden, one line each.
    pub findings: Vec<String>,
}

/// The longest `created_by` accepted.
pub const MAX_ACTOR_LEN: usize = 256;

impl WasmModule {
    /// A new version with a fresh id, default limits and no labels.
    ///
    /// `size_bytes` and `compressed_size_bytes` start equal; storage sets
    /// the compressed size when the blob is written.
    pub fn new(
        name: ModuleName,
        version: Version,
        digest: Digest,
        size_bytes: u64,
        kind: ModuleKind,
        created_by: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ModuleId::new(),
            name,
            version,
            digest,
            size_bytes,
            compressed_size_bytes: size_bytes,
            kind,
            wasi: None,
            wasm_features: Vec::new(),
            exports: Vec::new(),
            imports: Vec::new(),
            wit_world: None,
            interface_wit: None,
            interface_override: None,
            limits: ResourceLimits::default(),
            outbound: OutboundGrants::default(),
            keyvalue: KeyValueGrants::default(),
            config_keys: Vec::new(),
            labels: Labels::new(),
            created_at,
            created_by: created_by.into(),
        }
    }

    /// `name@version`, the human form of this version's identity.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Refuse values that deserialization alone cannot catch.
    pub fn validate(&self) -> Result<()> {
        if self.size_bytes == 0 {
            return Err(Error::invalid("size_bytes", "must not be zero"));
        }
        if self.compressed_size_bytes == 0 {
            return Err(Error::invalid("compressed_size_bytes", "must not be zero"));
        }
        self.limits.validate().map_err(|e| e.within("limits"))?;
        self.outbound.validate()?;
        self.keyvalue.validate()?;
        validate_config_keys(&self.config_keys)?;
        validate_actor("created_by", &self.created_by)?;
        if let Some(world) = &self.wit_world
            && (world.is_empty() || world.len() > 256 || world.chars().any(char::is_whitespace))
        {
            return Err(Error::invalid(
                "wit_world",
                "must be 1 to 256 characters without white space",
            ));
        }
        for (i, export) in self.exports.iter().enumerate() {
            if export.name.is_empty() {
                return Err(Error::invalid(
                    format!("exports[{i}].name"),
                    "must not be empty",
                ));
            }
        }
        Ok(())
    }
}

/// Check a `created_by`/`approved_by` style actor name.
pub(crate) fn validate_actor(field: &str, actor: &str) -> Result<()> {
    if actor.trim().is_empty() {
        return Err(Error::invalid(field, "must name who did it"));
    }
    let chars = actor.chars().count();
    if chars > MAX_ACTOR_LEN {
        return Err(Error::invalid(
            field,
            format!("has {chars} characters, at most {MAX_ACTOR_LEN} are allowed"),
        ));
    }
    if actor.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not hold control characters"));
    }
    Ok(())
}

/// The most configuration keys one version may declare.
const MAX_CONFIG_KEYS: usize = 256;

/// Refuse a repeated key or too many.
fn validate_config_keys(keys: &[ConfigKey]) -> Result<()> {
    if keys.len() > MAX_CONFIG_KEYS {
        return Err(Error::invalid(
            "config_keys",
            format!("{} keys, at most {MAX_CONFIG_KEYS}", keys.len()),
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
            return Err(Error::invalid(
                format!("config_keys[{i}]"),
                format!("{key} is declared twice"),
            ));
        }
    }
    Ok(())
}

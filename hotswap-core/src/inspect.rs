//! Validation and inspection of wasm binaries with wasmparser.
//!
//! [`inspect`] refuses empty, oversized, non-wasm, truncated and invalid
//! input with an error naming the problem (never a panic), tells a core
//! module from a component, finds the WASI version it imports, and lists its
//! imports and exports. Core signatures are rendered as text, e.g.
//! `(i32, i32) -> i32`; component signatures come from the interface
//! registry's WIT extraction instead.

use wasmparser::types::{EntityType, TypesRef};
use wasmparser::{ComponentExternalKind, ComponentTypeRef, Parser, Payload, ValType, Validator};

use chrono::{DateTime, Utc};
use semver::Version;

use crate::domain::{
    Digest, Export, Import, ItemKind, ModuleKind, ModuleName, WasiVersion, WasmFeature, WasmModule,
};
use crate::error::LimitKind;
use crate::error::{Error, Result};

/// The default size limit of a module binary: 50 MiB.
pub const DEFAULT_MAX_MODULE_BYTES: usize = 50 * 1024 * 1024;

/// What [`inspect`] enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InspectOptions {
    /// Largest binary accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for InspectOptions {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_MODULE_BYTES,
        }
    }
}

impl InspectOptions {
    /// Options with a size limit of `max_bytes`.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Self { max_bytes }
    }
}

/// What a valid binary is and what it imports and exports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleInfo {
    /// Core module or component.
    pub kind: ModuleKind,
    /// The WASI version it imports, if any.
    pub wasi: Option<WasiVersion>,
    /// WebAssembly features beyond the MVP it uses.
    pub wasm_features: Vec<WasmFeature>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// SHA-256 of the bytes.
    pub digest: Digest,
    /// Size of the bytes.
    pub size_bytes: u64,
}

impl ModuleInfo {
    /// Whether a function of this name is exported.
    pub fn exports_function(&self, name: &str) -> bool {
        self.exports
            .iter()
            .any(|e| e.kind == ItemKind::Func && e.name == name)
    }

    /// Version `version` of module `name` with what inspection found (kind,
    /// WASI version, exports, imports, digest, size) and default limits.
    pub fn into_module(
        self,
        name: ModuleName,
        version: Version,
        created_by: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> WasmModule {
        let mut module = WasmModule::new(
            name,
            version,
            self.digest,
            self.size_bytes,
            self.kind,
            created_by,
            created_at,
        );
        module.wasi = self.wasi;
        module.wasm_features = self.wasm_features;
        module.exports = self.exports;
        module.imports = self.imports;
        module
    }
}

const MAGIC: &[u8; 4] = b"\0asm";

/// Validate `bytes` and describe them.
pub fn inspect(bytes: &[u8], options: &InspectOptions) -> Result<ModuleInfo> {
    if bytes.is_empty() {
        return Err(Error::invalid("wasm", "the module binary is empty"));
    }
    if bytes.len() > options.max_bytes {
        return Err(Error::limit_exceeded(
            LimitKind::ModuleBytes,
            format!(
                "the module has {} bytes, the limit is {}",
                bytes.len(),
                options.max_bytes
            ),
        ));
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(Error::invalid(
            "wasm",
            format!(
                "not a WebAssembly binary: it must start with 00 61 73 6d (\\0asm) and a version, found {} in {} bytes",
                head.join(" "),
                bytes.len()
            ),
        ));
    }
    // Every feature hotswap knows: which ones a node accepts is decided
    // from `wasm_features`, not by refusing the binary as invalid.
    let all = crate::domain::wasm_features::validator_flags(WasmFeature::ALL);
    let types = Validator::new_with_features(all)
        .validate_all(bytes)
        .map_err(|e| {
            Error::invalid(
                "wasm",
                format!(
                    "invalid module at byte offset {}: {}",
                    e.offset(),
                    e.message()
                ),
            )
        })?;
    let (kind, imports, exports) = if Parser::is_component(bytes) {
        let (imports, exports) = component_items(bytes)?;
        (ModuleKind::Component, imports, exports)
    } else {
        let (imports, exports) = core_items(types.as_ref());
        (ModuleKind::Core, imports, exports)
    };
    Ok(ModuleInfo {
        kind,
        wasi: detect_wasi(kind, &imports),
        wasm_features: crate::domain::wasm_features::required_features(bytes),
        exports,
        imports,
        digest: Digest::of(bytes),
        size_bytes: bytes.len() as u64,
    })
}

fn detect_wasi(kind: ModuleKind, imports: &[Import]) -> Option<WasiVersion> {
    match kind {
        ModuleKind::Core => imports
            .iter()
            .any(|i| i.module == "wasi_snapshot_preview1" || i.module == "wasi_unstable")
            .then_some(WasiVersion::Preview1),
        ModuleKind::Component => imports
            .iter()
            .any(|i| i.name.starts_with("wasi:"))
            .then_some(WasiVersion::Preview2),
    }
}

fn core_items(types: TypesRef<'_>) -> (Vec<Import>, Vec<Export>) {
    let imports = types
        .core_imports()
        .into_iter()
        .flatten()
        .map(|(module, name, ty)| {
            let (kind, signature) = describe_entity(&types, ty);
            Import {
                module: module.to_owned(),
                name: name.to_owned(),
                kind,
                signature,
            }
        })
        .collect();
    let exports = types
        .core_exports()
        .into_iter()
        .flatten()
        .map(|(name, ty)| {
            let (kind, signature) = describe_entity(&types, ty);
            Export {
                name: name.to_owned(),
                kind,
                signature,
            }
        })
        .collect();
    (imports, exports)
}

fn describe_entity(types: &TypesRef<'_>, ty: EntityType) -> (ItemKind, Option<String>) {
    let limits = |initial: u64, max: Option<u64>| match max {
        Some(max) => format!("{initial}..{max}"),
        None => format!("{initial}.."),
    };
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => {
            let sig = types[id].unwrap_func();
            let list = |tys: &[ValType]| {
                tys.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let results = match sig.results() {
                [] => String::new(),
                [one] => format!(" -> {one}"),
                many => format!(" -> ({})", list(many)),
            };
            (
                ItemKind::Func,
                Some(format!("({}){results}", list(sig.params()))),
            )
        }
        EntityType::Memory(m) => (
            ItemKind::Memory,
            Some(format!(
                "memory{} {}",
                if m.memory64 { "64" } else { "" },
                limits(m.initial, m.maximum)
            )),
        ),
        EntityType::Table(t) => (
            ItemKind::Table,
            Some(format!(
                "table {} {}",
                t.element_type,
                limits(t.initial, t.maximum)
            )),
        ),
        EntityType::Global(g) => (
            ItemKind::Global,
            Some(format!(
                "global {}{}",
                if g.mutable { "mut " } else { "" },
                g.content_type
            )),
        ),
        EntityType::Tag(_) => (ItemKind::Tag, None),
    }
}

/// The outermost component's own imports and exports (not those of nested
/// modules or components).
fn component_items(bytes: &[u8]) -> Result<(Vec<Import>, Vec<Export>)> {
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    let parse_error = |e: wasmparser::Error| {
        Error::invalid(
            "wasm",
            format!(
                "invalid component at byte offset {}: {}",
                e.offset(),
                e.message()
            ),
        )
    };
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(parse_error)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(parse_error)?;
                    imports.push(Import {
                        module: String::new(),
                        name: import.name.name.to_owned(),
                        kind: type_ref_kind(import.ty),
                        signature: None,
                    });
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(parse_error)?;
                    exports.push(Export {
                        name: export.name.name.to_owned(),
                        kind: external_kind(export.kind),
                        signature: None,
                    });
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

fn type_ref_kind(ty: ComponentTypeRef) -> ItemKind {
    match ty {
        ComponentTypeRef::Module(_) => ItemKind::Module,
        ComponentTypeRef::Func(_) => ItemKind::Func,
        ComponentTypeRef::Value(_) => ItemKind::Value,
        ComponentTypeRef::Type(_) => ItemKind::Type,
        ComponentTypeRef::Instance(_) => ItemKind::Instance,
        ComponentTypeRef::Component(_) => ItemKind::Component,
    }
}

fn external_kind(kind: ComponentExternalKind) -> ItemKind {
    match kind {
        ComponentExternalKind::Module => ItemKind::Module,
        ComponentExternalKind::Func => ItemKind::Func,
        ComponentExternalKind::Value => ItemKind::Value,
        ComponentExternalKind::Type => ItemKind::Type,
        ComponentExternalKind::Instance => ItemKind::Instance,
        ComponentExternalKind::Component => ItemKind::Component,
    }
}

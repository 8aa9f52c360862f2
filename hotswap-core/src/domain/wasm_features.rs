//! WebAssembly features: what a module uses and what a node's runtime
//! accepts, so a module no node can run is refused at registration and
//! never sent to a node that would fail to compile it.

use std::fmt;

use serde::{Deserialize, Serialize};
use wasmparser::{Validator, WasmFeatures};

use crate::error::{Error, Result};

/// A WebAssembly proposal a module may use beyond the MVP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WasmFeature {
    /// Importing and exporting mutable globals (Wasm 1.0).
    MutableGlobal,
    /// Non-trapping float-to-int conversions (Wasm 2.0).
    SaturatingFloatToInt,
    /// Sign-extension operators (Wasm 2.0).
    SignExtension,
    /// Several results and block parameters (Wasm 2.0).
    MultiValue,
    /// Bulk memory and table operations (Wasm 2.0).
    BulkMemory,
    /// `funcref`/`externref` values, several tables (Wasm 2.0).
    ReferenceTypes,
    /// 128-bit SIMD (Wasm 2.0).
    Simd,
    /// Relaxed SIMD (Wasm 3.0).
    RelaxedSimd,
    /// Tail calls (Wasm 3.0).
    TailCall,
    /// Several linear memories (Wasm 3.0).
    MultiMemory,
    /// Extended constant expressions (Wasm 3.0).
    ExtendedConst,
    /// Typed function references (Wasm 3.0).
    FunctionReferences,
    /// Garbage-collected structs and arrays (Wasm 3.0).
    Gc,
    /// Exception handling with `exnref` (Wasm 3.0).
    Exceptions,
    /// 64-bit memory indices (Wasm 3.0).
    Memory64,
    /// Shared memory and atomics.
    Threads,
    /// 128-bit wide arithmetic.
    WideArithmetic,
    /// Memory page sizes other than 64 KiB.
    CustomPageSizes,
}

impl WasmFeature {
    /// Every feature, in a stable order.
    pub const ALL: [WasmFeature; 18] = [
        Self::MutableGlobal,
        Self::SaturatingFloatToInt,
        Self::SignExtension,
        Self::MultiValue,
        Self::BulkMemory,
        Self::ReferenceTypes,
        Self::Simd,
        Self::RelaxedSimd,
        Self::TailCall,
        Self::MultiMemory,
        Self::ExtendedConst,
        Self::FunctionReferences,
        Self::Gc,
        Self::Exceptions,
        Self::Memory64,
        Self::Threads,
        Self::WideArithmetic,
        Self::CustomPageSizes,
    ];

    /// The WebAssembly 2.0 feature set: what a node that declares nothing
    /// is taken to accept.
    pub const WASM2: [WasmFeature; 7] = [
        Self::MutableGlobal,
        Self::SaturatingFloatToInt,
        Self::SignExtension,
        Self::MultiValue,
        Self::BulkMemory,
        Self::ReferenceTypes,
        Self::Simd,
    ];

    /// The name used in JSON and in messages, e.g. `multi-memory`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MutableGlobal => "mutable-global",
            Self::SaturatingFloatToInt => "saturating-float-to-int",
            Self::SignExtension => "sign-extension",
            Self::MultiValue => "multi-value",
            Self::BulkMemory => "bulk-memory",
            Self::ReferenceTypes => "reference-types",
            Self::Simd => "simd",
            Self::RelaxedSimd => "relaxed-simd",
            Self::TailCall => "tail-call",
            Self::MultiMemory => "multi-memory",
            Self::ExtendedConst => "extended-const",
            Self::FunctionReferences => "function-references",
            Self::Gc => "gc",
            Self::Exceptions => "exceptions",
            Self::Memory64 => "memory64",
            Self::Threads => "threads",
            Self::WideArithmetic => "wide-arithmetic",
            Self::CustomPageSizes => "custom-page-sizes",
        }
    }

    /// wasmparser's flags for this feature. `externref` is gated by
    /// wasmparser's `gc_types` as well, so reference types include it.
    fn flags(self) -> WasmFeatures {
        match self {
            Self::MutableGlobal => WasmFeatures::MUTABLE_GLOBAL,
            Self::SaturatingFloatToInt => WasmFeatures::SATURATING_FLOAT_TO_INT,
            Self::SignExtension => WasmFeatures::SIGN_EXTENSION,
            Self::MultiValue => WasmFeatures::MULTI_VALUE,
            Self::BulkMemory => WasmFeatures::BULK_MEMORY,
            Self::ReferenceTypes => WasmFeatures::REFERENCE_TYPES | WasmFeatures::GC_TYPES,
            Self::Simd => WasmFeatures::SIMD,
            Self::RelaxedSimd => WasmFeatures::RELAXED_SIMD,
            Self::TailCall => WasmFeatures::TAIL_CALL,
            Self::MultiMemory => WasmFeatures::MULTI_MEMORY,
            Self::ExtendedConst => WasmFeatures::EXTENDED_CONST,
            Self::FunctionReferences => WasmFeatures::FUNCTION_REFERENCES,
            Self::Gc => WasmFeatures::GC,
            Self::Exceptions => WasmFeatures::EXCEPTIONS,
            Self::Memory64 => WasmFeatures::MEMORY64,
            Self::Threads => WasmFeatures::THREADS,
            Self::WideArithmetic => WasmFeatures::WIDE_ARITHMETIC,
            Self::CustomPageSizes => WasmFeatures::CUSTOM_PAGE_SIZES,
        }
    }

    /// Features that build on this one and so go when it goes.
    fn dependents(self) -> &'static [WasmFeature] {
        match self {
            Self::ReferenceTypes => &[Self::FunctionReferences, Self::Gc, Self::Exceptions],
            Self::FunctionReferences => &[Self::Gc],
            Self::Simd => &[Self::RelaxedSimd],
            _ => &[],
        }
    }
}

impl fmt::Display for WasmFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every flag the listed features stand for.
fn listed() -> WasmFeatures {
    WasmFeature::ALL
        .iter()
        .fold(WasmFeatures::empty(), |acc, f| acc | f.flags())
}

/// The validator's flags for `features`: the listed ones as given, plus
/// what is not a proposal (floats, the component model).
pub(crate) fn validator_flags(features: impl IntoIterator<Item = WasmFeature>) -> WasmFeatures {
    let base = WasmFeatures::default() & !listed();
    features.into_iter().fold(base, |acc, f| acc | f.flags())
}

fn validates(bytes: &[u8], flags: WasmFeatures) -> std::result::Result<(), String> {
    Validator::new_with_features(flags)
        .validate_all(bytes)
        .map(|_| ())
        .map_err(|e| e.message().to_owned())
}

/// The features a valid module or component uses, in [`WasmFeature::ALL`]'s
/// order: each one without which (and without what builds on it) the
/// binary no longer validates.
pub fn required_features(bytes: &[u8]) -> Vec<WasmFeature> {
    if validates(bytes, validator_flags([])).is_ok() {
        return Vec::new();
    }
    WasmFeature::ALL
        .into_iter()
        .filter(|f| {
            let without = WasmFeature::ALL
                .into_iter()
                .filter(|g| g != f && !f.dependents().contains(g));
            validates(bytes, validator_flags(without)).is_err()
        })
        .collect()
}

/// Check that `accepted` holds every `required` feature; the error names
/// the missing ones and `who` (e.g. "any registered node").
pub fn check_features(required: &[WasmFeature], accepted: &[WasmFeature], who: &str) -> Result<()> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|f| !accepted.contains(f))
        .map(|f| f.name())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(
        "wasm_features",
        format!(
            "the module uses the WebAssembly feature{} {}, not accepted by {who}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ),
    ))
}

/// The serde default of a node's accepted features: WebAssembly 2.0.
pub fn wasm2() -> Vec<WasmFeature> {
    WasmFeature::WASM2.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    #[test]
    fn a_plain_module_needs_nothing() {
        let m = wat(r#"(module (func (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.add))"#);
        assert!(required_features(&m).is_empty());
    }

    #[test]
    fn each_feature_is_found_where_it_is_used() {
        let cases: &[(&str, &[WasmFeature])] = &[
            (
                "(module (memory 1) (memory 1))",
                &[WasmFeature::MultiMemory],
            ),
            (
                "(module (table 1 funcref) (table 1 funcref) (table 1 externref))",
                &[WasmFeature::ReferenceTypes],
            ),
            (
                "(module (func (param v128) (result v128) local.get 0))",
                &[WasmFeature::Simd],
            ),
            (
                "(module (func $f) (func return_call $f))",
                &[WasmFeature::TailCall],
            ),
            (
                "(module (type $t (func)) (func (param (ref $t))))",
                &[WasmFeature::ReferenceTypes, WasmFeature::FunctionReferences],
            ),
            (
                "(module (type $s (struct (field i32))) (func (result (ref null $s)) ref.null $s))",
                &[
                    WasmFeature::ReferenceTypes,
                    WasmFeature::FunctionReferences,
                    WasmFeature::Gc,
                ],
            ),
            (
                "(module (memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))",
                &[WasmFeature::BulkMemory],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(required_features(&wat(text)), *want, "{text}");
        }
    }

    #[test]
    fn a_missing_feature_is_named() {
        let e = check_features(
            &[WasmFeature::MultiMemory, WasmFeature::Simd],
            &WasmFeature::WASM2,
            "any registered node",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid wasm_features: the module uses the WebAssembly feature multi-memory, not accepted by any registered node"
        );
        check_features(&[WasmFeature::Simd], &WasmFeature::WASM2, "x").unwrap();
    }

    #[test]
    fn names_round_trip_through_json() {
        for f in WasmFeature::ALL {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<WasmFeature>(&json).unwrap(), f);
        }
    }
}

//! Conformance of what real WebAssembly asks of a runtime: every feature a
//! runtime declares runs, values keep their bits through a call, and trap
//! messages say "wasm trap" once. Part of [`runtime_suite!`](crate::runtime_suite).

use hotswap_core::Error;
use hotswap_core::domain::wasm_features::required_features;
use hotswap_core::domain::{ResourceLimits, WasmFeature};
use hotswap_core::runtime::Invocation;
use serde_json::{Value as Json, json};

use crate::runtime::{RuntimeHarness, load};

/// A module whose `run` returns 42 by way of `feature`; `None` where the
/// text format (wat) cannot write one.
pub fn feature_fixture(feature: WasmFeature) -> Option<Vec<u8>> {
    use WasmFeature as F;
    let body = match feature {
        F::MutableGlobal => {
            r#"(global (export "g") (mut i32) (i32.const 42))
               (func (export "run") (result i32) global.get 0)"#
        }
        F::SaturatingFloatToInt => {
            r#"(func (export "run") (result i32) (i32.trunc_sat_f32_s (f32.const 42.9)))"#
        }
        F::SignExtension => {
            r#"(func (export "run") (result i32) (i32.extend8_s (i32.const 0x12a)))"#
        }
        F::MultiValue => {
            r#"(func $two (result i32 i32) i32.const 40 i32.const 2)
               (func (export "run") (result i32) call $two i32.add)"#
        }
        F::BulkMemory => {
            r#"(memory 1)
               (func (export "run") (result i32)
                 (memory.fill (i32.const 0) (i32.const 42) (i32.const 4))
                 (i32.load8_u (i32.const 3)))"#
        }
        F::ReferenceTypes => {
            r#"(table 1 funcref) (table 1 funcref) (table $e 42 externref)
               (func (export "run") (result i32) (table.size $e))"#
        }
        F::Simd => {
            r#"(func (export "run") (result i32)
                 (i32x4.extract_lane 1 (i32x4.add (v128.const i32x4 1 2 3 4)
                                                  (v128.const i32x4 10 40 30 40))))"#
        }
        F::RelaxedSimd => {
            r#"(func (export "run") (result i32)
                 (i32x4.extract_lane 0 (i32x4.relaxed_laneselect
                   (v128.const i32x4 42 0 0 0) (v128.const i32x4 1 1 1 1)
                   (v128.const i32x4 -1 -1 -1 -1))))"#
        }
        F::TailCall => {
            r#"(func $f (param i32) (result i32) local.get 0 i32.const 1 i32.add)
               (func (export "run") (result i32) i32.const 41 return_call $f)"#
        }
        F::MultiMemory => {
            r#"(memory 1) (memory $b 1)
               (func (export "run") (result i32)
                 (i32.store $b (i32.const 0) (i32.const 42))
                 (i32.add (i32.load (i32.const 0)) (i32.load $b (i32.const 0))))"#
        }
        F::ExtendedConst => {
            r#"(global i32 (i32.add (i32.const 40) (i32.const 2)))
               (func (export "run") (result i32) global.get 0)"#
        }
        F::FunctionReferences => {
            r#"(type $t (func (result i32)))
               (func $f (type $t) i32.const 42)
               (elem declare func $f)
               (func (export "run") (result i32) (call_ref $t (ref.func $f)))"#
        }
        F::Gc => {
            r#"(type $s (struct (field i32)))
               (func (export "run") (result i32)
                 (struct.get $s 0 (struct.new $s (i32.const 42))))"#
        }
        F::Exceptions => {
            r#"(tag $e (param i32))
               (func (export "run") (result i32)
                 (block $h (result i32)
                   (try_table (catch $e $h) (throw $e (i32.const 42)))
                   (i32.const 0)))"#
        }
        F::Memory64 => {
            r#"(memory i64 1)
               (func (export "run") (result i32)
                 (i64.store (i64.const 8) (i64.const 42))
                 (i32.wrap_i64 (i64.load (i64.const 8))))"#
        }
        F::Threads => {
            r#"(memory 1 1 shared)
               (func (export "run") (result i32)
                 (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 42)))
                 (i32.atomic.load (i32.const 0)))"#
        }
        _ => return None,
    };
    Some(wat::parse_str(format!("(module {body})")).expect("the fixture's text parses"))
}

/// Each feature the runtime declares runs a module that uses it (and the
/// inspection finds it used): the declaration is what node selection and
/// registration trust.
pub async fn declared_wasm_features_run(h: &RuntimeHarness) {
    let declared = h.runtime.capabilities().wasm_features;
    for feature in WasmFeature::WASM2 {
        assert!(declared.contains(&feature), "{feature} is WebAssembly 2.0");
    }
    for feature in declared {
        let Some(bytes) = feature_fixture(feature) else {
            println!("no text fixture for {feature}");
            continue;
        };
        assert!(
            required_features(&bytes).contains(&feature),
            "the {feature} fixture is found to use {feature}"
        );
        let m = load(&*h.runtime, bytes, ResourceLimits::default()).await;
        let out = m
            .invoke(Invocation::json("run", json!([])))
            .await
            .unwrap_or_else(|e| panic!("{feature}: {e}"));
        assert_eq!(out.results_json(), json!(42), "{feature}");
    }
}

const VALUES: &str = r#"(module
  (func (export "copysign") (param f32 f32) (result f32) local.get 0 local.get 1 f32.copysign)
  (func (export "bits32") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "from_bits32") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
  (func (export "id64") (param f64) (result f64) local.get 0)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "id_i64") (param i64) (result i64) local.get 0))"#;

/// Floats keep every bit through a call, `i32` takes its unsigned reading,
/// and `i64` results are exact strings.
pub async fn values_keep_their_bits(h: &RuntimeHarness) {
    let m = load(
        &*h.runtime,
        wat::parse_str(VALUES).expect("parses"),
        ResourceLimits::default(),
    )
    .await;
    let call = |f: &'static str, args: Json| {
        let m = m.clone();
        async move {
            m.invoke(Invocation::json(f, args))
                .await
                .unwrap_or_else(|e| panic!("{f}: {e}"))
                .results_json()
        }
    };
    assert_eq!(call("copysign", json!([1.0, "-nan"])).await, json!(-1.0));
    assert_eq!(call("copysign", json!([1.0, -0.0])).await, json!(-1.0));
    assert_eq!(
        call("bits32", json!([{"f32_bits": "0x7fc00001"}])).await,
        json!(0x7fc0_0001)
    );
    assert_eq!(
        call("bits32", json!([{"f32_bits": "0xffc00001"}])).await,
        json!(0xffc0_0001_u32 as i32)
    );
    assert_eq!(
        call("from_bits32", json!([0xffc0_0001_u32])).await,
        json!({"f32_bits": "0xffc00001"})
    );
    assert_eq!(
        call("from_bits32", json!([0x8000_0001_u32])).await,
        json!(-1e-45)
    );
    for bits in [
        "0x7ff0000000000001",
        "0xfff8000000000000",
        "0x8000000000000000",
    ] {
        let back = call("id64", json!([{"f64_bits": bits}])).await;
        let want = if bits == "0x8000000000000000" {
            json!(-0.0)
        } else {
            json!({"f64_bits": bits})
        };
        assert_eq!(back, want, "{bits}");
    }
    assert_eq!(call("add", json!([4_294_967_295_u32, 1])).await, json!(0));
    assert_eq!(
        call("add", json!([2_147_483_647, 1])).await,
        json!(i32::MIN)
    );
    assert_eq!(
        call("id_i64", json!(["18446744073709551615"])).await,
        json!("-1")
    );
    assert_eq!(
        call("id_i64", json!([9_007_199_254_740_993_i64])).await,
        json!("9007199254740993")
    );
}

/// A trap's text says "wasm trap" once.
pub async fn trap_messages_say_so_once(h: &RuntimeHarness) {
    let m = load(
        &*h.runtime,
        crate::fixtures::trapping(),
        ResourceLimits::default(),
    )
    .await;
    let e = m
        .invoke(Invocation::json("div", json!([1, 0])))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e}");
    assert_eq!(e.to_string().matches("wasm trap").count(), 1, "{e}");
}

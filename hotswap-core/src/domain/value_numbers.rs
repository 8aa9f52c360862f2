//! The JSON forms of numbers: integers in their whole range, 64-bit
//! integers as strings where JavaScript would round them, and floats that
//! keep every bit.
//!
//! - Core `i32` and `i64` are sign-agnostic: `-1` and `4294967295` are the
//!   same `i32`. Results come back signed.
//! - 64-bit results (`i64`, `s64`, `u64`) are decimal strings by default
//!   ([`Int64Json::String`]), since a JSON number above 2^53 loses digits in
//!   JavaScript; [`Int64Json::Number`] writes bare numbers. Arguments take
//!   either form.
//! - Floats are numbers (negative zero is `-0.0`; an `f32` is written as
//!   the shortest decimal that reads back as the same `f32`); `"inf"` and `"-inf"` are
//!   the infinities; `"nan"` is the positive canonical NaN (`0x7fc00000`,
//!   `0x7ff8000000000000`) and `"-nan"` the negative one. Any other NaN is
//!   written `{"f32_bits": "0x7fc00001"}` (or `f64_bits`), and any value may
//!   be sent that way, so every bit pattern round-trips.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::value::ValueType;
use super::value_path::ValuePath;
use crate::error::{Error, Result};

/// How 64-bit integer results are written in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Int64Json {
    /// Decimal strings, e.g. `"9007199254740993"`: exact in every JSON
    /// reader (the default).
    #[default]
    String,
    /// Bare JSON numbers, exact only in readers with 64-bit integers.
    Number,
}

const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

fn invalid(path: &ValuePath<'_>, reason: impl Into<String>) -> Error {
    Error::invalid(path.to_string(), reason)
}

/// An integer of type `ty` from a JSON number (or, for 64-bit types, a
/// decimal string), checked against `[min, max]` before `T` is made.
pub(crate) fn int(
    path: &ValuePath<'_>,
    ty: &ValueType,
    json: &Json,
    range: (i128, i128),
) -> Result<i128> {
    let wide: Option<i128> = match json {
        Json::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Json::String(s) if ty.is_64_bit_integer() => s.trim().parse().ok(),
        _ => None,
    };
    let wide = wide.ok_or_else(|| super::value::mismatch(path, ty, json))?;
    if wide < range.0 || wide > range.1 {
        return Err(invalid(
            path,
            format!(
                "{wide} is out of range for {ty} ({} to {})",
                range.0, range.1
            ),
        ));
    }
    Ok(wide)
}

/// A 64-bit integer result in the chosen form.
pub(crate) fn int64_json(x: impl Into<i128> + Into<Json> + Copy, form: Int64Json) -> Json {
    match form {
        Int64Json::Number => x.into(),
        Int64Json::String => Json::String(Into::<i128>::into(x).to_string()),
    }
}

/// The bits written as `{"f32_bits": ..}` or `{"f64_bits": ..}`: a hex
/// string `0x...` or a non-negative integer.
fn bits_of(path: &ValuePath<'_>, key: &str, json: &Json) -> Result<Option<u64>> {
    let Json::Object(obj) = json else {
        return Ok(None);
    };
    let (k, v) = match obj.iter().next() {
        Some(kv) if obj.len() == 1 => kv,
        _ => {
            return Err(invalid(
                path,
                format!("a float object has exactly one key, {key:?}"),
            ));
        }
    };
    if k != key {
        return Err(invalid(
            path,
            format!("a float object's key is {key:?}, got {k:?}"),
        ));
    }
    let bits = match v {
        Json::String(s) => s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok()),
        Json::Number(n) => n.as_u64(),
        _ => None,
    };
    bits.map(Some).ok_or_else(|| {
        invalid(
            path,
            format!("{key} must be a hex string such as \"0x7fc00000\" or an integer, got {v}"),
        )
    })
}

/// A float of type `ty` from a number, a named special value, or its bits;
/// `None` when `json` is of none of these forms.
fn float_text(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" | "+nan" => Some(f64::from_bits(F64_CANONICAL_NAN)),
        "-nan" => Some(f64::from_bits(F64_CANONICAL_NAN | (1 << 63))),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// An `f64` argument.
pub(crate) fn f64_from(path: &ValuePath<'_>, ty: &ValueType, json: &Json) -> Result<f64> {
    if let Some(bits) = bits_of(path, "f64_bits", json)? {
        return Ok(f64::from_bits(bits));
    }
    match json {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => float_text(s),
        _ => None,
    }
    .ok_or_else(|| super::value::mismatch(path, ty, json))
}

/// An `f32` argument: finite numbers out of `f32`'s range are refused.
pub(crate) fn f32_from(path: &ValuePath<'_>, ty: &ValueType, json: &Json) -> Result<f32> {
    if let Some(bits) = bits_of(path, "f32_bits", json)? {
        let bits = u32::try_from(bits)
            .map_err(|_| invalid(path, format!("f32_bits {bits:#x} has more than 32 bits")))?;
        return Ok(f32::from_bits(bits));
    }
    if let Json::String(s) = json {
        // Not through f64: a NaN's sign must survive.
        return match s.to_ascii_lowercase().as_str() {
            "nan" | "+nan" => Ok(f32::from_bits(F32_CANONICAL_NAN)),
            "-nan" => Ok(f32::from_bits(F32_CANONICAL_NAN | (1 << 31))),
            _ => float_text(s)
                .map(|x| x as f32)
                .ok_or_else(|| super::value::mismatch(path, ty, json)),
        };
    }
    let x = json
        .as_f64()
        .ok_or_else(|| super::value::mismatch(path, ty, json))?;
    let narrowed = x as f32;
    if x.is_finite() && narrowed.is_infinite() {
        return Err(invalid(path, format!("{x} is out of range for f32")));
    }
    Ok(narrowed)
}

fn bits_json(key: &str, hex: String) -> Json {
    let mut m = Map::new();
    m.insert(key.to_owned(), Json::String(hex));
    Json::Object(m)
}

/// The JSON form of an `f32` result.
pub(crate) fn f32_json(x: f32) -> Json {
    if x.is_nan() {
        match x.to_bits() {
            F32_CANONICAL_NAN => Json::String("nan".into()),
            bits => bits_json("f32_bits", format!("{bits:#010x}")),
        }
    } else {
        // The shortest decimal that reads back as this f32 (`0.1`, not
        // `0.10000000149011612`): Rust prints exactly that.
        finite_or_infinite(x.to_string().parse().unwrap_or(f64::from(x)))
    }
}

/// The JSON form of an `f64` result.
pub(crate) fn f64_json(x: f64) -> Json {
    if x.is_nan() {
        match x.to_bits() {
            F64_CANONICAL_NAN => Json::String("nan".into()),
            bits => bits_json("f64_bits", format!("{bits:#018x}")),
        }
    } else {
        finite_or_infinite(x)
    }
}

fn finite_or_infinite(x: f64) -> Json {
    if x.is_infinite() {
        Json::String(if x > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use crate::domain::{Value, ValueType};

    /// Every class of bit pattern: payload NaNs of both signs, infinities,
    /// zeros, subnormals and normals, plus arbitrary bits.
    fn f32_bits() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            (any::<bool>(), 1u32..(1 << 23))
                .prop_map(|(s, p)| (u32::from(s) << 31) | 0x7f80_0000 | p),
            (any::<bool>(), 0u32..(1 << 23)).prop_map(|(s, p)| (u32::from(s) << 31) | p),
            Just(0x7f80_0000),
            Just(0xff80_0000),
            Just(0x8000_0000),
            Just(0x7fc0_0000),
            Just(0xffc0_0000),
        ]
    }

    fn f64_bits() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            (any::<bool>(), 1u64..(1 << 52))
                .prop_map(|(s, p)| (u64::from(s) << 63) | 0x7ff0_0000_0000_0000 | p),
            (any::<bool>(), 0u64..(1 << 52)).prop_map(|(s, p)| (u64::from(s) << 63) | p),
            Just(0x7ff0_0000_0000_0000),
            Just(0x8000_0000_0000_0000),
            Just(0x7ff8_0000_0000_0000),
            Just(0xfff8_0000_0000_0000),
        ]
    }

    /// Through text, as a client would see it.
    fn round_trip(v: &Value, ty: &ValueType) -> Value {
        let text = serde_json::to_string(&v.to_json()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        Value::from_json(&json, ty, "a").unwrap()
    }

    proptest! {
        #[test]
        fn every_f32_keeps_its_bits(bits in f32_bits()) {
            match round_trip(&Value::F32(f32::from_bits(bits)), &ValueType::F32) {
                Value::F32(x) => prop_assert_eq!(x.to_bits(), bits),
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn every_f64_keeps_its_bits(bits in f64_bits()) {
            match round_trip(&Value::F64(f64::from_bits(bits)), &ValueType::F64) {
                Value::F64(x) => prop_assert_eq!(x.to_bits(), bits),
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn bits_objects_are_taken_as_written(bits in f32_bits(), wide in f64_bits()) {
            let v = Value::from_json(&json!({"f32_bits": format!("{bits:#x}")}), &ValueType::F32, "a").unwrap();
            prop_assert!(matches!(v, Value::F32(x) if x.to_bits() == bits));
            let v = Value::from_json(&json!({"f64_bits": wide}), &ValueType::F64, "a").unwrap();
            prop_assert!(matches!(v, Value::F64(x) if x.to_bits() == wide));
        }

        #[test]
        fn core_i32_takes_both_readings_of_its_bits(x in any::<i32>()) {
            let unsigned = json!(x as u32);
            prop_assert_eq!(Value::from_json(&unsigned, &ValueType::I32, "a").unwrap(), Value::S32(x));
            prop_assert_eq!(Value::from_json(&json!(x), &ValueType::I32, "a").unwrap(), Value::S32(x));
        }

        #[test]
        fn sixty_four_bit_integers_round_trip_as_strings(x in any::<i64>(), u in any::<u64>()) {
            prop_assert_eq!(Value::S64(x).to_json(), json!(x.to_string()));
            prop_assert_eq!(round_trip(&Value::S64(x), &ValueType::I64), Value::S64(x));
            prop_assert_eq!(round_trip(&Value::S64(x), &ValueType::S64), Value::S64(x));
            prop_assert_eq!(round_trip(&Value::U64(u), &ValueType::U64), Value::U64(u));
            let unsigned = json!((x as u64).to_string());
            prop_assert_eq!(Value::from_json(&unsigned, &ValueType::I64, "a").unwrap(), Value::S64(x));
        }
    }

    #[test]
    fn the_named_forms() {
        let f32_of = |j| match Value::from_json(&j, &ValueType::F32, "a").unwrap() {
            Value::F32(x) => x.to_bits(),
            other => panic!("{other:?}"),
        };
        assert_eq!(f32_of(json!("nan")), 0x7fc0_0000);
        assert_eq!(f32_of(json!("-nan")), 0xffc0_0000);
        assert_eq!(f32_of(json!("-inf")), 0xff80_0000);
        assert_eq!(f32_of(json!(-0.0)), 0x8000_0000);
        assert_eq!(
            Value::F32(f32::from_bits(0x7fc0_0000)).to_json(),
            json!("nan")
        );
        assert_eq!(
            Value::F32(f32::from_bits(0xffc0_0000)).to_json(),
            json!({"f32_bits": "0xffc00000"})
        );
        assert_eq!(
            Value::F64(f64::from_bits(0x7ff8_0000_0000_0001)).to_json(),
            json!({"f64_bits": "0x7ff8000000000001"})
        );
        assert_eq!(Value::F64(f64::NEG_INFINITY).to_json(), json!("-inf"));
        assert_eq!(Value::F32(0.1).to_json(), json!(0.1));
        assert_eq!(
            Value::F32(f32::from_bits(0x8000_0001)).to_json(),
            json!(-1e-45)
        );
        assert_eq!(
            Value::S64(-1).to_json_with(super::Int64Json::Number),
            json!(-1)
        );
        assert_eq!(
            Value::U64(u64::MAX).to_json_with(super::Int64Json::Number),
            json!(u64::MAX)
        );
    }

    #[test]
    fn bad_forms_name_what_is_wrong() {
        let err = |j, ty: &ValueType| Value::from_json(&j, ty, "a").unwrap_err().to_string();
        assert_eq!(
            err(json!({"f64_bits": "0x1"}), &ValueType::F32),
            "invalid a: a float object's key is \"f32_bits\", got \"f64_bits\""
        );
        assert!(
            err(json!({"f32_bits": "0x100000000"}), &ValueType::F32).contains("more than 32 bits")
        );
        assert!(err(json!({"f32_bits": "nan"}), &ValueType::F32).contains("hex string"));
        assert_eq!(
            err(json!(4_294_967_296_u64), &ValueType::I32),
            "invalid a: 4294967296 is out of range for i32 (-2147483648 to 4294967295)"
        );
        assert_eq!(
            err(json!(2_147_483_648_u64), &ValueType::S32),
            "invalid a: 2147483648 is out of range for s32 (-2147483648 to 2147483647)"
        );
        assert!(err(json!("-1"), &ValueType::U64).contains("out of range for u64"));
    }
}

//! Runtime-neutral call values, their types, and the JSON mapping.
//!
//! The mapping (see [`Value::from_json`] and [`Value::to_json`]):
//!
//! | type | JSON |
//! |---|---|
//! | `bool` | `true` / `false` |
//! | integers | a number; core `i32`/`i64` in their signed and unsigned range |
//! | 64-bit integers | arguments: a number or a decimal string; results: a decimal string ([`Int64Json`]) |
//! | `f32`, `f64` | a number; `"inf"`, `"-inf"`, `"nan"` (canonical), `"-nan"`; `{"f32_bits": "0x7fc00001"}` / `{"f64_bits": ..}` for any bits |
//! | `char` | a one-character string |
//! | `string` | a string |
//! | `list<T>`, `tuple<..>` | an array |
//! | `record` | an object with exactly the record's fields (`option` fields may be left out) |
//! | `variant` | `"case"` without payload, `{"case": payload}` with one |
//! | `enum` | `"case"` |
//! | `option<T>` | `null` for none, the value for some; `{"some": v}` when `T` is itself an option |
//! | `result<T, E>` | `{"ok": v}` / `{"err": v}` (`null` without payload) |
//! | `flags` | an array of the set flag names |
//!
//! The number forms are described in full in [`value_numbers`](super::value_numbers).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::value_numbers::{self as num, Int64Json};
use super::value_path::ValuePath;
use crate::error::{Error, Result};

/// The type of a [`Value`]: the component model's value types, which include
/// the core wasm number types (`s32` = i32, `s64` = i64, `f32`, `f64`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueType {
    /// `bool`
    Bool,
    /// Core wasm `i32`: sign-agnostic, so JSON may give it in the signed
    /// or the unsigned range; its values are [`Value::S32`].
    I32,
    /// Core wasm `i64`: sign-agnostic like `i32`; its values are
    /// [`Value::S64`].
    I64,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(Box<ValueType>),
    /// `record { name: T, ... }`
    Record(Vec<(String, ValueType)>),
    /// `tuple<T, ...>`
    Tuple(Vec<ValueType>),
    /// `variant { case(T), case, ... }`
    Variant(Vec<(String, Option<ValueType>)>),
    /// `enum { case, ... }`
    Enum(Vec<String>),
    /// `option<T>`
    Option(Box<ValueType>),
    /// `result<T, E>`
    Result {
        /// Payload of `ok`, if any.
        ok: Option<Box<ValueType>>,
        /// Payload of `err`, if any.
        err: Option<Box<ValueType>>,
    },
    /// `flags { name, ... }`
    Flags(Vec<String>),
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(
            f: &mut fmt::Formatter<'_>,
            items: &[T],
            one: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
        ) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                one(f, item)?;
            }
            Ok(())
        }
        match self {
            Self::Bool => f.write_str("bool"),
            Self::I32 => f.write_str("i32"),
            Self::I64 => f.write_str("i64"),
            Self::S8 => f.write_str("s8"),
            Self::U8 => f.write_str("u8"),
            Self::S16 => f.write_str("s16"),
            Self::U16 => f.write_str("u16"),
            Self::S32 => f.write_str("s32"),
            Self::U32 => f.write_str("u32"),
            Self::S64 => f.write_str("s64"),
            Self::U64 => f.write_str("u64"),
            Self::F32 => f.write_str("f32"),
            Self::F64 => f.write_str("f64"),
            Self::Char => f.write_str("char"),
            Self::String => f.write_str("string"),
            Self::List(t) => write!(f, "list<{t}>"),
            Self::Option(t) => write!(f, "option<{t}>"),
            Self::Tuple(ts) => {
                f.write_str("tuple<")?;
                list(f, ts, |f, t| write!(f, "{t}"))?;
                f.write_str(">")
            }
            Self::Record(fields) => {
                f.write_str("record { ")?;
                list(f, fields, |f, (n, t)| write!(f, "{n}: {t}"))?;
                f.write_str(" }")
            }
            Self::Variant(cases) => {
                f.write_str("variant { ")?;
                list(f, cases, |f, (n, t)| match t {
                    Some(t) => write!(f, "{n}({t})"),
                    None => f.write_str(n),
                })?;
                f.write_str(" }")
            }
            Self::Enum(cases) => {
                f.write_str("enum { ")?;
                list(f, cases, |f, n| f.write_str(n))?;
                f.write_str(" }")
            }
            Self::Flags(names) => {
                f.write_str("flags { ")?;
                list(f, names, |f, n| f.write_str(n))?;
                f.write_str(" }")
            }
            Self::Result { ok, err } => match (ok, err) {
                (None, None) => f.write_str("result"),
                (Some(ok), None) => write!(f, "result<{ok}>"),
                (None, Some(err)) => write!(f, "result<_, {err}>"),
                (Some(ok), Some(err)) => write!(f, "result<{ok}, {err}>"),
            },
        }
    }
}

/// A call argument or result, independent of the runtime.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32` / core `i32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64` / core `i64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>`
    List(Vec<Value>),
    /// `record`: fields in declaration order.
    Record(Vec<(String, Value)>),
    /// `tuple`
    Tuple(Vec<Value>),
    /// `variant`: the case and its payload.
    Variant {
        /// Case name.
        case: String,
        /// Payload, if the case has one.
        payload: Option<Box<Value>>,
    },
    /// `enum`: the case name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Value>>),
    /// `result<T, E>`
    Result(std::result::Result<Option<Box<Value>>, Option<Box<Value>>>),
    /// `flags`: the names of the set flags.
    Flags(Vec<String>),
}

fn invalid(path: impl fmt::Display, reason: impl Into<String>) -> Error {
    Error::invalid(path.to_string(), reason)
}

fn describe(json: &Json) -> String {
    let kind = match json {
        Json::Null => return "null".into(),
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    let mut text = json.to_string();
    if text.len() > 40 {
        let mut end = 37;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    format!("{kind} {text}")
}

pub(crate) fn mismatch(path: &ValuePath<'_>, ty: &ValueType, json: &Json) -> Error {
    invalid(path, format!("expected {ty}, got {}", describe(json)))
}

fn int<T: TryFrom<i128> + Bounded>(path: &ValuePath<'_>, ty: &ValueType, json: &Json) -> Result<T> {
    let wide = num::int(path, ty, json, (T::MIN, T::MAX))?;
    T::try_from(wide).map_err(|_| invalid(path, format!("{wide} is out of range for {ty}")))
}

/// An integer type's range, as `i128`.
trait Bounded {
    const MIN: i128;
    const MAX: i128;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
        }
    )*};
}
bounded!(i8, u8, i16, u16, i32, u32, i64, u64);

impl ValueType {
    /// `i64`, `s64` or `u64`: the types whose JSON numbers JavaScript
    /// cannot hold exactly, so they may also be written as strings.
    pub fn is_64_bit_integer(&self) -> bool {
        matches!(self, Self::I64 | Self::S64 | Self::U64)
    }
}

fn boxed(v: Option<Value>) -> Option<Box<Value>> {
    v.map(Box::new)
}

impl Value {
    /// Build a value of type `ty` from JSON, naming `path` (e.g.
    /// `arguments[0]`) and the position inside it in any error.
    pub fn from_json(json: &Json, ty: &ValueType, path: &str) -> Result<Value> {
        Self::from_json_at(json, ty, &ValuePath::Root(path))
    }

    /// [`Value::from_json`] at a position built while mapping.
    pub(crate) fn from_json_at(json: &Json, ty: &ValueType, path: &ValuePath<'_>) -> Result<Value> {
        use ValueType as T;
        Ok(match ty {
            T::Bool => Value::Bool(json.as_bool().ok_or_else(|| mismatch(path, ty, json))?),
            // Sign-agnostic: the unsigned reading names the same bits.
            T::I32 => {
                Value::S32(num::int(path, ty, json, (i32::MIN.into(), u32::MAX.into()))? as i32)
            }
            T::I64 => {
                Value::S64(num::int(path, ty, json, (i64::MIN.into(), u64::MAX.into()))? as i64)
            }
            T::S8 => Value::S8(int(path, ty, json)?),
            T::U8 => Value::U8(int(path, ty, json)?),
            T::S16 => Value::S16(int(path, ty, json)?),
            T::U16 => Value::U16(int(path, ty, json)?),
            T::S32 => Value::S32(int(path, ty, json)?),
            T::U32 => Value::U32(int(path, ty, json)?),
            T::S64 => Value::S64(int(path, ty, json)?),
            T::U64 => Value::U64(int(path, ty, json)?),
            T::F64 => Value::F64(num::f64_from(path, ty, json)?),
            T::F32 => Value::F32(num::f32_from(path, ty, json)?),
            T::Char => {
                let s = json.as_str().ok_or_else(|| mismatch(path, ty, json))?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Value::Char(c),
                    _ => {
                        return Err(invalid(
                            path,
                            format!("expected char (one character), got {}", describe(json)),
                        ));
                    }
                }
            }
            T::String => Value::String(
                json.as_str()
                    .ok_or_else(|| mismatch(path, ty, json))?
                    .to_owned(),
            ),
            T::List(elem) => {
                let items = json.as_array().ok_or_else(|| mismatch(path, ty, json))?;
                Value::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, j)| Value::from_json_at(j, elem, &ValuePath::Index(path, i)))
                        .collect::<Result<_>>()?,
                )
            }
            T::Tuple(types) => {
                let items = json.as_array().ok_or_else(|| mismatch(path, ty, json))?;
                if items.len() != types.len() {
                    return Err(invalid(
                        path,
                        format!(
                            "expected {ty} with {} elements, got {}",
                            types.len(),
                            items.len()
                        ),
                    ));
                }
                Value::Tuple(
                    items
                        .iter()
                        .zip(types)
                        .enumerate()
                        .map(|(i, (j, t))| Value::from_json_at(j, t, &ValuePath::Index(path, i)))
                        .collect::<Result<_>>()?,
                )
            }
            T::Record(fields) => {
                let obj = json.as_object().ok_or_else(|| mismatch(path, ty, json))?;
                if let Some(unknown) = obj.keys().find(|k| !fields.iter().any(|(n, _)| n == *k)) {
                    return Err(invalid(
                        ValuePath::Field(path, unknown),
                        format!("unknown field; {ty} has no field {unknown:?}"),
                    ));
                }
                let mut out = Vec::with_capacity(fields.len());
                for (name, fty) in fields {
                    let fpath = ValuePath::Field(path, name);
                    let value = match obj.get(name) {
                        Some(j) => Value::from_json_at(j, fty, &fpath)?,
                        None if matches!(fty, T::Option(_)) => Value::Option(None),
                        None => return Err(invalid(fpath, "missing field")),
                    };
                    out.push((name.clone(), value));
                }
                Value::Record(out)
            }
            T::Variant(cases) => {
                let (case, payload_json) = tagged(json, path, ty)?;
                let (name, payload_ty) = cases
                    .iter()
                    .find(|(n, _)| n == case)
                    .ok_or_else(|| unknown_case(path, ty, case))?;
                let payload = match (payload_ty, payload_json) {
                    (None, None | Some(Json::Null)) => None,
                    (None, Some(j)) => {
                        return Err(invalid(
                            ValuePath::Field(path, case),
                            format!("case {case} has no payload, got {}", describe(j)),
                        ));
                    }
                    (Some(t), Some(j)) => {
                        Some(Value::from_json_at(j, t, &ValuePath::Field(path, case))?)
                    }
                    (Some(t), None) => {
                        return Err(invalid(
                            path,
                            format!("case {case} carries a {t}; write {{\"{case}\": ...}}"),
                        ));
                    }
                };
                Value::Variant {
                    case: name.clone(),
                    payload: boxed(payload),
                }
            }
            T::Enum(cases) => {
                let s = json.as_str().ok_or_else(|| mismatch(path, ty, json))?;
                if !cases.iter().any(|c| c == s) {
                    return Err(unknown_case(path, ty, s));
                }
                Value::Enum(s.to_owned())
            }
            T::Option(inner) => match json {
                Json::Null => Value::Option(None),
                _ if matches!(**inner, T::Option(_)) => {
                    let obj = json
                        .as_object()
                        .filter(|o| o.len() == 1)
                        .and_then(|o| o.get("some"))
                        .ok_or_else(|| {
                            invalid(
                                path,
                                format!(
                                    "expected {ty}: null or {{\"some\": ...}}, got {}",
                                    describe(json)
                                ),
                            )
                        })?;
                    Value::Option(Some(Box::new(Value::from_json_at(
                        obj,
                        inner,
                        &ValuePath::Field(path, "some"),
                    )?)))
                }
                _ => Value::Option(Some(Box::new(Value::from_json_at(json, inner, path)?))),
            },
            T::Result { ok, err } => {
                let obj = json.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
                    invalid(
                        path,
                        format!(
                            "expected {ty}: {{\"ok\": ...}} or {{\"err\": ...}}, got {}",
                            describe(json)
                        ),
                    )
                })?;
                let (key, j) = obj.iter().next().ok_or_else(|| mismatch(path, ty, json))?;
                let payload = |t: &Option<Box<ValueType>>| -> Result<Option<Box<Value>>> {
                    let p = ValuePath::Field(path, key);
                    match (t, j) {
                        (None, Json::Null) => Ok(None),
                        (None, j) => Err(invalid(
                            p,
                            format!("{key} has no payload in {ty}, got {}", describe(j)),
                        )),
                        (Some(t), j) => Ok(Some(Box::new(Value::from_json_at(j, t, &p)?))),
                    }
                };
                match key.as_str() {
                    "ok" => Value::Result(Ok(payload(ok)?)),
                    "err" => Value::Result(Err(payload(err)?)),
                    _ => {
                        return Err(invalid(
                            path,
                            format!(
                                "expected {ty}: the key must be \"ok\" or \"err\", got {key:?}"
                            ),
                        ));
                    }
                }
            }
            T::Flags(names) => {
                let items = json.as_array().ok_or_else(|| mismatch(path, ty, json))?;
                let mut set = Vec::with_capacity(items.len());
                for (i, j) in items.iter().enumerate() {
                    let name = j
                        .as_str()
                        .ok_or_else(|| mismatch(&ValuePath::Index(path, i), ty, j))?;
                    if !names.iter().any(|n| n == name) {
                        return Err(unknown_case(&ValuePath::Index(path, i), ty, name));
                    }
                    if set.iter().any(|s: &String| s == name) {
                        return Err(invalid(
                            ValuePath::Index(path, i),
                            format!("flag {name} is set twice"),
                        ));
                    }
                    set.push(name.to_owned());
                }
                // Declaration order, so equal flag sets give equal values.
                set.sort_by_key(|s| names.iter().position(|n| n == s));
                Value::Flags(set)
            }
        })
    }

    /// The JSON form of this value (the inverse of [`Value::from_json`]),
    /// with 64-bit integers as strings.
    pub fn to_json(&self) -> Json {
        self.to_json_with(Int64Json::String)
    }

    /// The JSON form of this value, with 64-bit integers as `int64` says.
    pub fn to_json_with(&self, int64: Int64Json) -> Json {
        let each = |items: &[Value]| items.iter().map(|v| v.to_json_with(int64)).collect();
        match self {
            Value::Bool(b) => Json::Bool(*b),
            Value::S8(x) => Json::from(*x),
            Value::U8(x) => Json::from(*x),
            Value::S16(x) => Json::from(*x),
            Value::U16(x) => Json::from(*x),
            Value::S32(x) => Json::from(*x),
            Value::U32(x) => Json::from(*x),
            Value::S64(x) => num::int64_json(*x, int64),
            Value::U64(x) => num::int64_json(*x, int64),
            Value::F32(x) => num::f32_json(*x),
            Value::F64(x) => num::f64_json(*x),
            Value::Char(c) => Json::String(c.to_string()),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) | Value::Tuple(items) => Json::Array(each(items)),
            Value::Record(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(n, v)| (n.clone(), v.to_json_with(int64)))
                    .collect(),
            ),
            Value::Variant { case, payload } => match payload {
                None => Json::String(case.clone()),
                Some(p) => single(case, p.to_json_with(int64)),
            },
            Value::Enum(case) => Json::String(case.clone()),
            Value::Option(None) => Json::Null,
            Value::Option(Some(v)) => match **v {
                Value::Option(_) => single("some", v.to_json_with(int64)),
                _ => v.to_json_with(int64),
            },
            Value::Result(r) => {
                let (key, payload) = match r {
                    Ok(p) => ("ok", p),
                    Err(p) => ("err", p),
                };
                single(
                    key,
                    payload
                        .as_ref()
                        .map_or(Json::Null, |p| p.to_json_with(int64)),
                )
            }
            Value::Flags(names) => Json::Array(names.iter().cloned().map(Json::String).collect()),
        }
    }

    /// Check that this value has type `ty`, naming `path` on mismatch.
    pub fn check(&self, ty: &ValueType, path: &str) -> Result<()> {
        if self.has_type(ty) {
            Ok(())
        } else {
            Err(invalid(path, format!("expected {ty}, got {}", self.kind())))
        }
    }

    /// Whether this value has type `ty` (a structural check, no allocation).
    pub fn has_type(&self, ty: &ValueType) -> bool {
        use ValueType as T;
        let opt = |p: &Option<Box<Value>>, t: &Option<Box<ValueType>>| match (p, t) {
            (None, None) => true,
            (Some(v), Some(t)) => v.has_type(t),
            _ => false,
        };
        match (self, ty) {
            (Value::Bool(_), T::Bool)
            | (Value::S8(_), T::S8)
            | (Value::U8(_), T::U8)
            | (Value::S16(_), T::S16)
            | (Value::U16(_), T::U16)
            | (Value::S32(_), T::S32 | T::I32)
            | (Value::U32(_), T::U32)
            | (Value::S64(_), T::S64 | T::I64)
            | (Value::U64(_), T::U64)
            | (Value::F32(_), T::F32)
            | (Value::F64(_), T::F64)
            | (Value::Char(_), T::Char)
            | (Value::String(_), T::String) => true,
            (Value::List(items), T::List(t)) => items.iter().all(|v| v.has_type(t)),
            (Value::Tuple(items), T::Tuple(types)) => {
                items.len() == types.len() && items.iter().zip(types).all(|(v, t)| v.has_type(t))
            }
            (Value::Record(fields), T::Record(types)) => {
                fields.len() == types.len()
                    && fields
                        .iter()
                        .zip(types)
                        .all(|((n, v), (m, t))| n == m && v.has_type(t))
            }
            (Value::Variant { case, payload }, T::Variant(cases)) => cases.iter().any(|(n, t)| {
                n == case
                    && match (payload, t) {
                        (None, None) => true,
                        (Some(v), Some(t)) => v.has_type(t),
                        _ => false,
                    }
            }),
            (Value::Enum(case), T::Enum(cases)) => cases.contains(case),
            (Value::Option(v), T::Option(t)) => v.as_ref().is_none_or(|v| v.has_type(t)),
            (Value::Result(Ok(p)), T::Result { ok, .. }) => opt(p, ok),
            (Value::Result(Err(p)), T::Result { err, .. }) => opt(p, err),
            (Value::Flags(set), T::Flags(names)) => {
                set.iter().all(|f| names.contains(f))
                    && set.windows(2).all(|w| {
                        names.iter().position(|n| n == &w[0])
                            < names.iter().position(|n| n == &w[1])
                    })
            }
            _ => false,
        }
    }

    /// Equality that treats NaN as equal to NaN (bit-for-bit floats).
    pub fn same_as(&self, other: &Value) -> bool {
        use Value as V;
        let all = |a: &[Value], b: &[Value]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
        };
        let opt = |a: &Option<Box<Value>>, b: &Option<Box<Value>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        };
        match (self, other) {
            (V::F32(a), V::F32(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (V::F64(a), V::F64(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (V::List(a), V::List(b)) | (V::Tuple(a), V::Tuple(b)) => all(a, b),
            (V::Record(a), V::Record(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((n, x), (m, y))| n == m && x.same_as(y))
            }
            (
                V::Variant {
                    case: a,
                    payload: p,
                },
                V::Variant {
                    case: b,
                    payload: q,
                },
            ) => a == b && opt(p, q),
            (V::Option(a), V::Option(b)) => opt(a, b),
            (V::Result(Ok(a)), V::Result(Ok(b))) | (V::Result(Err(a)), V::Result(Err(b))) => {
                opt(a, b)
            }
            (a, b) => a == b,
        }
    }

    /// A short name of this value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::S8(_) => "s8",
            Value::U8(_) => "u8",
            Value::S16(_) => "s16",
            Value::U16(_) => "u16",
            Value::S32(_) => "s32",
            Value::U32(_) => "u32",
            Value::S64(_) => "s64",
            Value::U64(_) => "u64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Char(_) => "char",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Record(_) => "record",
            Value::Tuple(_) => "tuple",
            Value::Variant { .. } => "variant",
            Value::Enum(_) => "enum",
            Value::Option(_) => "option",
            Value::Result(_) => "result",
            Value::Flags(_) => "flags",
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

fn single(key: &str, value: Json) -> Json {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Json::Object(m)
}

/// Split a variant's JSON into its case name and optional payload.
fn tagged<'a>(
    json: &'a Json,
    path: &ValuePath<'_>,
    ty: &ValueType,
) -> Result<(&'a str, Option<&'a Json>)> {
    match json {
        Json::String(case) => Ok((case, None)),
        Json::Object(o) if o.len() == 1 => {
            let (k, v) = o.iter().next().ok_or_else(|| mismatch(path, ty, json))?;
            Ok((k, Some(v)))
        }
        _ => Err(invalid(
            path,
            format!(
                "expected {ty}: \"case\" or {{\"case\": payload}}, got {}",
                describe(json)
            ),
        )),
    }
}

fn unknown_case(path: &ValuePath<'_>, ty: &ValueType, case: &str) -> Error {
    invalid(path, format!("{case:?} is not a case of {ty}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn point() -> ValueType {
        ValueType::Record(vec![
            ("x".into(), ValueType::S32),
            ("y".into(), ValueType::S32),
        ])
    }

    #[test]
    fn numbers_and_ranges() {
        assert_eq!(
            Value::from_json(&json!(7), &ValueType::S32, "a").unwrap(),
            Value::S32(7)
        );
        let e = Value::from_json(&json!(300), &ValueType::U8, "arguments[1]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid arguments[1]: 300 is out of range for u8 (0 to 255)"
        );
        let e = Value::from_json(&json!("7"), &ValueType::S32, "a").unwrap_err();
        assert_eq!(e.to_string(), "invalid a: expected s32, got string \"7\"");
        assert_eq!(
            Value::from_json(&json!("18446744073709551615"), &ValueType::U64, "a").unwrap(),
            Value::U64(u64::MAX)
        );
        let e = Value::from_json(&json!(1.5), &ValueType::S64, "a").unwrap_err();
        assert!(e.to_string().contains("expected s64, got number 1.5"));
        let nan = Value::from_json(&json!("nan"), &ValueType::F64, "a").unwrap();
        assert_eq!(nan.to_json(), json!("nan"));
        let e = Value::from_json(&json!(1e300), &ValueType::F32, "a").unwrap_err();
        assert!(e.to_string().contains("out of range for f32"));
    }

    #[test]
    fn records_variants_options_results_flags() {
        let v = Value::from_json(&json!({"x": 1, "y": -2}), &point(), "p").unwrap();
        assert_eq!(v.to_json(), json!({"x": 1, "y": -2}));
        let e = Value::from_json(&json!({"x": 1}), &point(), "arguments[0]").unwrap_err();
        assert_eq!(e.to_string(), "invalid arguments[0].y: missing field");
        let e = Value::from_json(&json!({"x": 1, "y": 2, "z": 3}), &point(), "p").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid p.z: unknown field"),
            "{e}"
        );

        let shape = ValueType::Variant(vec![
            ("circle".into(), Some(ValueType::F64)),
            ("none".into(), None),
        ]);
        let c = Value::from_json(&json!({"circle": 2.5}), &shape, "s").unwrap();
        assert_eq!(c.to_json(), json!({"circle": 2.5}));
        assert_eq!(
            Value::from_json(&json!("none"), &shape, "s")
                .unwrap()
                .to_json(),
            json!("none")
        );
        let e = Value::from_json(&json!("square"), &shape, "s").unwrap_err();
        assert!(
            e.to_string()
                .contains("\"square\" is not a case of variant { circle(f64), none }"),
            "{e}"
        );

        let oo = ValueType::Option(Box::new(ValueType::Option(Box::new(ValueType::U8))));
        for j in [json!(null), json!({"some": null}), json!({"some": 3})] {
            let v = Value::from_json(&j, &oo, "o").unwrap();
            assert_eq!(v.to_json(), j);
        }
        let r = ValueType::Result {
            ok: Some(Box::new(ValueType::String)),
            err: None,
        };
        assert_eq!(
            Value::from_json(&json!({"err": null}), &r, "r").unwrap(),
            Value::Result(Err(None))
        );
        assert!(
            Value::from_json(&json!({"err": 1}), &r, "r")
                .unwrap_err()
                .to_string()
                .contains("invalid r.err")
        );

        let f = ValueType::Flags(vec!["read".into(), "write".into(), "exec".into()]);
        let v = Value::from_json(&json!(["exec", "read"]), &f, "f").unwrap();
        assert_eq!(v.to_json(), json!(["read", "exec"]));
        assert!(Value::from_json(&json!(["read", "read"]), &f, "f").is_err());
    }

    #[test]
    fn check_and_display() {
        assert_eq!(point().to_string(), "record { x: s32, y: s32 }");
        Value::S32(1).check(&ValueType::S32, "a").unwrap();
        let e = Value::U8(1).check(&ValueType::String, "a").unwrap_err();
        assert_eq!(e.to_string(), "invalid a: expected string, got u8");
        let e = Value::S64(1).check(&ValueType::S32, "a").unwrap_err();
        assert_eq!(e.to_string(), "invalid a: expected s32, got s64");
    }
}

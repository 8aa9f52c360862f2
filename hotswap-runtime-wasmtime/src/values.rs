//! Conversions between hotswap's runtime-neutral values and wasmtime's.

use hotswap_core::domain::{Value, ValueType};
use hotswap_core::{Error, Result};
use wasmtime::ValType;
use wasmtime::component::{Type, Val as CVal};

/// The hotswap type of a core wasm value type; `None` for types a JSON call
/// cannot carry (v128, references).
pub(crate) fn core_type(ty: &ValType) -> Option<ValueType> {
    match ty {
        ValType::I32 => Some(ValueType::I32),
        ValType::I64 => Some(ValueType::I64),
        ValType::F32 => Some(ValueType::F32),
        ValType::F64 => Some(ValueType::F64),
        _ => None,
    }
}

/// A core wasm value from a checked hotswap value.
pub(crate) fn to_core(v: &Value) -> Result<wasmtime::Val> {
    Ok(match v {
        Value::S32(x) => wasmtime::Val::I32(*x),
        Value::S64(x) => wasmtime::Val::I64(*x),
        Value::F32(x) => wasmtime::Val::F32(x.to_bits()),
        Value::F64(x) => wasmtime::Val::F64(x.to_bits()),
        other => {
            return Err(Error::invalid(
                "arguments",
                format!(
                    "a core function takes i32, i64, f32 or f64, not {}",
                    other.kind()
                ),
            ));
        }
    })
}

/// A hotswap value from a core wasm result.
pub(crate) fn from_core(v: &wasmtime::Val) -> Result<Value> {
    Ok(match v {
        wasmtime::Val::I32(x) => Value::S32(*x),
        wasmtime::Val::I64(x) => Value::S64(*x),
        wasmtime::Val::F32(x) => Value::F32(f32::from_bits(*x)),
        wasmtime::Val::F64(x) => Value::F64(f64::from_bits(*x)),
        _ => {
            return Err(Error::internal(
                "a core function returned a value hotswap cannot map",
            ));
        }
    })
}

/// The hotswap type of a component type; `None` for resources, maps,
/// futures, streams and fixed-length lists, which JSON calls cannot carry.
pub(crate) fn component_type(ty: &Type) -> Option<ValueType> {
    let boxed = |t: &Type| component_type(t).map(Box::new);
    Some(match ty {
        Type::Bool => ValueType::Bool,
        Type::S8 => ValueType::S8,
        Type::U8 => ValueType::U8,
        Type::S16 => ValueType::S16,
        Type::U16 => ValueType::U16,
        Type::S32 => ValueType::S32,
        Type::U32 => ValueType::U32,
        Type::S64 => ValueType::S64,
        Type::U64 => ValueType::U64,
        Type::Float32 => ValueType::F32,
        Type::Float64 => ValueType::F64,
        Type::Char => ValueType::Char,
        Type::String => ValueType::String,
        Type::List(l) => ValueType::List(boxed(&l.ty())?),
        Type::Record(r) => ValueType::Record(
            r.fields()
                .map(|f| Some((f.name.to_owned(), component_type(&f.ty)?)))
                .collect::<Option<_>>()?,
        ),
        Type::Tuple(t) => ValueType::Tuple(
            t.types()
                .map(|t| component_type(&t))
                .collect::<Option<_>>()?,
        ),
        Type::Variant(v) => ValueType::Variant(
            v.cases()
                .map(|c| {
                    let payload = match &c.ty {
                        Some(t) => Some(component_type(t)?),
                        None => None,
                    };
                    Some((c.name.to_owned(), payload))
                })
                .collect::<Option<_>>()?,
        ),
        Type::Enum(e) => ValueType::Enum(e.names().map(str::to_owned).collect()),
        Type::Option(o) => ValueType::Option(boxed(&o.ty())?),
        Type::Result(r) => ValueType::Result {
            ok: match r.ok() {
                Some(t) => Some(boxed(&t)?),
                None => None,
            },
            err: match r.err() {
                Some(t) => Some(boxed(&t)?),
                None => None,
            },
        },
        Type::Flags(f) => ValueType::Flags(f.names().map(str::to_owned).collect()),
        _ => return None,
    })
}

/// A component value from a checked hotswap value (moved, so strings and
/// lists are not copied).
pub(crate) fn to_component(v: Value) -> Result<CVal> {
    let boxed = |p: Option<Box<Value>>| -> Result<Option<Box<CVal>>> {
        p.map(|v| to_component(*v).map(Box::new)).transpose()
    };
    let all = |items: Vec<Value>| {
        items
            .into_iter()
            .map(to_component)
            .collect::<Result<Vec<_>>>()
    };
    Ok(match v {
        Value::Bool(x) => CVal::Bool(x),
        Value::S8(x) => CVal::S8(x),
        Value::U8(x) => CVal::U8(x),
        Value::S16(x) => CVal::S16(x),
        Value::U16(x) => CVal::U16(x),
        Value::S32(x) => CVal::S32(x),
        Value::U32(x) => CVal::U32(x),
        Value::S64(x) => CVal::S64(x),
        Value::U64(x) => CVal::U64(x),
        Value::F32(x) => CVal::Float32(x),
        Value::F64(x) => CVal::Float64(x),
        Value::Char(x) => CVal::Char(x),
        Value::String(x) => CVal::String(x),
        Value::List(items) => CVal::List(all(items)?),
        Value::Record(fields) => CVal::Record(
            fields
                .into_iter()
                .map(|(n, v)| Ok((n, to_component(v)?)))
                .collect::<Result<_>>()?,
        ),
        Value::Tuple(items) => CVal::Tuple(all(items)?),
        Value::Variant { case, payload } => CVal::Variant(case, boxed(payload)?),
        Value::Enum(case) => CVal::Enum(case),
        Value::Option(o) => CVal::Option(boxed(o)?),
        Value::Result(Ok(p)) => CVal::Result(Ok(boxed(p)?)),
        Value::Result(Err(p)) => CVal::Result(Err(boxed(p)?)),
        Value::Flags(names) => CVal::Flags(names),
        other => {
            return Err(Error::invalid(
                "arguments",
                format!("{} values cannot be passed to a component", other.kind()),
            ));
        }
    })
}

/// A hotswap value from a component result (moved, like [`to_component`]).
pub(crate) fn from_component(v: CVal) -> Result<Value> {
    let boxed = |p: Option<Box<CVal>>| -> Result<Option<Box<Value>>> {
        p.map(|v| from_component(*v).map(Box::new)).transpose()
    };
    let all = |items: Vec<CVal>| {
        items
            .into_iter()
            .map(from_component)
            .collect::<Result<Vec<_>>>()
    };
    Ok(match v {
        CVal::Bool(x) => Value::Bool(x),
        CVal::S8(x) => Value::S8(x),
        CVal::U8(x) => Value::U8(x),
        CVal::S16(x) => Value::S16(x),
        CVal::U16(x) => Value::U16(x),
        CVal::S32(x) => Value::S32(x),
        CVal::U32(x) => Value::U32(x),
        CVal::S64(x) => Value::S64(x),
        CVal::U64(x) => Value::U64(x),
        CVal::Float32(x) => Value::F32(x),
        CVal::Float64(x) => Value::F64(x),
        CVal::Char(x) => Value::Char(x),
        CVal::String(x) => Value::String(x),
        CVal::List(items) => Value::List(all(items)?),
        CVal::Record(fields) => Value::Record(
            fields
                .into_iter()
                .map(|(n, v)| Ok((n, from_component(v)?)))
                .collect::<Result<_>>()?,
        ),
        CVal::Tuple(items) => Value::Tuple(all(items)?),
        CVal::Variant(case, p) => Value::Variant {
            case,
            payload: boxed(p)?,
        },
        CVal::Enum(case) => Value::Enum(case),
        CVal::Option(o) => Value::Option(boxed(o)?),
        CVal::Result(Ok(p)) => Value::Result(Ok(boxed(p)?)),
        CVal::Result(Err(p)) => Value::Result(Err(boxed(p)?)),
        CVal::Flags(names) => Value::Flags(names),
        other => {
            return Err(Error::internal(format!(
                "a component function returned {other:?}, which hotswap cannot map"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: Value) -> Option<Box<Value>> {
        Some(Box::new(v))
    }

    #[test]
    fn every_component_value_survives_the_boundary_both_ways() {
        let values = vec![
            Value::Bool(true),
            Value::S8(-8),
            Value::U8(8),
            Value::S16(-16),
            Value::U16(16),
            Value::S32(-32),
            Value::U32(32),
            Value::S64(i64::MIN),
            Value::U64(u64::MAX),
            Value::F32(1.5),
            Value::F64(f64::NAN),
            Value::Char('λ'),
            Value::String("hello".into()),
            Value::List(vec![Value::U8(1), Value::U8(2)]),
            Value::Record(vec![
                ("a".into(), Value::S32(1)),
                ("b".into(), Value::String("x".into())),
            ]),
            Value::Tuple(vec![Value::Bool(false), Value::F64(2.0)]),
            Value::Variant {
                case: "some".into(),
                payload: b(Value::S32(3)),
            },
            Value::Variant {
                case: "none".into(),
                payload: None,
            },
            Value::Enum("red".into()),
            Value::Option(b(Value::Option(None))),
            Value::Result(Ok(b(Value::String("ok".into())))),
            Value::Result(Err(None)),
            Value::Flags(vec!["read".into(), "write".into()]),
        ];
        for v in values {
            let back = from_component(to_component(v.clone()).unwrap()).unwrap();
            assert!(back.same_as(&v), "{v:?} came back as {back:?}");
        }
    }

    #[test]
    fn core_values_take_only_numbers() {
        for v in [
            Value::S32(1),
            Value::S64(2),
            Value::F32(0.5),
            Value::F64(-1.0),
        ] {
            let back = from_core(&to_core(&v).unwrap()).unwrap();
            assert!(back.same_as(&v), "{v:?}");
        }
        let e = to_core(&Value::String("x".into())).unwrap_err();
        assert!(e.to_string().contains("not string"), "{e}");
        assert_eq!(core_type(&ValType::I64), Some(ValueType::I64));
        assert_eq!(core_type(&ValType::V128), None);
    }
}

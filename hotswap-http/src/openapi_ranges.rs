//! Every integer in the OpenAPI documents states its range.
//!
//! utoipa writes the Rust type as a format (`uint8`, `int64`, ...), which
//! generators do not read as bounds: a client would send 300 for a `u8`, or
//! 2^63 for a `u64` the server takes. This pass writes each format's
//! minimum and maximum wherever an attribute has not set a tighter one.

use utoipa::Number;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, KnownFormat, Object, Schema, SchemaFormat,
};
use utoipa::openapi::{OpenApi, RefOr};

/// The range of an integer format, if `format` is one.
fn range(format: &KnownFormat) -> Option<(Number, Number)> {
    use KnownFormat::*;
    let signed = |min: i64, max: i64| (Number::Int(min as isize), Number::Int(max as isize));
    let unsigned = |max: u64| (Number::UInt(0), Number::UInt(max as usize));
    Some(match format {
        Int8 => signed(i8::MIN.into(), i8::MAX.into()),
        Int16 => signed(i16::MIN.into(), i16::MAX.into()),
        Int32 => signed(i32::MIN.into(), i32::MAX.into()),
        Int64 => signed(i64::MIN, i64::MAX),
        UInt8 => unsigned(u8::MAX.into()),
        UInt16 => unsigned(u16::MAX.into()),
        UInt32 => unsigned(u32::MAX.into()),
        UInt64 => unsigned(u64::MAX),
        _ => return None,
    })
}

fn object(o: &mut Object) {
    if let Some(SchemaFormat::KnownFormat(format)) = &o.format
        && let Some((min, max)) = range(format)
    {
        o.minimum.get_or_insert(min);
        o.maximum.get_or_insert(max);
    }
    for property in o.properties.values_mut() {
        ref_or(property);
    }
    if let Some(extra) = o.additional_properties.as_deref_mut()
        && let AdditionalProperties::RefOr(extra) = extra
    {
        ref_or(extra);
    }
}

fn schema(s: &mut Schema) {
    match s {
        Schema::Object(o) => object(o),
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                ref_or(items);
            }
            a.prefix_items.iter_mut().for_each(schema);
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(ref_or),
        Schema::AllOf(x) => x.items.iter_mut().for_each(ref_or),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(ref_or),
        _ => {}
    }
}

fn ref_or(r: &mut RefOr<Schema>) {
    if let RefOr::T(s) = r {
        schema(s);
    }
}

/// Write the range of every integer schema in `doc`: components,
/// parameters, request and response bodies.
pub(crate) fn state_integer_ranges(doc: &mut OpenApi) {
    if let Some(components) = &mut doc.components {
        components.schemas.values_mut().for_each(ref_or);
    }
    for item in doc.paths.paths.values_mut() {
        for op in crate::openapi::operations(item) {
            for p in op.parameters.iter_mut().flatten() {
                if let Some(s) = &mut p.schema {
                    ref_or(s);
                }
            }
            if let Some(body) = &mut op.request_body {
                for content in body.content.values_mut() {
                    if let Some(s) = &mut content.schema {
                        ref_or(s);
                    }
                }
            }
            for response in op.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    for content in response.content.values_mut() {
                        if let Some(s) = &mut content.schema {
                            ref_or(s);
                        }
                    }
                }
            }
        }
    }
}

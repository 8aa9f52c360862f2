//! What the fuzz targets (`fuzz/`) check, in one place, so the targets and
//! the regression tests that replay their saved inputs run the same code.
//! Each function panics only when hotswap misbehaves: bad input must come
//! back as an error, never as a panic, and what is accepted must round-trip.

use hotswap_control::interface::compat::{CheckOptions, Subject, check};
use hotswap_control::interface::{extract_wit, parse_wit};
use hotswap_core::domain::{Value, ValueType};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::interface::CompatibilityMode;

/// Inspect arbitrary bytes as a module; a module that inspects is also
/// asked for its interface. Neither may panic.
pub fn inspect_bytes(data: &[u8]) {
    let options = InspectOptions::default();
    if let Ok(info) = inspect(data, &options) {
        assert_eq!(info.size_bytes, data.len() as u64);
        if let Ok(wit) = extract_wit(data) {
            // What extraction prints, the parser reads back.
            parse_wit(&wit).unwrap_or_else(|e| panic!("extracted WIT does not parse: {e}\n{wit}"));
        }
    }
}

/// Two WIT texts (split at the first `0xff` byte, or in the middle): each
/// parsed, and when both parse, checked against each other in every mode
/// and both directions. A package is compatible with itself in every mode.
pub fn wit_pair(data: &[u8]) {
    let cut = data
        .iter()
        .position(|b| *b == 0xff)
        .unwrap_or(data.len() / 2);
    let (a, b) = (&data[..cut], &data[(cut + 1).min(data.len())..]);
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return;
    };
    let (a, b) = (parse_wit(a), parse_wit(b));
    let options = CheckOptions::default();
    for parsed in [&a, &b].into_iter().flatten() {
        let _ = parsed.name();
        for (mode, subject) in modes() {
            let same = check(
                subject,
                mode,
                std::slice::from_ref(parsed),
                parsed,
                &options,
            );
            assert!(
                same.is_empty(),
                "a package breaks itself under {mode:?} ({subject:?}): {same:?}"
            );
        }
    }
    if let (Ok(a), Ok(b)) = (a, b) {
        for (mode, subject) in modes() {
            let _ = check(subject, mode, std::slice::from_ref(&a), &b, &options);
            let _ = check(subject, mode, std::slice::from_ref(&b), &a, &options);
        }
    }
}

/// Every mode for both subjects.
fn modes() -> impl Iterator<Item = (CompatibilityMode, Subject)> {
    CompatibilityMode::ALL
        .into_iter()
        .flat_map(|m| [(m, Subject::Package), (m, Subject::Module)])
}

/// The next byte of `bytes` (0 past the end).
fn next(bytes: &mut &[u8]) -> u8 {
    match bytes.split_first() {
        Some((b, rest)) => {
            *bytes = rest;
            *b
        }
        None => 0,
    }
}

/// A value type read from `bytes` (consuming them), at most `depth` deep.
fn value_type(bytes: &mut &[u8], depth: u8) -> ValueType {
    let tag = next(bytes) % if depth == 0 { 13 } else { 21 };
    let names = |n: u8| (0..n % 4 + 1).map(|i| format!("f{i}")).collect::<Vec<_>>();
    match tag {
        0 => ValueType::Bool,
        1 => ValueType::S8,
        2 => ValueType::U8,
        3 => ValueType::S16,
        4 => ValueType::U16,
        5 => ValueType::S32,
        6 => ValueType::U32,
        7 => ValueType::S64,
        8 => ValueType::U64,
        9 => ValueType::F32,
        10 => ValueType::F64,
        11 => ValueType::Char,
        12 => ValueType::String,
        13 => ValueType::List(Box::new(value_type(bytes, depth - 1))),
        14 => {
            let n = next(bytes);
            let mut fields = Vec::new();
            for f in names(n) {
                fields.push((f, value_type(bytes, depth - 1)));
            }
            ValueType::Record(fields)
        }
        15 => {
            let n = next(bytes) % 4 + 1;
            ValueType::Tuple((0..n).map(|_| value_type(bytes, depth - 1)).collect())
        }
        16 => {
            let n = next(bytes);
            let mut cases = Vec::new();
            for c in names(n) {
                let payload = next(bytes)
                    .is_multiple_of(2)
                    .then(|| value_type(bytes, depth - 1));
                cases.push((c, payload));
            }
            ValueType::Variant(cases)
        }
        17 => ValueType::Enum(names(next(bytes))),
        18 => ValueType::Option(Box::new(value_type(bytes, depth - 1))),
        19 => {
            let ok = next(bytes)
                .is_multiple_of(2)
                .then(|| Box::new(value_type(bytes, depth - 1)));
            let err = next(bytes)
                .is_multiple_of(2)
                .then(|| Box::new(value_type(bytes, depth - 1)));
            ValueType::Result { ok, err }
        }
        _ => ValueType::Flags(names(next(bytes))),
    }
}

/// A value type from the first bytes, JSON text from the rest: mapping
/// the JSON to a value of that type either fails with an error or gives a
/// value whose JSON maps back to the same value.
pub fn json_value(data: &[u8]) {
    let mut bytes = data;
    let ty = value_type(&mut bytes, 3);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let Ok(value) = Value::from_json(&json, &ty, "arg") else {
        return;
    };
    assert!(value.has_type(&ty), "{value:?} is not a {ty}");
    let back = value.to_json();
    let again = Value::from_json(&back, &ty, "arg")
        .unwrap_or_else(|e| panic!("{value:?} as JSON {back} does not map back to {ty}: {e}"));
    assert!(again.same_as(&value), "{value:?} -> {back} -> {again:?}");
}

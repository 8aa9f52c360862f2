//! Every input the fuzzers saved (`fuzz-regressions/<target>/`: crashes
//! found and fixed, and seeds) and a few fixtures, replayed through the
//! fuzz targets' checks. `scripts/fuzz.sh` runs the fuzzers and copies
//! what they find here.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use hotswap_testkit::{fixtures, fuzz};

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{} fails the {target} check again",
            path.display()
        );
        n += 1;
    }
    n
}

#[test]
fn module_inspection_inputs() {
    replay("inspect", fuzz::inspect_bytes);
    for bytes in [
        fixtures::numeric(1),
        fixtures::trapping(),
        fixtures::wasi_echo(),
        fixtures::component("hi"),
    ] {
        fuzz::inspect_bytes(&bytes);
    }
}

#[test]
fn wit_and_compatibility_inputs() {
    replay("wit_compat", fuzz::wit_pair);
    let mut pair = fixtures::COMPONENT_WIT.as_bytes().to_vec();
    pair.push(0xff);
    pair.extend_from_slice(fixtures::WASI_P2_WIT.as_bytes());
    fuzz::wit_pair(&pair);
}

#[test]
fn json_value_inputs() {
    replay("json_value", fuzz::json_value);
    for (ty, json) in [
        (5u8, "7"),
        (12, "\"text\""),
        (13, "[1,2]"),
        (18, "null"),
        (14, "{\"f0\": 1}"),
    ] {
        let mut data = vec![ty, 5, 1];
        data.extend_from_slice(json.as_bytes());
        fuzz::json_value(&data);
    }
}

//! Property tests: serde round trips of every domain type, and validation
//! that never panics on arbitrary input.
#![allow(clippy::unwrap_used)]

mod arb;

use hotswap_core::domain::*;
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::interface::{PackageName, WitInterface};
use hotswap_core::repository::{PageRequest, decode_cursor};
use hotswap_core::storage::Codec;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(&back, value, "{json}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn modules_round_trip_and_validate(m in arb::module()) {
        m.validate().unwrap();
        round_trip(&m);
    }

    #[test]
    fn nodes_round_trip_and_validate(n in arb::node()) {
        n.validate().unwrap();
        round_trip(&n);
        for s in &n.stats {
            s.validate().unwrap();
        }
    }

    #[test]
    fn strategies_round_trip_and_validate(s in arb::strategy()) {
        s.validate().unwrap();
        round_trip(&s);
    }

    #[test]
    fn deployments_events_tables_interfaces_round_trip(
        d in arb::deployment(),
        e in arb::event(),
        t in arb::routing_table(),
        i in arb::interface(),
        l in arb::limits(),
    ) {
        round_trip(&d);
        round_trip(&e);
        round_trip(&t);
        t.validate().unwrap();
        round_trip::<WitInterface>(&i);
        i.validate().unwrap();
        round_trip(&l);
        round_trip(&d.health);
        round_trip(&d.target);
        round_trip(&d.progress);
    }

    #[test]
    fn digests_round_trip_through_text(d in arb::digest()) {
        prop_assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        prop_assert_eq!(format!("sha256:{}", d.to_hex().to_uppercase()).parse::<Digest>().unwrap(), d);
        round_trip(&d);
    }

    #[test]
    fn histogram_merge_adds_counts(a in arb::histogram(), b in arb::histogram()) {
        let mut merged = a.clone();
        merged.merge(&b);
        prop_assert_eq!(merged.len(), a.len() + b.len());
        let max = a.quantile_us(1.0).max(b.quantile_us(1.0));
        prop_assert_eq!(merged.quantile_us(1.0), max);
        round_trip(&merged);
    }

    // Validation never panics on arbitrary input: every parse returns a
    // result, whatever it is given.

    #[test]
    fn text_parsers_never_panic(s in ".{0,80}") {
        let _ = ModuleName::new(s.clone());
        let _ = Region::new(s.clone());
        let _ = PackageName::new(s.clone());
        let _ = s.parse::<Digest>();
        let _ = s.parse::<ModuleId>();
        let _ = decode_cursor(&s, 2);
        let _ = PageRequest::after(10, s.clone()).after_key(1);
        let _ = Labels::new().with(s.clone(), s.clone());
    }

    #[test]
    fn json_decoders_never_panic(s in "[ -~]{0,120}") {
        let _ = serde_json::from_str::<ResourceLimits>(&s);
        let _ = serde_json::from_str::<StrategyConfig>(&s);
        let _ = serde_json::from_str::<WasmModule>(&s);
        let _ = serde_json::from_str::<EdgeNode>(&s);
        let _ = serde_json::from_str::<ModuleDeployment>(&s);
        let _ = serde_json::from_str::<RoutingTable>(&s);
        let _ = serde_json::from_str::<LatencyHistogram>(&s);
        let _ = serde_json::from_str::<Labels>(&s);
    }

    #[test]
    fn limits_validation_never_panics(m: u64, f: Option<u64>, t: u64, c: u32, st: u64) {
        let l = ResourceLimits::default()
            .with_max_memory_bytes(m)
            .with_fuel(f)
            .with_timeout(std::time::Duration::from_millis(t))
            .with_max_concurrent_instances(c)
            .with_max_stack_bytes(st);
        if l.validate().is_ok() {
            prop_assert!((WASM_PAGE_BYTES..=MAX_MEMORY_BYTES).contains(&m));
            prop_assert!((1..=MAX_TIMEOUT_MS).contains(&t) && c >= 1 && f != Some(0));
        }
    }

    #[test]
    fn structured_json_for_limits_and_strategies_never_panics(
        v in proptest::collection::btree_map("[a-z_]{1,24}", any::<i64>(), 0..6),
        kind in prop_oneof![Just("canary"), Just("blue_green"), Just("rolling"), Just("regional"), Just("ab_test")],
    ) {
        let limits = serde_json::to_value(&v).unwrap();
        if let Ok(l) = serde_json::from_value::<ResourceLimits>(limits) {
            l.validate().unwrap();
        }
        let mut obj = serde_json::to_value(&v).unwrap();
        obj["type"] = serde_json::json!(kind);
        if let Ok(s) = serde_json::from_value::<StrategyConfig>(obj) {
            let _ = s.validate();
        }
    }

    #[test]
    fn inspection_and_decoding_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = inspect(&bytes, &InspectOptions::default());
        let mut wasm_like = b"\0asm\x01\0\0\0".to_vec();
        wasm_like.extend_from_slice(&tail);
        let _ = inspect(&wasm_like, &InspectOptions::default());
        let codec = Codec::new(5, 4096).unwrap();
        let _ = codec.decode(&bytes, &Digest::of(&bytes));
    }
}

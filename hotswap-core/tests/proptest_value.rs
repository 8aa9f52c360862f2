//! Property tests: the JSON mapping of call values, routing-weight
//! arithmetic and the deployment phase machine.
#![allow(clippy::unwrap_used)]

mod arb;

use hotswap_core::domain::*;
use proptest::prelude::*;
use semver::Version;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn values_round_trip_through_json((ty, value) in arb::typed_value()) {
        let json = value.to_json();
        let back = Value::from_json(&json, &ty, "v")
            .unwrap_or_else(|e| panic!("{e}\ntype: {ty}\njson: {json}"));
        prop_assert!(back.same_as(&value), "{back:?} != {value:?} (json {json})");
        value.check(&ty, "v").unwrap();
        // And through JSON text.
        let reparsed: serde_json::Value = serde_json::from_str(&json.to_string()).unwrap();
        prop_assert!(Value::from_json(&reparsed, &ty, "v").unwrap().same_as(&value));
    }

    #[test]
    fn mapping_arbitrary_json_never_panics((ty, _) in arb::typed_value(), json in any_json()) {
        if let Ok(v) = Value::from_json(&json, &ty, "v") {
            v.check(&ty, "v").unwrap();
        }
    }

    #[test]
    fn candidate_gets_exactly_its_weight_of_rolls(weight in 0u8..=100, offset: u32) {
        let t = RoutingTable::new(ModuleName::new("m").unwrap(), Version::new(1, 0, 0))
            .with_candidate(Version::new(2, 0, 0), weight);
        t.validate().unwrap();
        let hits = (0..100u32)
            .filter(|i| {
                let ctx = RouteContext { roll: offset.wrapping_add(*i), ..Default::default() };
                t.choose(&ctx).unwrap().1 == RouteReason::Candidate
            })
            .count();
        // 100 consecutive rolls cover every bucket once, except where the
        // u32 wraps (2^32 is not a multiple of 100).
        if offset.checked_add(100).is_some() {
            prop_assert_eq!(hits, usize::from(weight));
        }
    }

    #[test]
    fn keyed_routing_is_sticky_and_rules_take_their_buckets(
        keys in proptest::collection::vec("[a-z0-9]{1,12}", 1..20),
        from in 0u8..100,
        len in 1u8..=100,
        weight in 0u8..=100,
    ) {
        let to = from.saturating_add(len).min(100);
        let mut t = RoutingTable::new(ModuleName::new("m").unwrap(), Version::new(1, 0, 0))
            .with_candidate(Version::new(2, 0, 0), weight);
        t.rules.push(RouteRule { when: RouteMatch::Buckets { from, to }, version: Version::new(3, 0, 0) });
        t.validate().unwrap();
        for key in &keys {
            let a = RouteContext { key: Some(key), roll: 1, ..Default::default() };
            let b = RouteContext { key: Some(key), roll: 99, ..Default::default() };
            let (va, _) = t.choose(&a).unwrap();
            prop_assert_eq!(va, t.choose(&b).unwrap().0, "the roll must not matter when a key is given");
            let bucket = RoutingTable::bucket(&a);
            let expected = if (from..to).contains(&bucket) { 3 } else if bucket < weight { 2 } else { 1 };
            prop_assert_eq!(va.major, expected);
        }
        let ruled = (0..100u32).filter(|&roll| {
            let ctx = RouteContext { roll, ..Default::default() };
            matches!(t.choose(&ctx).unwrap().1, RouteReason::Rule(0))
        }).count();
        prop_assert_eq!(ruled, usize::from(to - from));
    }

    #[test]
    fn phase_machine_never_leaves_a_terminal_phase(steps in proptest::collection::vec(arb::phase(), 0..30)) {
        let mut d = ModuleDeployment::new(
            ModuleName::new("m").unwrap(), None, Version::new(1, 0, 0),
            StrategyConfig::default(), Environment::Staging, "t", chrono::Utc::now());
        let mut terminal_seen = false;
        for next in steps {
            let before = d.clone();
            match d.transition(next, ReasonCode::Started, "step", chrono::Utc::now()) {
                Ok(event) => {
                    prop_assert!(!terminal_seen, "left a terminal phase");
                    prop_assert!(before.phase.can_transition_to(next));
                    prop_assert_eq!(event.phase, next);
                    prop_assert_eq!(d.phase, next);
                    terminal_seen = next.is_terminal();
                }
                Err(_) => {
                    prop_assert!(!before.phase.can_transition_to(next));
                    prop_assert_eq!(&d, &before, "a refused transition changed the deployment");
                }
            }
        }
    }
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|x| serde_json::json!(x)),
        any::<u64>().prop_map(|x| serde_json::json!(x)),
        any::<f64>().prop_map(|x| serde_json::json!(x)),
        ".{0,6}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[a-z0-9]{1,3}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

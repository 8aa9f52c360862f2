//! proptest strategies for valid domain objects, shared by the property
//! tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hotswap_core::domain::*;
use hotswap_core::interface::{Approval, PackageName, WitInterface};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use semver::Version;

pub fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::<Utc>::from_timestamp(s, ns).unwrap())
}

pub fn module_name() -> impl Strategy<Value = ModuleName> {
    "[a-z][a-z0-9]{0,8}([-_.][a-z0-9]{1,5}){0,3}".prop_map(|s| ModuleName::new(s).unwrap())
}

pub fn region() -> impl Strategy<Value = Region> {
    "[a-z0-9]{1,6}(-[a-z0-9]{1,4}){0,2}".prop_map(|s| Region::new(s).unwrap())
}

pub fn version() -> impl Strategy<Value = Version> {
    (
        0u64..50,
        0u64..50,
        0u64..50,
        proptest::option::of("[a-z]{1,5}(\\.[1-9][0-9]?)?"),
    )
        .prop_map(|(a, b, c, pre)| {
            let text = match pre {
                Some(p) => format!("{a}.{b}.{c}-{p}"),
                None => format!("{a}.{b}.{c}"),
            };
            Version::parse(&text).unwrap()
        })
}

pub fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest::from_bytes)
}

pub fn labels() -> impl Strategy<Value = Labels> {
    btree_map("[a-z0-9]([a-z0-9./_-]{0,10}[a-z0-9])?", "[ -~]{0,24}", 0..5)
        .prop_map(|m: BTreeMap<String, String>| Labels::from_map(m).unwrap())
}

pub fn limits() -> impl Strategy<Value = ResourceLimits> {
    (
        WASM_PAGE_BYTES..=(1u64 << 30),
        proptest::option::of(1u64..u64::MAX),
        1u64..=MAX_TIMEOUT_MS,
        1u32..=256,
        MIN_STACK_BYTES..=MAX_STACK_BYTES,
    )
        .prop_map(|(m, f, t, c, s)| {
            ResourceLimits::default()
                .with_max_memory_bytes(m)
                .with_fuel(f)
                .with_timeout(std::time::Duration::from_millis(t))
                .with_max_concurrent_instances(c)
                .with_max_stack_bytes(s)
        })
}

pub fn item_kind() -> impl Strategy<Value = ItemKind> {
    prop_oneof![
        Just(ItemKind::Func),
        Just(ItemKind::Memory),
        Just(ItemKind::Table),
        Just(ItemKind::Global),
        Just(ItemKind::Instance),
    ]
}

pub fn module() -> impl Strategy<Value = WasmModule> {
    (
        (
            module_name(),
            version(),
            digest(),
            1u64..1 << 30,
            1u64..1 << 30,
        ),
        (
            prop_oneof![Just(ModuleKind::Core), Just(ModuleKind::Component)],
            proptest::option::of(prop_oneof![
                Just(WasiVersion::Preview1),
                Just(WasiVersion::Preview2)
            ]),
        ),
        vec(
            (
                "[a-z_#:/@.0-9]{1,20}",
                item_kind(),
                proptest::option::of("[ -~]{0,20}"),
            ),
            0..4,
        ),
        vec(("[a-z_]{0,10}", "[a-z_]{1,10}", item_kind()), 0..3),
        (
            proptest::option::of("[a-z:/]{1,30}"),
            limits(),
            labels(),
            time(),
            "[a-z]{1,12}",
        ),
    )
        .prop_map(
            |(
                (name, v, d, size, csize),
                (kind, wasi),
                exports,
                imports,
                (world, lim, lab, at, by),
            )| {
                let mut m = WasmModule::new(name, v, d, size, kind, by, at);
                m.compressed_size_bytes = csize;
                m.wasi = wasi;
                m.exports = exports
                    .into_iter()
                    .map(|(name, kind, signature)| Export {
                        name,
                        kind,
                        signature,
                    })
                    .collect();
                m.imports = imports
                    .into_iter()
                    .map(|(module, name, kind)| Import {
                        module,
                        name,
                        kind,
                        signature: None,
                    })
                    .collect();
                m.wit_world = world;
                m.limits = lim;
                m.labels = lab;
                m
            },
        )
}

pub fn histogram() -> impl Strategy<Value = LatencyHistogram> {
    vec((1u64..MAX_TRACKED_LATENCY_US, 1u64..1000), 0..20).prop_map(|samples| {
        let mut h = LatencyHistogram::new();
        for (v, n) in samples {
            h.record_n(v, n);
        }
        h
    })
}

pub fn stats() -> impl Strategy<Value = VersionStats> {
    (
        module_name(),
        version(),
        histogram(),
        0u64..1000,
        0u64..1000,
    )
        .prop_map(|(m, v, latency, traps, timeouts)| {
            let mut s = VersionStats::new(m, v);
            s.calls = latency.len() + traps + timeouts;
            s.errors = traps + timeouts;
            s.traps = traps;
            s.timeouts = timeouts;
            s.latency = latency;
            s
        })
}

pub fn node_status() -> impl Strategy<Value = NodeStatus> {
    prop_oneof![
        Just(NodeStatus::Registering),
        Just(NodeStatus::Healthy),
        Just(NodeStatus::Unhealthy),
        Just(NodeStatus::Draining),
        Just(NodeStatus::Offline),
    ]
}

pub fn node() -> impl Strategy<Value = EdgeNode> {
    (
        (
            "[a-z0-9]{1,8}(-[a-z0-9]{1,4}){0,2}",
            region(),
            proptest::option::of("[a-z]{1,4}"),
            labels(),
        ),
        (
            1024u16..,
            any::<bool>(),
            1u64 << 16..1u64 << 40,
            node_status(),
            proptest::option::of(time()),
        ),
        (
            0.0f64..=100.0,
            any::<u32>(),
            any::<u16>(),
            vec(stats(), 0..3),
            time(),
            any::<u64>(),
        ),
        vec((module_name(), version(), digest()), 0..3),
    )
        .prop_map(
            |(
                (name, region, zone, labels),
                (port, components, mem, status, hb),
                (cpu, used, inflight, stats, at, rev),
                loaded,
            )| {
                let caps = NodeCapabilities::new(RuntimeKind::Wasmtime, mem)
                    .with_wasi(WasiVersion::Preview1)
                    .with_components(components);
                let mut n =
                    EdgeNode::new(name, region, format!("http://127.0.0.1:{port}"), caps, at);
                n.zone = zone;
                n.labels = labels;
                n.status = status;
                n.last_heartbeat = hb;
                n.metrics.cpu_percent = cpu;
                n.metrics.memory_used_bytes = u64::from(used);
                n.metrics.memory_total_bytes = u64::from(used) * 2;
                n.metrics.in_flight = u64::from(inflight);
                n.stats = stats;
                n.loaded = loaded
                    .into_iter()
                    .map(|(module, version, digest)| LoadedVersion {
                        module,
                        version,
                        config_revision: digest.as_bytes()[0].into(),
                        digest,
                    })
                    .collect();
                n.revision = rev;
                n
            },
        )
}

pub fn canary() -> impl Strategy<Value = CanaryConfig> {
    (btree_set(1u8..100, 0..5), 1u64..=MAX_PERIOD_SECS).prop_map(|(steps, secs)| {
        let mut steps: Vec<u8> = steps.into_iter().collect();
        steps.push(100);
        CanaryConfig::new(steps, std::time::Duration::from_secs(secs))
    })
}

pub fn strategy() -> impl Strategy<Value = StrategyConfig> {
    let canary_s = canary().prop_map(StrategyConfig::Canary);
    let blue_green = (
        any::<bool>(),
        proptest::option::of(0u64..1000),
        0u64..10_000,
    )
        .prop_map(|(preview, auto, delay)| {
            let mut c = BlueGreenConfig::default();
            c.preview = preview;
            c.auto_promote_after_secs = auto;
            c.scale_down_delay_secs = delay;
            StrategyConfig::BlueGreen(c)
        });
    let rolling = (
        prop_oneof![
            (1u32..100).prop_map(BatchSize::Count),
            (1u8..=100).prop_map(BatchSize::Percent)
        ],
        any::<bool>(),
        0u64..1000,
    )
        .prop_map(|(batch, pause, secs)| {
            let mut c = RollingConfig::default();
            c.batch = batch;
            c.pause_on_failure = pause;
            c.evaluation_period_secs = secs;
            StrategyConfig::Rolling(c)
        });
    let regional =
        (btree_set(region(), 1..4), canary(), 0u64..10_000).prop_map(|(regions, inner, wait)| {
            let mut c = RegionalConfig::new(regions.into_iter().collect());
            c.inner = Box::new(StrategyConfig::Canary(inner));
            c.inter_region_wait_secs = wait;
            StrategyConfig::Regional(c)
        });
    let ab = (
        0u8..=100,
        prop_oneof![
            Just(SplitBy::Weight),
            Just(SplitBy::Key),
            "[a-z-]{1,10}".prop_map(|name| SplitBy::Header { name })
        ],
        proptest::option::of(1u64..1000),
    )
        .prop_map(|(w, split, duration)| {
            let mut c = AbTestConfig::new(vec![
                AbVariant {
                    name: "a".into(),
                    version: Version::new(1, 0, 0),
                    weight: w,
                },
                AbVariant {
                    name: "b".into(),
                    version: Version::new(2, 0, 0),
                    weight: 100 - w,
                },
            ]);
            c.split = split;
            c.duration_secs = duration;
            StrategyConfig::AbTest(c)
        });
    prop_oneof![canary_s, blue_green, rolling, regional, ab]
}

pub fn phase() -> impl Strategy<Value = DeploymentPhase> {
    prop_oneof![
        Just(DeploymentPhase::Pending),
        Just(DeploymentPhase::Progressing),
        Just(DeploymentPhase::Paused),
        Just(DeploymentPhase::Succeeded),
        Just(DeploymentPhase::RolledBack),
        Just(DeploymentPhase::Failed),
        Just(DeploymentPhase::Aborted),
    ]
}

pub fn deployment() -> impl Strategy<Value = ModuleDeployment> {
    (
        (
            module_name(),
            proptest::option::of(version()),
            strategy(),
            time(),
        ),
        (
            vec(region(), 0..3),
            labels(),
            0.0f64..=1.0,
            1u64..10_000,
            1u64..10_000,
        ),
        (phase(), "[ -~]{0,30}", 0u32..10, 0u8..=100, any::<u64>()),
    )
        .prop_map(
            |(
                (module, from, strategy, at),
                (regions, labels, rate, p99, samples),
                (phase, msg, step, traffic, rev),
            )| {
                let to = match &strategy {
                    StrategyConfig::AbTest(ab) => ab.variants[1].version.clone(),
                    _ => Version::new(99, 0, 0),
                };
                let mut d = ModuleDeployment::new(
                    module,
                    from,
                    to,
                    strategy,
                    Environment::Production,
                    "tester",
                    at,
                );
                d.target.regions = regions;
                d.target.labels = labels;
                d.health.max_error_rate = rate;
                d.health.max_p99_ms = p99;
                d.health.min_samples = samples;
                d.phase = phase;
                d.reason = PhaseReason {
                    code: ReasonCode::Started,
                    message: msg,
                };
                d.progress.step = step;
                d.progress.traffic_percent = traffic;
                d.progress.step_started_at = Some(at);
                // Each strategy's own state round-trips too.
                match step % 3 {
                    0 => {}
                    1 => d.progress.blue_green_mut().switched_at = Some(at),
                    _ => {
                        let inner = d.progress.clone();
                        let r = d.progress.regional_mut();
                        (r.stage, r.total_stages) = (step % 7, 7);
                        r.inner = Some(Box::new(inner));
                    }
                }
                d.revision = rev;
                d
            },
        )
}

pub fn event() -> impl Strategy<Value = DeploymentEvent> {
    (time(), phase(), "[ -~]{0,30}", any::<u64>(), any::<i32>()).prop_map(
        |(at, phase, msg, seq, n)| {
            let mut e = DeploymentEvent::new(EventKind::TrafficShifted, phase, msg, at)
                .with_data(serde_json::json!({ "weight": n }));
            e.seq = seq;
            e
        },
    )
}

pub fn routing_table() -> impl Strategy<Value = RoutingTable> {
    (
        module_name(),
        0u8..=100,
        0u8..50,
        50u8..=100,
        "[a-z-]{1,8}",
        "[ -~]{0,8}",
        vec("[a-z0-9]{1,6}", 1..4),
        any::<u64>(),
    )
        .prop_map(|(module, weight, from, to, header, value, keys, rev)| {
            let mut t = RoutingTable::new(module, Version::new(1, 0, 0))
                .with_candidate(Version::new(2, 0, 0), weight);
            t.rules = vec![
                RouteRule {
                    when: RouteMatch::Header {
                        name: header,
                        value,
                    },
                    version: Version::new(3, 0, 0),
                },
                RouteRule {
                    when: RouteMatch::Keys { keys },
                    version: Version::new(3, 0, 0),
                },
                RouteRule {
                    when: RouteMatch::Buckets { from, to },
                    version: Version::new(4, 0, 0),
                },
            ];
            t.pinnable = vec![Version::new(5, 0, 0)];
            t.revision = rev;
            t
        })
}

pub fn interface() -> impl Strategy<Value = WitInterface> {
    (
        "[a-z]{1,6}:[a-z]{1,6}(-[a-z0-9]{1,3})?",
        proptest::option::of(version()),
        "[ -~\n]{1,200}",
        time(),
        proptest::option::of(("[a-z]{1,8}", time())),
    )
        .prop_filter("WIT text must not be blank", |(_, _, wit, _, _)| {
            !wit.trim().is_empty()
        })
        .prop_map(|(package, v, wit, at, approval)| {
            let mut i = WitInterface::new(PackageName::new(package).unwrap(), v, wit, "dev", at);
            i.approval = approval.map(|(by, at)| Approval { by, at });
            i
        })
}

/// A value type together with a value of that type.
pub fn typed_value() -> impl Strategy<Value = (ValueType, Value)> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(|x| (ValueType::Bool, Value::Bool(x))),
        any::<i8>().prop_map(|x| (ValueType::S8, Value::S8(x))),
        any::<u8>().prop_map(|x| (ValueType::U8, Value::U8(x))),
        any::<i16>().prop_map(|x| (ValueType::S16, Value::S16(x))),
        any::<u16>().prop_map(|x| (ValueType::U16, Value::U16(x))),
        any::<i32>().prop_map(|x| (ValueType::S32, Value::S32(x))),
        any::<u32>().prop_map(|x| (ValueType::U32, Value::U32(x))),
        any::<i64>().prop_map(|x| (ValueType::S64, Value::S64(x))),
        any::<u64>().prop_map(|x| (ValueType::U64, Value::U64(x))),
        any::<f32>().prop_map(|x| (ValueType::F32, Value::F32(x))),
        any::<f64>().prop_map(|x| (ValueType::F64, Value::F64(x))),
        any::<char>().prop_map(|x| (ValueType::Char, Value::Char(x))),
        ".{0,12}".prop_map(|x| (ValueType::String, Value::String(x))),
        (btree_set("[a-z]{1,5}", 1..5), any::<prop::sample::Index>()).prop_map(|(cases, i)| {
            let cases: Vec<String> = cases.into_iter().collect();
            let pick = cases[i.index(cases.len())].clone();
            (ValueType::Enum(cases), Value::Enum(pick))
        }),
        (btree_set("[a-z]{1,5}", 0..6), any::<u64>()).prop_map(|(names, mask)| {
            let names: Vec<String> = names.into_iter().collect();
            let set = names
                .iter()
                .enumerate()
                .filter(|(i, _)| mask >> i & 1 == 1)
                .map(|(_, n)| n.clone())
                .collect();
            (ValueType::Flags(names), Value::Flags(set))
        }),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            (inner.clone(), 0usize..3)
                .prop_map(|((t, v), n)| (ValueType::List(Box::new(t)), Value::List(vec![v; n]))),
            vec(inner.clone(), 1..4).prop_map(|fields| {
                let (types, values): (Vec<_>, Vec<_>) = fields
                    .into_iter()
                    .enumerate()
                    .map(|(i, (t, v))| ((format!("f{i}"), t), (format!("f{i}"), v)))
                    .unzip();
                (ValueType::Record(types), Value::Record(values))
            }),
            vec(inner.clone(), 0..4).prop_map(|items| {
                let (types, values) = items.into_iter().unzip();
                (ValueType::Tuple(types), Value::Tuple(values))
            }),
            (inner.clone(), any::<bool>()).prop_map(|((t, v), some)| {
                (
                    ValueType::Option(Box::new(t)),
                    Value::Option(some.then(|| Box::new(v))),
                )
            }),
            (inner.clone(), inner.clone(), any::<bool>(), any::<bool>()).prop_map(
                |((ot, ov), (et, ev), ok, payload)| {
                    let ty = ValueType::Result {
                        ok: payload.then(|| Box::new(ot)),
                        err: payload.then(|| Box::new(et)),
                    };
                    let v = match (ok, payload) {
                        (true, true) => Ok(Some(Box::new(ov))),
                        (true, false) => Ok(None),
                        (false, true) => Err(Some(Box::new(ev))),
                        (false, false) => Err(None),
                    };
                    (ty, Value::Result(v))
                }
            ),
            (
                vec(inner, 1..4),
                any::<prop::sample::Index>(),
                any::<bool>()
            )
                .prop_map(|(cases, i, unit)| {
                    let pick = i.index(cases.len());
                    let chosen = cases[pick].1.clone();
                    let types = cases
                        .into_iter()
                        .enumerate()
                        .map(|(k, (t, _))| {
                            (
                                format!("c{k}"),
                                if unit && k == pick { None } else { Some(t) },
                            )
                        })
                        .collect();
                    let payload = if unit { None } else { Some(Box::new(chosen)) };
                    (
                        ValueType::Variant(types),
                        Value::Variant {
                            case: format!("c{pick}"),
                            payload,
                        },
                    )
                }),
        ]
    })
}

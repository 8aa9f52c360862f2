//! The five strategies as pure functions, driven over a small model fleet
//! with a manual clock: every decision's actions are applied to the model,
//! calls are counted per version, and phases follow the transitions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hotswap_control::strategy::{
    Action, Decision, NodeObservation, Observations, decide, restart_step,
};
use hotswap_core::domain::{
    AbTestConfig, AbVariant, BatchSize, BlueGreenConfig, CanaryConfig, DeploymentPhase,
    Environment, InconclusivePolicy, ModuleDeployment, ModuleName, NodeId, NodeStatus,
    OperatorRequest, ReasonCode, Region, RegionalConfig, RegionalRollback, RollingConfig,
    RouteMatch, RoutingTable, SplitBy, StrategyConfig, VersionStats,
};
use proptest::prelude::*;
use semver::Version;

fn v(major: u64) -> Version {
    Version::new(major, 0, 0)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// A model of the target nodes: what each has loaded and routes, and the
/// cumulative statistics per version.
struct Fleet {
    nodes: Vec<NodeObservation>,
    tables: BTreeMap<NodeId, RoutingTable>,
    stats: BTreeMap<Version, VersionStats>,
}

impl Fleet {
    /// `per_region` nodes in each region, all running and routing `old`.
    fn new(regions: &[&str], per_region: usize, old: Option<Version>) -> Self {
        let mut nodes = Vec::new();
        let mut tables = BTreeMap::new();
        for r in regions {
            for _ in 0..per_region {
                let mut n = NodeObservation::new(
                    NodeId::new(),
                    Region::new(*r).unwrap(),
                    NodeStatus::Healthy,
                );
                if let Some(old) = &old {
                    n.loaded.push(old.clone());
                    tables.insert(n.node, RoutingTable::new(module(), old.clone()));
                }
                nodes.push(n);
            }
        }
        nodes.sort_by_key(|n| n.node);
        Self {
            nodes,
            tables,
            stats: BTreeMap::new(),
        }
    }

    fn observe(&self) -> Observations {
        Observations::new(self.nodes.clone(), self.stats.values().cloned().collect())
    }

    fn apply(&mut self, decision: &Decision) {
        for action in &decision.actions {
            match action {
                Action::Load { nodes, version } => {
                    for n in self.nodes.iter_mut().filter(|n| nodes.contains(&n.node)) {
                        if !n.has(version) {
                            n.loaded.push(version.clone());
                        }
                    }
                }
                Action::Route { nodes, table } => {
                    for n in nodes {
                        let node = self
                            .nodes
                            .iter()
                            .find(|o| o.node == *n)
                            .expect("known node");
                        for needed in table.versions() {
                            assert!(
                                node.has(needed),
                                "{n} routes {needed} without having it loaded"
                            );
                        }
                        if let Some(old) = self.tables.get(n) {
                            assert!(table.revision > old.revision, "routing revisions must grow");
                        }
                        self.tables.insert(*n, table.clone());
                    }
                }
                Action::Unload { nodes, version } => {
                    for n in self.nodes.iter_mut().filter(|n| nodes.contains(&n.node)) {
                        if let Some(t) = self.tables.get(&n.node) {
                            assert!(
                                !t.versions().contains(&version),
                                "{version} unloaded while routed"
                            );
                        }
                        n.loaded.retain(|l| l != version);
                    }
                }
                _ => panic!("unknown action"),
            }
        }
    }

    /// Count `calls` calls of `version`, `errors` of them failed.
    fn calls(&mut self, version: &Version, calls: u64, errors: u64, micros: u64) {
        let s = self
            .stats
            .entry(version.clone())
            .or_insert_with(|| VersionStats::new(module(), version.clone()));
        s.calls += calls;
        s.errors += errors;
        s.latency.record_n(micros, calls);
    }

    fn stable_everywhere(&self) -> Vec<Version> {
        let mut out: Vec<Version> = self.tables.values().map(|t| t.stable.clone()).collect();
        out.sort();
        out.dedup();
        out
    }
}

fn module() -> ModuleName {
    ModuleName::new("echo").unwrap()
}

fn deployment(from: Option<Version>, to: Version, strategy: StrategyConfig) -> ModuleDeployment {
    let mut d = ModuleDeployment::new(
        module(),
        from,
        to,
        strategy,
        Environment::Production,
        "alice",
        t0(),
    );
    d.health.min_samples = 50;
    d.health.max_error_rate = 0.05;
    d.transition(
        DeploymentPhase::Progressing,
        ReasonCode::Started,
        "go",
        t0(),
    )
    .unwrap();
    d
}

/// One evaluation: decide, apply the actions, record progress and phase.
fn step(d: &mut ModuleDeployment, fleet: &mut Fleet, now: DateTime<Utc>) -> Decision {
    let obs = fleet.observe();
    let decision = decide(d, &obs, now).expect("decides");
    assert_eq!(
        decide(d, &obs, now).unwrap(),
        decision,
        "decisions are deterministic"
    );
    fleet.apply(&decision);
    d.progress = decision.progress.clone();
    if let Some((phase, code, why)) = &decision.transition {
        d.transition(*phase, *code, why.clone(), now)
            .expect("allowed transition");
    }
    decision
}

fn canary(steps: Vec<u8>) -> StrategyConfig {
    StrategyConfig::Canary(CanaryConfig::new(steps, std::time::Duration::from_secs(60)))
}

#[test]
fn canary_walks_its_steps_while_healthy() {
    let mut fleet = Fleet::new(&["eu"], 4, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 50, 100]));
    let mut now = t0();
    let first = step(&mut d, &mut fleet, now);
    assert!(matches!(&first.actions[0], Action::Load { nodes, .. } if nodes.len() == 4));
    let second = step(&mut d, &mut fleet, now);
    let Action::Route { table, nodes } = &second.actions[0] else {
        panic!("routes")
    };
    assert_eq!(
        (nodes.len(), table.candidate.as_ref().unwrap().weight),
        (4, 10)
    );
    assert_eq!(second.next_check, Some(now + Duration::seconds(60)));
    fleet.calls(&v(2), 100, 0, 2_000);
    fleet.calls(&v(1), 900, 0, 2_000);
    now += Duration::seconds(30);
    step(&mut d, &mut fleet, now);
    assert_eq!(
        d.progress.traffic_percent, 10,
        "holds the step until its period ends"
    );
    now += Duration::seconds(30);
    step(&mut d, &mut fleet, now);
    assert_eq!((d.progress.step, d.progress.traffic_percent), (1, 50));
    fleet.calls(&v(2), 500, 1, 2_000);
    now += Duration::seconds(60);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert_eq!(fleet.stable_everywhere(), [v(2)]);
    assert!(fleet.tables.values().all(|t| t.candidate.is_none()));
    assert!(
        fleet.nodes.iter().all(|n| n.loaded == [v(2)]),
        "v1 is dropped"
    );
}

#[test]
fn a_stored_step_past_the_last_rolls_back_instead_of_panicking() {
    let mut fleet = Fleet::new(&["eu"], 2, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 50, 100]));
    let now = t0();
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.progress.traffic_percent, 10);
    // Damaged (or hand-edited) stored progress: step 8 of 3.
    d.progress.step = 7;
    let decision = step(&mut d, &mut fleet, now + Duration::seconds(61));
    let (phase, code, why) = decision.transition.expect("a transition");
    assert_eq!(
        (phase, code),
        (DeploymentPhase::RolledBack, ReasonCode::InvalidProgress)
    );
    assert!(why.contains("stored step 8 is past the 3 steps"), "{why}");
    assert_eq!(fleet.stable_everywhere(), [v(1)]);
    assert!(fleet.tables.values().all(|t| t.candidate.is_none()));
}

#[test]
fn canary_rolls_back_by_itself_when_the_new_version_errors() {
    let mut fleet = Fleet::new(&["eu"], 3, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 25, 50, 100]));
    let now = t0();
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    fleet.calls(&v(2), 100, 30, 1_000);
    fleet.calls(&v(1), 900, 2, 1_000);
    // Well before the period ends: the breach is acted on at once.
    let back = step(&mut d, &mut fleet, now + Duration::seconds(5));
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    assert_eq!(d.reason.code, ReasonCode::HealthCheckFailed);
    assert!(back.note.contains("error rate 0.3000"), "{}", back.note);
    assert_eq!(fleet.stable_everywhere(), [v(1)]);
    assert!(fleet.tables.values().all(|t| t.candidate.is_none()));
    assert!(
        fleet.nodes.iter().all(|n| n.loaded == [v(1)]),
        "v2 is dropped"
    );
}

#[test]
fn canary_compares_the_new_version_with_the_stable_one() {
    let mut fleet = Fleet::new(&["eu"], 2, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), canary(vec![50, 100]));
    let now = t0();
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    // Within the absolute thresholds, but four times slower than v1.
    fleet.calls(&v(2), 200, 0, 40_000);
    fleet.calls(&v(1), 200, 0, 10_000);
    let back = step(&mut d, &mut fleet, now + Duration::seconds(60));
    assert_eq!(d.phase, DeploymentPhase::RolledBack, "{}", back.note);
    assert!(
        back.note.contains("times the stable version's"),
        "{}",
        back.note
    );
}

#[test]
fn too_few_calls_pause_or_roll_back_by_policy() {
    for (policy, phase) in [
        (InconclusivePolicy::Pause, DeploymentPhase::Paused),
        (InconclusivePolicy::Rollback, DeploymentPhase::RolledBack),
    ] {
        let mut fleet = Fleet::new(&["eu"], 2, Some(v(1)));
        let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 100]));
        d.health.on_inconclusive = policy;
        step(&mut d, &mut fleet, t0());
        step(&mut d, &mut fleet, t0());
        fleet.calls(&v(2), 3, 0, 1_000);
        step(&mut d, &mut fleet, t0() + Duration::seconds(60));
        assert_eq!(d.phase, phase);
        assert_eq!(d.reason.code, ReasonCode::Inconclusive);
        assert!(
            d.reason.message.contains("only 3 calls"),
            "{}",
            d.reason.message
        );
    }
}

#[test]
fn blue_green_previews_then_switches_every_node_and_can_switch_back() {
    let mut cfg = BlueGreenConfig::default();
    (
        cfg.preview,
        cfg.auto_promote_after_secs,
        cfg.scale_down_delay_secs,
    ) = (true, None, 600);
    let mut fleet = Fleet::new(&["eu", "us"], 2, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), StrategyConfig::BlueGreen(cfg));
    let now = t0();
    step(&mut d, &mut fleet, now);
    let preview = step(&mut d, &mut fleet, now);
    assert_eq!(preview.next_check, None, "waits for a promotion");
    assert!(
        fleet
            .tables
            .values()
            .all(|t| t.stable == v(1) && t.pinnable == [v(2)]),
        "green is reachable by pin"
    );
    step(&mut d, &mut fleet, now + Duration::seconds(90));
    assert_eq!(d.progress.blue_green().and_then(|b| b.switched_at), None);
    d.progress.request = Some(OperatorRequest::Promote { full: true });
    step(&mut d, &mut fleet, now + Duration::seconds(100));
    assert_eq!(d.reason.code, ReasonCode::ManualPromote);
    assert!(
        fleet
            .tables
            .values()
            .all(|t| t.stable == v(2) && t.pinnable == [v(1)]),
        "one switch on every node"
    );
    assert!(
        fleet.nodes.iter().all(|n| n.has(&v(1))),
        "blue stays loaded"
    );
    // Green fails after the switch: back to blue everywhere.
    fleet.calls(&v(2), 200, 50, 1_000);
    step(&mut d, &mut fleet, now + Duration::seconds(160));
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    assert!(
        fleet
            .tables
            .values()
            .all(|t| t.stable == v(1) && t.pinnable.is_empty())
    );
}

#[test]
fn blue_green_drops_blue_after_the_scale_down_delay() {
    let mut cfg = BlueGreenConfig::default();
    (
        cfg.preview,
        cfg.auto_promote_after_secs,
        cfg.scale_down_delay_secs,
    ) = (false, Some(30), 300);
    let mut fleet = Fleet::new(&["eu"], 3, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), StrategyConfig::BlueGreen(cfg));
    let mut now = t0();
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    now += Duration::seconds(30);
    step(&mut d, &mut fleet, now);
    assert_eq!(fleet.stable_everywhere(), [v(2)], "switched automatically");
    now += Duration::seconds(299);
    step(&mut d, &mut fleet, now);
    assert!(fleet.nodes.iter().all(|n| n.has(&v(1))));
    now += Duration::seconds(1);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert!(fleet.nodes.iter().all(|n| n.loaded == [v(2)]));
}

#[test]
fn rolling_pauses_on_a_failed_batch_and_resumes() {
    let mut cfg = RollingConfig::default();
    (cfg.batch, cfg.pause_on_failure, cfg.evaluation_period_secs) = (BatchSize::Count(2), true, 60);
    let mut fleet = Fleet::new(&["eu"], 5, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), StrategyConfig::Rolling(cfg));
    let mut now = t0();
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    assert_eq!(
        (
            d.progress.step,
            d.progress.total_steps,
            d.progress.nodes_updated
        ),
        (1, 3, 2)
    );
    assert_eq!(
        fleet.tables.values().filter(|t| t.stable == v(2)).count(),
        2
    );
    fleet.calls(&v(2), 100, 40, 1_000);
    now += Duration::seconds(10);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.phase, DeploymentPhase::Paused);
    assert_eq!(d.reason.code, ReasonCode::HealthCheckFailed);
    assert_eq!(
        fleet.tables.values().filter(|t| t.stable == v(2)).count(),
        2,
        "a pause changes no routing"
    );

    // The fault is fixed; an operator resumes: a fresh window.
    now += Duration::seconds(60);
    d.transition(
        DeploymentPhase::Progressing,
        ReasonCode::ManualResume,
        "fixed",
        now,
    )
    .unwrap();
    restart_step(&mut d.progress, &fleet.observe(), now);
    fleet.calls(&v(2), 100, 0, 1_000);
    step(&mut d, &mut fleet, now + Duration::seconds(30));
    assert_eq!(d.progress.step, 1, "the resumed batch is evaluated again");
    now += Duration::seconds(60);
    let load = step(&mut d, &mut fleet, now);
    assert!(
        load.note.contains("to load"),
        "the next batch loads first: {}",
        load.note
    );
    step(&mut d, &mut fleet, now);
    assert_eq!(d.progress.nodes_updated, 4);
    fleet.calls(&v(2), 100, 0, 1_000);
    now += Duration::seconds(60);
    step(&mut d, &mut fleet, now);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.progress.nodes_updated, 5);
    fleet.calls(&v(2), 100, 0, 1_000);
    now += Duration::seconds(60);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert_eq!(fleet.stable_everywhere(), [v(2)]);
}

fn regional(on_failure: RegionalRollback) -> StrategyConfig {
    let mut cfg = RegionalConfig::new(vec![Region::new("eu").unwrap(), Region::new("us").unwrap()]);
    cfg.inner = Box::new(canary(vec![50, 100]));
    cfg.inter_region_wait_secs = 120;
    cfg.on_failure = on_failure;
    StrategyConfig::Regional(cfg)
}

/// Drive a regional rollout through eu (healthy), then into us where
/// `us_errors` of 100 calls fail.
fn regional_until_us_fails(on_failure: RegionalRollback) -> (ModuleDeployment, Fleet) {
    let mut fleet = Fleet::new(&["eu", "us"], 2, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), regional(on_failure));
    let mut now = t0();
    for _ in 0..3 {
        step(&mut d, &mut fleet, now);
    }
    let eu = |f: &Fleet, want: &Version| {
        f.nodes
            .iter()
            .filter(|n| n.region.as_str() == "eu")
            .all(|n| f.tables[&n.node].stable == *want)
    };
    assert_eq!(d.progress.stage(), 0);
    fleet.calls(&v(2), 100, 0, 1_000);
    now += Duration::seconds(60);
    step(&mut d, &mut fleet, now);
    assert_eq!(d.progress.stage(), 1, "eu is done");
    assert!(eu(&fleet, &v(2)));
    assert!(
        fleet
            .nodes
            .iter()
            .filter(|n| n.region.as_str() == "us")
            .all(|n| !n.has(&v(2))),
        "us untouched"
    );
    step(&mut d, &mut fleet, now + Duration::seconds(60));
    assert_eq!(
        d.progress.regional().and_then(|r| r.inner.as_ref()),
        None,
        "waits between regions"
    );
    now += Duration::seconds(120);
    for _ in 0..3 {
        step(&mut d, &mut fleet, now);
    }
    assert!(
        fleet
            .nodes
            .iter()
            .filter(|n| n.region.as_str() == "us")
            .all(|n| fleet.tables[&n.node].candidate.is_some())
    );
    fleet.calls(&v(2), 100, 40, 1_000);
    step(&mut d, &mut fleet, now + Duration::seconds(10));
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    (d, fleet)
}

#[test]
fn regional_rolls_back_only_the_failing_region() {
    let (d, fleet) = regional_until_us_fails(RegionalRollback::Region);
    assert!(
        d.reason.message.contains("us rolled back"),
        "{}",
        d.reason.message
    );
    assert!(
        d.reason.message.contains("eu keep 2.0.0"),
        "{}",
        d.reason.message
    );
    for n in &fleet.nodes {
        let want = if n.region.as_str() == "eu" {
            v(2)
        } else {
            v(1)
        };
        assert_eq!(fleet.tables[&n.node].stable, want, "{}", n.region);
        assert_eq!(fleet.tables[&n.node].candidate, None);
    }
}

#[test]
fn regional_global_policy_rolls_back_every_region() {
    let (_, fleet) = regional_until_us_fails(RegionalRollback::Global);
    assert_eq!(fleet.stable_everywhere(), [v(1)]);
    assert!(
        fleet.nodes.iter().all(|n| n.loaded == [v(1)]),
        "eu reloads v1, every node drops v2"
    );
}

#[test]
fn ab_test_splits_by_header_then_sticky_buckets_and_promotes_the_winner() {
    let variant = |name: &str, major, weight| AbVariant {
        name: name.into(),
        version: v(major),
        weight,
    };
    let mut cfg = AbTestConfig::new(vec![variant("control", 1, 70), variant("fast", 2, 30)]);
    cfg.split = SplitBy::Header {
        name: "x-variant".into(),
    };
    let mut fleet = Fleet::new(&["eu"], 2, Some(v(1)));
    let mut d = deployment(Some(v(1)), v(2), StrategyConfig::AbTest(cfg));
    step(&mut d, &mut fleet, t0());
    step(&mut d, &mut fleet, t0());
    let table = fleet.tables.values().next().unwrap();
    assert!(
        matches!(&table.rules[0].when, RouteMatch::Header { name, value } if name == "x-variant" && value == "control")
    );
    assert!(matches!(
        table.rules[2].when,
        RouteMatch::Buckets { from: 0, to: 70 }
    ));
    assert!(matches!(
        table.rules[3].when,
        RouteMatch::Buckets { from: 70, to: 100 }
    ));
    assert_eq!(d.progress.traffic_percent, 30);
    fleet.calls(&v(2), 300, 3, 1_000);
    fleet.calls(&v(1), 700, 7, 1_000);
    step(&mut d, &mut fleet, t0() + Duration::seconds(3600));
    assert_eq!(d.phase, DeploymentPhase::Progressing, "runs until promoted");
    d.progress.request = Some(OperatorRequest::PromoteVariant {
        name: "nope".into(),
    });
    let e = decide(&d, &fleet.observe(), t0()).unwrap_err();
    assert!(e.to_string().contains("no variant named \"nope\""), "{e}");
    d.progress.request = Some(OperatorRequest::PromoteVariant {
        name: "fast".into(),
    });
    step(&mut d, &mut fleet, t0() + Duration::seconds(3700));
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert_eq!(fleet.stable_everywhere(), [v(2)]);
    assert!(fleet.tables.values().all(|t| t.rules.is_empty()));
    assert!(fleet.nodes.iter().all(|n| n.loaded == [v(2)]));
}

#[test]
fn a_first_deployment_serves_the_new_version_once_loaded() {
    let mut fleet = Fleet::new(&["eu"], 3, None);
    let mut d = deployment(None, v(1), canary(vec![10, 100]));
    step(&mut d, &mut fleet, t0());
    step(&mut d, &mut fleet, t0());
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    assert_eq!(fleet.stable_everywhere(), [v(1)]);
}

#[test]
fn unhealthy_nodes_are_left_out() {
    let mut fleet = Fleet::new(&["eu"], 3, Some(v(1)));
    fleet.nodes[0].status = NodeStatus::Unhealthy;
    let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 100]));
    let load = step(&mut d, &mut fleet, t0());
    assert!(
        matches!(&load.actions[0], Action::Load { nodes, .. } if nodes.len() == 2 && !nodes.contains(&fleet.nodes[0].node))
    );
    assert_eq!(d.progress.nodes_targeted, 2);
}

fn any_strategy() -> impl Strategy<Value = StrategyConfig> {
    prop_oneof![
        Just(canary(vec![10, 25, 50, 100])),
        Just(StrategyConfig::BlueGreen(BlueGreenConfig::default())),
        Just(StrategyConfig::Rolling(RollingConfig::default())),
        Just(regional(RegionalRollback::Region)),
    ]
}

proptest! {
    /// Whatever the calls and the timing, a rollout ends with one stable
    /// version on every node it reached, never routes a version a node
    /// has not loaded (the model asserts it), and decides the same way
    /// twice (`step` asserts it).
    #[test]
    fn rollouts_end_consistent(
        strategy in any_strategy(),
        rounds in proptest::collection::vec((0u64..200, 0u64..40, 1u64..120), 1..40),
    ) {
        let mut fleet = Fleet::new(&["eu", "us"], 3, Some(v(1)));
        let mut d = deployment(Some(v(1)), v(2), strategy);
        let mut now = t0();
        for (calls, errors, secs) in rounds {
            if d.phase.is_terminal() || d.phase == DeploymentPhase::Paused {
                break;
            }
            fleet.calls(&v(2), calls, errors.min(calls), 1_000);
            step(&mut d, &mut fleet, now);
            now += Duration::seconds(secs as i64);
        }
        match d.phase {
            DeploymentPhase::Succeeded => prop_assert_eq!(fleet.stable_everywhere(), vec![v(2)]),
            DeploymentPhase::RolledBack if matches!(d.strategy, StrategyConfig::Regional(_)) => {}
            DeploymentPhase::RolledBack => prop_assert_eq!(fleet.stable_everywhere(), vec![v(1)]),
            _ => {}
        }
    }
}

#[test]
fn each_strategy_names_its_evaluation_periods_versions_and_progress() {
    use hotswap_control::strategy::{for_config, percent_done};
    let periods = |c: &StrategyConfig| for_config(c).evaluation_periods();
    assert_eq!(
        periods(&canary(vec![10, 100])),
        [("evaluation_period_secs".to_owned(), 60)]
    );
    assert_eq!(
        periods(&regional(RegionalRollback::Region)),
        [("inner.evaluation_period_secs".to_owned(), 60)]
    );
    let mut rolling = RollingConfig::default();
    rolling.evaluation_period_secs = 0;
    assert!(
        periods(&StrategyConfig::Rolling(rolling)).is_empty(),
        "a batch judged for 0 s is not judged"
    );
    assert!(periods(&StrategyConfig::BlueGreen(BlueGreenConfig::default())).is_empty());
    let variant = |name: &str, major| AbVariant {
        name: name.into(),
        version: v(major),
        weight: 50,
    };
    let mut ab = AbTestConfig::new(vec![variant("a", 2), variant("b", 3)]);
    ab.duration_secs = Some(3600);
    let ab = StrategyConfig::AbTest(ab);
    assert_eq!(periods(&ab), [("duration_secs".to_owned(), 3600)]);

    // An A/B test also routes to its variants' versions.
    let d = deployment(Some(v(1)), v(2), ab);
    assert_eq!(for_config(&d.strategy).versions(&d), [v(2), v(1), v(3)]);
    let d = deployment(Some(v(1)), v(2), canary(vec![10, 100]));
    assert_eq!(for_config(&d.strategy).versions(&d), [v(2), v(1)]);

    // Percent done: steps for a canary, regions and their steps for a
    // regional rollout, 100 only once it succeeded.
    let mut d = deployment(Some(v(1)), v(2), canary(vec![10, 50, 100]));
    (d.progress.step, d.progress.total_steps) = (1, 3);
    assert_eq!(percent_done(&d), 33);
    let mut d = deployment(Some(v(1)), v(2), regional(RegionalRollback::Region));
    let mut inner = d.progress.clone();
    (inner.step, inner.total_steps) = (1, 2);
    let r = d.progress.regional_mut();
    (r.stage, r.total_stages, r.inner) = (1, 2, Some(Box::new(inner)));
    assert_eq!(percent_done(&d), 75);
    let r = d.progress.regional_mut();
    (r.stage, r.inner) = (2, None);
    assert_eq!(percent_done(&d), 99, "not 100 before it succeeded");
}

//! Analysis checks in a rollout, on the simulated fleet with a scripted
//! provider: each run is an event with its rendered query, value and
//! verdict; a check failing past its limit rolls the canary back, one that
//! passes lets it finish, and an unreachable source is inconclusive, so the
//! deployment's inconclusive policy applies.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::domain::{
    AnalysisCheck, AnalysisSource, CanaryConfig, Comparison, DeploymentPhase, EventKind,
    InconclusivePolicy, ModuleDeployment, PassCondition, ReasonCode, ShortName, StrategyConfig,
};
use hotswap_core::{Error, Result};
use hotswap_testkit::simulation::Simulation as World;
use semver::Version;

/// Answers each query with the next of `values` (the last one repeats),
/// or with `Unavailable` where the script says `None`; remembers queries.
#[derive(Debug)]
struct Scripted {
    values: Mutex<Vec<Option<f64>>>,
    queries: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(values: &[Option<f64>]) -> Arc<Self> {
        Arc::new(Self {
            values: Mutex::new(values.iter().rev().copied().collect()),
            queries: Mutex::default(),
        })
    }
}

#[async_trait]
impl AnalysisProvider for Scripted {
    async fn measure(&self, source: &AnalysisSource) -> Result<Option<f64>> {
        self.queries.lock().unwrap().push(source.describe());
        let mut values = self.values.lock().unwrap();
        let next = if values.len() > 1 {
            values.pop().unwrap()
        } else {
            values[0]
        };
        next.map(Some)
            .ok_or_else(|| Error::unavailable("prometheus", true, "connection refused"))
    }
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn error_rate(failure_limit: u32) -> AnalysisCheck {
    let mut check = AnalysisCheck::new(
        ShortName::new("error-rate").unwrap(),
        AnalysisSource::Prometheus {
            url: None,
            query: r#"rate(errors{module="{{module}}",version="{{version}}"}[{{window}}])"#.into(),
        },
        PassCondition {
            op: Comparison::Lt,
            threshold: 0.05,
        },
    );
    check.interval_secs = 10;
    check.failure_limit = failure_limit;
    check
}

/// A canary 1.0.0 -> 2.0.0 (10, 50, 100 %, 60 s a step) with `check`,
/// run with `provider`, driven to its end.
async fn roll(
    w: &World,
    check: AnalysisCheck,
    provider: Arc<Scripted>,
    policy: InconclusivePolicy,
) -> ModuleDeployment {
    let orch = w.orchestrator("cp-1").with_analysis(provider);
    let mut d = w.pending(
        Some("1.0.0"),
        "2.0.0",
        StrategyConfig::Canary(CanaryConfig::new(
            vec![10, 50, 100],
            Duration::from_secs(60),
        )),
    );
    d.health.min_samples = 100;
    d.health.analysis = vec![check];
    d.health.on_inconclusive = policy;
    let d = orch.create(d).await.unwrap();
    orch.execute(d.id).await.unwrap();
    w.drive(&orch, d.id, 60).await
}

#[tokio::test]
async fn a_check_failing_past_its_limit_rolls_the_canary_back() {
    let w = World::new(&["eu"], 3).await;
    let provider = Scripted::new(&[Some(0.01), Some(0.2), Some(0.3)]);
    let d = roll(
        &w,
        error_rate(1),
        provider.clone(),
        InconclusivePolicy::Pause,
    )
    .await;
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    assert_eq!(d.reason.code, ReasonCode::HealthCheckFailed);
    assert!(
        d.reason
            .message
            .contains("analysis error-rate failed 2 times, more than the 1 allowed"),
        "{}",
        d.reason.message
    );
    let events = w.events(d.id).await;
    let runs: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Analysis)
        .map(|e| {
            let r = &e.data["result"];
            (
                r["value"].as_f64().unwrap(),
                r["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (0.01, "pass".to_owned()),
            (0.2, "fail".to_owned()),
            (0.3, "fail".to_owned())
        ]
    );
    let first = events
        .iter()
        .find(|e| e.kind == EventKind::Analysis)
        .unwrap();
    assert_eq!(
        first.data["result"]["query"], r#"rate(errors{module="echo",version="2.0.0"}[10s])"#,
        "the event holds the query as run"
    );
    assert!(
        w.tables()
            .iter()
            .all(|(_, stable, c)| *stable == v("1.0.0") && c.is_none())
    );
}

#[tokio::test]
async fn passing_checks_let_the_canary_finish_and_run_every_interval() {
    let w = World::new(&["eu"], 3).await;
    let provider = Scripted::new(&[Some(0.0)]);
    let d = roll(
        &w,
        error_rate(0),
        provider.clone(),
        InconclusivePolicy::Pause,
    )
    .await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded, "{}", d.reason.message);
    let queries = provider.queries.lock().unwrap().clone();
    // Two 60 s steps, a run every 10 s of each: about six a step.
    assert!(queries.len() >= 10, "{queries:?}");
    assert!(queries.iter().any(|q| q.contains("[60s]")), "{queries:?}");
}

#[tokio::test]
async fn an_unreachable_source_is_inconclusive_and_the_policy_applies() {
    let w = World::new(&["eu"], 3).await;
    let d = roll(
        &w,
        error_rate(0),
        Scripted::new(&[None]),
        InconclusivePolicy::Pause,
    )
    .await;
    assert_eq!(d.phase, DeploymentPhase::Paused);
    assert_eq!(d.reason.code, ReasonCode::Inconclusive);
    assert!(
        d.reason
            .message
            .contains("analysis error-rate has not passed yet")
            && d.reason.message.contains("connection refused"),
        "{}",
        d.reason.message
    );
    let events = w.events(d.id).await;
    let run = events
        .iter()
        .find(|e| e.kind == EventKind::Analysis)
        .unwrap();
    assert_eq!(run.data["result"]["verdict"], "inconclusive");
    assert!(run.data["result"]["value"].is_null());

    let w = World::new(&["eu"], 3).await;
    let d = roll(
        &w,
        error_rate(0),
        Scripted::new(&[None]),
        InconclusivePolicy::Rollback,
    )
    .await;
    assert_eq!(
        (d.phase, d.reason.code),
        (DeploymentPhase::RolledBack, ReasonCode::Inconclusive)
    );
}

#[tokio::test]
async fn checks_that_cannot_run_are_refused_at_creation_naming_the_field() {
    let w = World::new(&["eu"], 1).await;
    let mut d = w.pending(Some("1.0.0"), "2.0.0", StrategyConfig::default());
    let mut bad = error_rate(0);
    bad.source = AnalysisSource::Prometheus {
        url: None,
        query: "up{{{vesion}}}".into(),
    };
    d.health.analysis = vec![bad];
    let e = w.orchestrator("cp-1").create(d).await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid health.analysis[0].source.query"),
        "{e}"
    );
}

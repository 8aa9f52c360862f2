//! A deployment's analysis checks during a step: which are due, running
//! them through an [`AnalysisProvider`], recording each run as an event and
//! in the step's progress, and the verdict they give so far. The strategy
//! combines that verdict with the nodes' statistics.

mod provider;

use chrono::{DateTime, Utc};
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::domain::{
    AnalysisCheck, AnalysisProgress, AnalysisResult, AnalysisVerdict, DeploymentEvent,
    DeploymentProgress, EventKind, HealthVerdict, ModuleDeployment, StrategyConfig, TemplateVars,
};
pub use provider::HttpAnalysis;
use serde_json::json;

/// When the current step began (a regional rollout's inner step): the
/// window the checks judge. `None` while no step is under way.
pub(crate) fn window_start(p: &DeploymentProgress) -> Option<DateTime<Utc>> {
    match p.regional().and_then(|r| r.inner.as_deref()) {
        Some(inner) => inner.step_started_at,
        None => p.step_started_at,
    }
}

fn secs(d: chrono::Duration) -> u64 {
    u64::try_from(d.num_seconds()).unwrap_or(0)
}

/// The template variables of `check` in `d` at `now`, the step having
/// begun at `start`.
fn vars(
    d: &ModuleDeployment,
    check: &AnalysisCheck,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> TemplateVars {
    let p = &d.progress;
    let (region, step) = match (&d.strategy, p.regional()) {
        (StrategyConfig::Regional(c), Some(r)) => (
            c.regions
                .get(r.stage as usize)
                .map(ToString::to_string)
                .unwrap_or_default(),
            r.inner.as_deref().map_or(0, |i| i.step),
        ),
        _ => (String::new(), p.step),
    };
    let mut vars = TemplateVars::default();
    vars.module = d.module.to_string();
    vars.version = d.to_version.to_string();
    vars.stable_version = d
        .from_version
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    vars.region = region;
    vars.window = format!("{}s", secs(now - start).max(check.interval_secs));
    vars.deployment = d.id.to_string();
    vars.step = (step + 1).to_string();
    vars
}

/// Run the checks of `d` that are due at `now` (never run in this step, or
/// their interval passed), recording each in `d`'s progress; their events.
/// Without `provider` every run is inconclusive, saying so.
pub(crate) async fn run_due(
    provider: Option<&dyn AnalysisProvider>,
    d: &mut ModuleDeployment,
    now: DateTime<Utc>,
) -> Vec<DeploymentEvent> {
    let Some(start) = window_start(&d.progress) else {
        return Vec::new();
    };
    let mut events = Vec::new();
    for check in d.health.analysis.clone() {
        let interval = interval(&check);
        let last = progress_of(&d.progress, &check).and_then(|p| p.last_run_at);
        let due = last.unwrap_or(start) + interval <= now;
        if !due {
            continue;
        }
        let source = check.source.render(&vars(d, &check, start, now));
        let (value, verdict, reason) = match provider {
            None => (
                None,
                AnalysisVerdict::Inconclusive,
                "this control plane has no analysis provider".to_owned(),
            ),
            Some(p) => match p.measure(&source).await {
                Ok(value) => {
                    let (verdict, reason) = check.judge(value);
                    (value, verdict, reason)
                }
                Err(e) => (None, AnalysisVerdict::Inconclusive, e.to_string()),
            },
        };
        let entry = progress_mut(&mut d.progress, &check);
        entry.runs += 1;
        entry.last_run_at = Some(now);
        match verdict {
            AnalysisVerdict::Pass => entry.passes += 1,
            AnalysisVerdict::Fail => entry.failures += 1,
            AnalysisVerdict::Inconclusive => {}
        }
        entry.last = format!("{verdict:?}: {reason}").to_lowercase();
        let message = format!(
            "analysis {}: {reason} ({} of {} failures allowed)",
            check.name, entry.failures, check.failure_limit
        );
        let result = AnalysisResult::new(
            check.name.clone(),
            source.describe(),
            value,
            verdict,
            reason,
        );
        events.push(
            DeploymentEvent::new(EventKind::Analysis, d.phase, message, now).with_data(json!({
                "result": result,
                "runs": entry.runs,
                "failures": entry.failures,
                "failure_limit": check.failure_limit,
            })),
        );
    }
    events
}

fn progress_of<'p>(
    p: &'p DeploymentProgress,
    check: &AnalysisCheck,
) -> Option<&'p AnalysisProgress> {
    p.analysis.iter().find(|a| a.check == check.name.as_str())
}

fn progress_mut<'p>(
    p: &'p mut DeploymentProgress,
    check: &AnalysisCheck,
) -> &'p mut AnalysisProgress {
    let i = match p
        .analysis
        .iter()
        .position(|a| a.check == check.name.as_str())
    {
        Some(i) => i,
        None => {
            let mut fresh = AnalysisProgress::default();
            fresh.check = check.name.to_string();
            p.analysis.push(fresh);
            p.analysis.len() - 1
        }
    };
    &mut p.analysis[i]
}

/// What `d`'s checks say of the current step so far: unhealthy once a
/// check failed more often than its limit, inconclusive while a check has
/// not passed once, healthy otherwise; `None` without checks or a step.
pub(crate) fn verdict(d: &ModuleDeployment) -> Option<HealthVerdict> {
    window_start(&d.progress)?;
    let mut verdict = None;
    for check in &d.health.analysis {
        let p = progress_of(&d.progress, check);
        let (failures, passes, last) = p.map_or((0, 0, "not run yet"), |p| {
            (p.failures, p.passes, p.last.as_str())
        });
        if failures > check.failure_limit {
            return Some(HealthVerdict::Unhealthy {
                reason: format!(
                    "analysis {} failed {failures} times, more than the {} allowed (last {last})",
                    check.name, check.failure_limit
                ),
            });
        }
        if passes == 0 && verdict.is_none() {
            verdict = Some(HealthVerdict::Inconclusive {
                samples: 0,
                reason: Some(format!(
                    "analysis {} has not passed yet (last {last})",
                    check.name
                )),
            });
        }
    }
    if d.health.analysis.is_empty() {
        return None;
    }
    Some(verdict.unwrap_or(HealthVerdict::Healthy))
}

/// When `d`'s next check is due (one interval after its last run, or after
/// the step began), if it has any and a step is under way.
pub(crate) fn next_due(d: &ModuleDeployment) -> Option<DateTime<Utc>> {
    let start = window_start(&d.progress)?;
    d.health
        .analysis
        .iter()
        .map(|c| {
            let last = progress_of(&d.progress, c).and_then(|p| p.last_run_at);
            last.unwrap_or(start) + interval(c)
        })
        .min()
}

fn interval(check: &AnalysisCheck) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(check.interval_secs).unwrap_or(i64::MAX))
}

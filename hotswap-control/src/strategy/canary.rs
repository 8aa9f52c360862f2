//! Canary: traffic-weight steps on every target node, each held for an
//! evaluation period; onwards while healthy, back when not.

use chrono::{DateTime, Utc};

use super::plan::{Plan, count};
use super::{Decision, DeploymentStrategy, Observations};
use hotswap_core::domain::{
    CanaryConfig, HealthVerdict, ModuleDeployment, OperatorRequest, ReasonCode,
};
use hotswap_core::error::Result;

/// The canary strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Canary(pub CanaryConfig);

impl DeploymentStrategy for Canary {
    fn name(&self) -> &'static str {
        "canary"
    }

    fn evaluation_periods(&self) -> Vec<(String, u64)> {
        vec![(
            "evaluation_period_secs".into(),
            self.0.evaluation_period_secs,
        )]
    }

    fn decide(
        &self,
        d: &ModuleDeployment,
        obs: &Observations,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let cfg = &self.0;
        Ok(steps(
            Plan::new(d, obs, now),
            &cfg.steps,
            cfg.evaluation_period_secs,
        ))
    }
}

/// Run `weights` (percent of traffic per step, ending at 100) with `period`
/// seconds per step. Shared with the regional strategy's canary regions.
pub(crate) fn steps(mut plan: Plan<'_>, weights: &[u8], period: u64) -> Decision {
    let d = plan.d;
    let serving = plan.serving();
    plan.progress.total_steps = count(weights.len());
    plan.progress.nodes_targeted = count(serving.len());
    if serving.is_empty() {
        return plan.go_on(None, "no serving target node; waiting for one");
    }
    if !plan.ensure_loaded(&serving, &d.to_version) {
        return plan.loading(&format!("{} on the target nodes", d.to_version));
    }
    let Some(old) = d.from_version.clone() else {
        return plan.complete(
            ReasonCode::Completed,
            format!("first deployment: {} takes all traffic", d.to_version),
        );
    };
    if plan.progress.step_started_at.is_none() {
        return start_step(plan, &old, weights, 0, period);
    }
    let step = plan.progress.step as usize;
    // The step comes from stored progress: never index with it unchecked.
    let Some(&weight) = weights.get(step) else {
        return plan.rollback(
            ReasonCode::InvalidProgress,
            format!(
                "the stored step {} is past the {} steps of the strategy",
                step + 1,
                weights.len()
            ),
        );
    };
    match plan.progress.request.take() {
        Some(OperatorRequest::Promote { full: true }) => {
            return plan.complete(
                ReasonCode::ManualPromote,
                "promoted to 100 % by an operator",
            );
        }
        Some(OperatorRequest::Promote { full: false }) => {
            return next_step(plan, &old, weights, step, period, ReasonCode::ManualPromote);
        }
        _ => {}
    }
    match plan.verdict() {
        HealthVerdict::Unhealthy { reason } => plan.rollback(
            ReasonCode::HealthCheckFailed,
            format!("{} at {weight} %: {reason}", d.to_version),
        ),
        _ if !plan.step_elapsed(period) => {
            let end = plan.step_ends(period);
            plan.go_on(
                end,
                format!("step {} at {weight} % is being evaluated", step + 1),
            )
        }
        HealthVerdict::Inconclusive { samples, reason } => plan.inconclusive(samples, reason),
        HealthVerdict::Healthy => {
            next_step(plan, &old, weights, step, period, ReasonCode::StepAdvanced)
        }
    }
}

fn next_step(
    plan: Plan<'_>,
    old: &semver::Version,
    weights: &[u8],
    step: usize,
    period: u64,
    code: ReasonCode,
) -> Decision {
    let next = step + 1;
    if weights.get(next).is_none_or(|w| *w >= 100) {
        let note = format!(
            "{} takes all traffic after {next} healthy steps",
            plan.d.to_version
        );
        return plan.complete(
            if code == ReasonCode::StepAdvanced {
                ReasonCode::Completed
            } else {
                code
            },
            note,
        );
    }
    start_step(plan, old, weights, next, period)
}

fn start_step(
    mut plan: Plan<'_>,
    old: &semver::Version,
    weights: &[u8],
    step: usize,
    period: u64,
) -> Decision {
    // A step past the last is all traffic, as a step of 100 % is.
    let weight = weights.get(step).copied().unwrap_or(100);
    let d = plan.d;
    if weight >= 100 {
        return plan.complete(
            ReasonCode::Completed,
            format!("{} takes all traffic", d.to_version),
        );
    }
    let serving = plan.serving();
    let table = plan
        .table(old)
        .with_candidate(plan.d.to_version.clone(), weight);
    plan.route(Plan::ids(&serving), table);
    plan.progress.step = count(step);
    plan.progress.traffic_percent = weight;
    plan.progress.nodes_updated = count(serving.len());
    plan.begin_step();
    let end = plan.step_ends(period);
    plan.go_on(
        end,
        format!(
            "step {} of {}: {weight} % of traffic on {}",
            step + 1,
            weights.len(),
            d.to_version
        ),
    )
}

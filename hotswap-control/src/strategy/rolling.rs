//! Rolling: the new version takes all traffic on one batch of nodes after
//! another (in node-id order), with a health check between batches; a
//! failing batch pauses (resumable) or rolls back.

use chrono::{DateTime, Utc};

use super::plan::{Plan, count};
use super::{Decision, DeploymentStrategy, Observations};
use hotswap_core::domain::{
    DeploymentPhase, HealthVerdict, ModuleDeployment, OperatorRequest, ReasonCode, RollingConfig,
};
use hotswap_core::error::Result;

/// The rolling strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Rolling(pub RollingConfig);

impl DeploymentStrategy for Rolling {
    fn name(&self) -> &'static str {
        "rolling"
    }

    /// A batch evaluated for 0 s is not evaluated.
    fn evaluation_periods(&self) -> Vec<(String, u64)> {
        let secs = self.0.evaluation_period_secs;
        match secs {
            0 => Vec::new(),
            _ => vec![("evaluation_period_secs".into(), secs)],
        }
    }

    fn decide(
        &self,
        d: &ModuleDeployment,
        obs: &Observations,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let cfg = &self.0;
        let mut plan = Plan::new(d, obs, now);
        let serving = plan.serving();
        let total = serving.len();
        let batch = cfg.batch.nodes(total);
        plan.progress.nodes_targeted = count(total);
        plan.progress.total_steps = count(total.div_ceil(batch.max(1)));
        if total == 0 {
            return Ok(plan.go_on(None, "no serving target node; waiting for one"));
        }
        let done = if plan.progress.step_started_at.is_none() {
            0
        } else {
            (plan.progress.step as usize).min(plan.progress.total_steps as usize)
        };
        if done > 0 {
            let request = plan.progress.request.take();
            match plan.verdict() {
                HealthVerdict::Unhealthy { reason } => {
                    let why = format!("batch {done} unhealthy: {reason}");
                    return Ok(if cfg.pause_on_failure {
                        plan.end(DeploymentPhase::Paused, ReasonCode::HealthCheckFailed, why)
                    } else {
                        plan.rollback(ReasonCode::HealthCheckFailed, why)
                    });
                }
                _ if matches!(request, Some(OperatorRequest::Promote { full: true })) => {
                    return Ok(plan.complete(ReasonCode::ManualPromote, "promoted by an operator"));
                }
                _ if request.is_some() => {}
                _ if !plan.step_elapsed(cfg.evaluation_period_secs) => {
                    let end = plan.step_ends(cfg.evaluation_period_secs);
                    return Ok(plan.go_on(end, format!("batch {done} is being evaluated")));
                }
                HealthVerdict::Inconclusive { samples, reason } => {
                    return Ok(plan.inconclusive(samples, reason));
                }
                HealthVerdict::Healthy => {}
            }
        }
        let upto = ((done + 1) * batch).min(total);
        if done > 0 && (done * batch) >= total {
            return Ok(plan.complete(ReasonCode::Completed, format!("all {total} nodes updated")));
        }
        let wave = &serving[..upto];
        if !plan.ensure_loaded(wave, &d.to_version) {
            return Ok(plan.loading(&format!("{} on batch {}", d.to_version, done + 1)));
        }
        let table = plan.table(&d.to_version);
        plan.route(Plan::ids(wave), table);
        plan.progress.step = count(done + 1);
        plan.progress.nodes_updated = count(upto);
        plan.progress.traffic_percent = u8::try_from(upto * 100 / total).unwrap_or(100);
        plan.begin_step();
        let end = plan.step_ends(cfg.evaluation_period_secs);
        let batches = plan.progress.total_steps;
        Ok(plan.go_on(
            end,
            format!(
                "batch {} of {}: {upto} of {total} nodes on {}",
                done + 1,
                batches,
                d.to_version
            ),
        ))
    }
}

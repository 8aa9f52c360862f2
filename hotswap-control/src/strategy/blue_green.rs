//! Blue-green: green (the new version) loaded on every target node and
//! reachable by pin, then one switch of all traffic on every node; blue
//! stays loaded for the scale-down delay, so switching back is instant.

use chrono::{DateTime, Duration, Utc};

use super::plan::{Plan, count};
use super::{Decision, DeploymentStrategy, Observations};
use hotswap_core::domain::{
    BlueGreenConfig, HealthVerdict, ModuleDeployment, OperatorRequest, ReasonCode,
};
use hotswap_core::error::Result;

/// The blue-green strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreen(pub BlueGreenConfig);

fn secs(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

impl DeploymentStrategy for BlueGreen {
    fn name(&self) -> &'static str {
        "blue_green"
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
        plan.progress.total_steps = 2;
        plan.progress.nodes_targeted = count(serving.len());
        if let Some(switched) = plan.progress.blue_green().and_then(|b| b.switched_at) {
            // After the switch: watch green until blue may go.
            if let HealthVerdict::Unhealthy { reason } = plan.verdict() {
                return Ok(plan.rollback(
                    ReasonCode::HealthCheckFailed,
                    format!("switched back to blue: {reason}"),
                ));
            }
            let until = switched + secs(cfg.scale_down_delay_secs);
            if now < until {
                return Ok(plan.go_on(
                    Some(until),
                    "green serves; blue kept for instant switch-back",
                ));
            }
            return Ok(plan.complete(ReasonCode::Completed, "scale-down delay over; blue dropped"));
        }
        if serving.is_empty() {
            return Ok(plan.go_on(None, "no serving target node; waiting for one"));
        }
        if !plan.ensure_loaded(&serving, &d.to_version) {
            return Ok(plan.loading(&format!("green ({}) on every target node", d.to_version)));
        }
        let Some(blue) = d.from_version.clone() else {
            return Ok(plan.complete(
                ReasonCode::Completed,
                "first deployment: green takes all traffic",
            ));
        };
        if plan.progress.step_started_at.is_none() {
            // Green is ready everywhere: expose it to pinned calls.
            let mut table = plan.table(&blue);
            if cfg.preview {
                table.pinnable.push(d.to_version.clone());
            }
            plan.route(Plan::ids(&serving), table);
            plan.begin_step();
            let next = cfg.auto_promote_after_secs.and_then(|s| plan.step_ends(s));
            return Ok(plan.go_on(next, "green loaded on every target node; waiting to switch"));
        }
        if let HealthVerdict::Unhealthy { reason } = plan.verdict() {
            return Ok(plan.rollback(
                ReasonCode::HealthCheckFailed,
                format!("green failed in preview: {reason}"),
            ));
        }
        let code = match plan.progress.request.take() {
            Some(OperatorRequest::Promote { .. }) => ReasonCode::ManualPromote,
            _ => match cfg.auto_promote_after_secs {
                Some(s) if plan.step_elapsed(s) => ReasonCode::StepAdvanced,
                Some(s) => {
                    let at = plan.step_ends(s);
                    return Ok(plan.go_on(at, "green in preview until automatic promotion"));
                }
                None => return Ok(plan.go_on(None, "green in preview; promote to switch")),
            },
        };
        // The switch: every serving node at once, blue still pinnable.
        let mut table = plan.table(&d.to_version);
        table.pinnable.push(blue);
        plan.route(Plan::ids(&serving), table);
        plan.progress.step = 1;
        plan.progress.traffic_percent = 100;
        plan.progress.nodes_updated = count(serving.len());
        plan.progress.blue_green_mut().switched_at = Some(now);
        plan.begin_step();
        let until = now + secs(cfg.scale_down_delay_secs);
        let mut decision = plan.go_on(Some(until), "switched all traffic to green");
        decision.transition = Some((
            hotswap_core::domain::DeploymentPhase::Progressing,
            code,
            "switched all traffic to green".into(),
        ));
        Ok(decision)
    }
}

//! Regional: an inner strategy run one region at a time in the configured
//! order, with a wait between regions through which the regions done must
//! stay healthy; a failing region rolls back alone or takes every region
//! with it, by policy.

use chrono::{DateTime, Duration, Utc};

use super::plan::Plan;
use super::{Decision, DeploymentStrategy, Observations, decide};
use hotswap_core::domain::{
    DeploymentPhase, DeploymentProgress, HealthVerdict, ModuleDeployment, ReasonCode,
    RegionalConfig, RegionalRollback,
};
use hotswap_core::error::Result;

/// The regional strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Regional(pub RegionalConfig);

impl DeploymentStrategy for Regional {
    fn name(&self) -> &'static str {
        "regional"
    }

    fn evaluation_periods(&self) -> Vec<(String, u64)> {
        let inner = super::for_config(&self.0.inner).evaluation_periods();
        inner
            .into_iter()
            .map(|(field, secs)| (format!("inner.{field}"), secs))
            .collect()
    }

    /// Regions done, plus the share of the current region's steps.
    fn done(&self, progress: &DeploymentProgress) -> f64 {
        let Some(r) = progress.regional() else {
            return 0.0;
        };
        let inner = r.inner.as_deref().map_or(0.0, super::steps_done);
        (f64::from(r.stage) + inner) / f64::from(r.total_stages.max(1))
    }

    fn decide(
        &self,
        d: &ModuleDeployment,
        obs: &Observations,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let cfg = &self.0;
        let mut plan = Plan::new(d, obs, now);
        let state = plan.progress.regional_mut();
        state.total_stages = super::plan::count(cfg.regions.len());
        let stage = state.stage as usize;
        let Some(region) = cfg.regions.get(stage) else {
            return Ok(plan.complete(ReasonCode::Completed, "every region is done"));
        };
        let Some(inner) = plan.progress.regional_mut().inner.take() else {
            if stage > 0 {
                // Between regions: the regions done must stay healthy.
                if let HealthVerdict::Unhealthy { reason } = plan.verdict() {
                    return Ok(plan.rollback(
                        ReasonCode::HealthCheckFailed,
                        format!("regions done turned unhealthy before {region}: {reason}"),
                    ));
                }
                if !plan.step_elapsed(cfg.inter_region_wait_secs) {
                    let end = plan.step_ends(cfg.inter_region_wait_secs);
                    return Ok(plan.go_on(end, format!("waiting before region {region}")));
                }
            }
            plan.progress.regional_mut().inner = Some(Box::default());
            return Ok(plan.go_on(Some(now), format!("starting region {region}")));
        };
        let mut sub = d.clone();
        sub.strategy = (*cfg.inner).clone();
        sub.progress = (*inner).clone();
        sub.progress.routing_revision = plan.progress.routing_revision;
        let scoped = obs.in_region(region);
        let decision = decide(&sub, &scoped, now)?;
        plan.progress.routing_revision = decision.progress.routing_revision;
        plan.progress.traffic_percent = decision.progress.traffic_percent;
        plan.progress.step = decision.progress.step;
        plan.progress.total_steps = decision.progress.total_steps;
        let phase = decision.transition.as_ref().map(|t| t.0);
        match phase {
            None | Some(DeploymentPhase::Progressing) => {
                plan.extend(decision.actions);
                plan.progress.regional_mut().inner = Some(Box::new(decision.progress));
                let mut out =
                    plan.go_on(decision.next_check, format!("{region}: {}", decision.note));
                out.transition = decision.transition;
                Ok(out)
            }
            Some(DeploymentPhase::Succeeded) => {
                plan.extend(decision.actions);
                let next = stage + 1;
                if next == cfg.regions.len() {
                    let note = format!("{region} done; every region runs {}", d.to_version);
                    let mut out = plan.end(DeploymentPhase::Succeeded, ReasonCode::Completed, note);
                    out.progress.regional_mut().stage = super::plan::count(next);
                    return Ok(out);
                }
                plan.progress.regional_mut().stage = super::plan::count(next);
                plan.begin_step();
                let wait = Duration::seconds(
                    i64::try_from(cfg.inter_region_wait_secs).unwrap_or(i64::MAX),
                );
                Ok(plan.go_on(
                    Some(now + wait),
                    format!("{region} done; next is {}", cfg.regions[next]),
                ))
            }
            Some(DeploymentPhase::RolledBack) => {
                let (_, code, why) = decision.transition.unwrap_or((
                    DeploymentPhase::RolledBack,
                    ReasonCode::HealthCheckFailed,
                    String::new(),
                ));
                match cfg.on_failure {
                    RegionalRollback::Region => {
                        plan.extend(decision.actions);
                        let kept = &cfg.regions[..stage];
                        let note = if kept.is_empty() {
                            format!("{region} rolled back: {why}")
                        } else {
                            let kept: Vec<String> = kept.iter().map(ToString::to_string).collect();
                            format!(
                                "{region} rolled back: {why}; {} keep {}",
                                kept.join(", "),
                                d.to_version
                            )
                        };
                        plan.progress.regional_mut().inner = Some(Box::new(decision.progress));
                        Ok(plan.end(DeploymentPhase::RolledBack, code, note))
                    }
                    RegionalRollback::Global => Ok(plan.rollback(
                        code,
                        format!("{region} failed, every region rolls back: {why}"),
                    )),
                }
            }
            Some(_) => {
                plan.extend(decision.actions);
                plan.progress.regional_mut().inner = Some(Box::new(decision.progress));
                let (phase, code, why) = decision.transition.unwrap_or((
                    DeploymentPhase::Paused,
                    ReasonCode::Inconclusive,
                    String::new(),
                ));
                Ok(plan.end(phase, code, format!("{region}: {why}")))
            }
        }
    }
}

//! A/B test: variants side by side, split by weight, by a header naming
//! the variant, or by the routing key (sticky); statistics per variant;
//! an operator promotes the chosen one. A variant that turns unhealthy
//! ends the test with a rollback.

use chrono::{DateTime, Utc};

use super::plan::{Plan, count};
use super::{Decision, DeploymentStrategy, Observations};
use hotswap_core::domain::{
    AbTestConfig, DeploymentPhase, HealthVerdict, ModuleDeployment, OperatorRequest, ReasonCode,
    RouteMatch, RouteRule, RoutingTable, SplitBy,
};
use hotswap_core::error::{Error, Result};

/// The A/B test strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct AbTest(pub AbTestConfig);

/// The routing of `cfg` on top of `table`: header rules first (when split
/// by header), then one bucket range per variant by weight. Buckets come
/// from the routing key when the call has one, so a key always sees one
/// variant.
fn split(cfg: &AbTestConfig, mut table: RoutingTable) -> RoutingTable {
    if let SplitBy::Header { name } = &cfg.split {
        for v in &cfg.variants {
            table.rules.push(RouteRule {
                when: RouteMatch::Header {
                    name: name.clone(),
                    value: v.name.clone(),
                },
                version: v.version.clone(),
            });
        }
    }
    let mut from = 0u8;
    for v in &cfg.variants {
        if v.weight == 0 {
            continue;
        }
        let to = from + v.weight;
        table.rules.push(RouteRule {
            when: RouteMatch::Buckets { from, to },
            version: v.version.clone(),
        });
        from = to;
    }
    table
}

impl DeploymentStrategy for AbTest {
    fn name(&self) -> &'static str {
        "ab_test"
    }

    fn versions(&self, d: &ModuleDeployment) -> Vec<semver::Version> {
        let mut out = vec![d.to_version.clone()];
        out.extend(d.from_version.iter().cloned());
        for v in &self.0.variants {
            if !out.contains(&v.version) {
                out.push(v.version.clone());
            }
        }
        out
    }

    fn evaluation_periods(&self) -> Vec<(String, u64)> {
        self.0
            .duration_secs
            .map(|secs| ("duration_secs".to_owned(), secs))
            .into_iter()
            .collect()
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
        plan.progress.total_steps = 1;
        plan.progress.nodes_targeted = count(serving.len());
        if serving.is_empty() {
            return Ok(plan.go_on(None, "no serving target node; waiting for one"));
        }
        let mut ready = true;
        for v in &cfg.variants {
            ready &= plan.ensure_loaded(&serving, &v.version);
        }
        if !ready {
            return Ok(plan.loading("every variant on the target nodes"));
        }
        let stable = d
            .from_version
            .clone()
            .unwrap_or_else(|| d.to_version.clone());
        if plan.progress.step_started_at.is_none() {
            let table = plan.table(&stable);
            plan.route(Plan::ids(&serving), split(cfg, table));
            plan.progress.traffic_percent = cfg
                .variants
                .iter()
                .find(|v| v.version == d.to_version)
                .map_or(0, |v| v.weight);
            plan.progress.nodes_updated = count(serving.len());
            plan.begin_step();
            let end = cfg.duration_secs.and_then(|s| plan.step_ends(s));
            return Ok(plan.go_on(
                end,
                format!("A/B test running over {} variants", cfg.variants.len()),
            ));
        }
        let chosen = match plan.progress.request.take() {
            Some(OperatorRequest::PromoteVariant { name }) => {
                let Some(v) = cfg.variants.iter().find(|v| v.name == name) else {
                    return Err(Error::invalid(
                        "variant",
                        format!("the test has no variant named {name:?}"),
                    ));
                };
                Some(v)
            }
            Some(OperatorRequest::Promote { .. }) => {
                cfg.variants.iter().find(|v| v.version == d.to_version)
            }
            _ => None,
        };
        if let Some(winner) = chosen {
            let table = plan.table(&winner.version);
            plan.route(Plan::ids(&serving), table);
            let mut dropped: Vec<&semver::Version> =
                cfg.variants.iter().map(|v| &v.version).collect();
            dropped.extend(d.from_version.iter());
            dropped.sort();
            dropped.dedup();
            for v in dropped.into_iter().filter(|v| **v != winner.version) {
                plan.unload(&serving, v);
            }
            plan.progress.traffic_percent = if winner.version == d.to_version {
                100
            } else {
                0
            };
            let note = format!("variant {} ({}) promoted", winner.name, winner.version);
            return Ok(plan.end(DeploymentPhase::Succeeded, ReasonCode::ManualPromote, note));
        }
        for v in &cfg.variants {
            if Some(&v.version) == d.from_version.as_ref() {
                continue;
            }
            if let HealthVerdict::Unhealthy { reason } = plan.verdict_of(&v.version) {
                let mut decision = plan.rollback(
                    ReasonCode::HealthCheckFailed,
                    format!("variant {} ({}): {reason}", v.name, v.version),
                );
                // The rollback drops the new version; drop the other
                // variants too, after routing has left them.
                let others = cfg.variants.iter().filter(|o| {
                    o.version != d.to_version && Some(&o.version) != d.from_version.as_ref()
                });
                for o in others {
                    decision.actions.push(super::Action::Unload {
                        nodes: Plan::ids(&serving),
                        version: o.version.clone(),
                    });
                }
                return Ok(decision);
            }
        }
        match cfg.duration_secs {
            Some(s) if plan.step_elapsed(s) => Ok(plan.end(
                DeploymentPhase::Paused,
                ReasonCode::Completed,
                "the test ran its duration; promote a variant",
            )),
            Some(s) => {
                let end = plan.step_ends(s);
                Ok(plan.go_on(end, "A/B test running"))
            }
            None => Ok(plan.go_on(None, "A/B test running until a variant is promoted")),
        }
    }
}

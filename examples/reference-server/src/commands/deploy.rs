//! `hotswap deploy MODULE VERSION --strategy ...`.

use hotswap_core::domain::{HealthCriteria, InconclusivePolicy, StrategyConfig};
use hotswap_http::wire::CreateDeployment;
use serde_json::json;

use super::{client, print_json, rollout};
use crate::AppResult;
use crate::cli::{DeployArgs, StrategyChoice};

/// The strategy the options describe, as the API's JSON, so its checks
/// name the option at fault; `None` when no strategy option is given (the
/// module's policy decides).
fn strategy(a: &DeployArgs, from: Option<&str>) -> AppResult<Option<StrategyConfig>> {
    let given = a.strategy.is_some()
        || !a.steps.is_empty()
        || a.period_secs.is_some()
        || a.batch.is_some()
        || a.split.is_some();
    if !given {
        return Ok(None);
    }
    let period = a.period_secs;
    let canary = || {
        let mut c = json!({"type": "canary"});
        if !a.steps.is_empty() {
            c["steps"] = json!(a.steps);
        }
        if let Some(p) = period {
            c["evaluation_period_secs"] = json!(p);
        }
        c
    };
    let value = match a.strategy.unwrap_or(StrategyChoice::Canary) {
        StrategyChoice::Canary => canary(),
        StrategyChoice::BlueGreen => {
            let mut c = json!({"type": "blue_green", "preview": false});
            if let Some(p) = period {
                c["scale_down_delay_secs"] = json!(p);
            }
            c
        }
        StrategyChoice::Rolling => {
            let mut c = json!({"type": "rolling"});
            if let Some(n) = a.batch {
                c["batch"] = json!({"count": n});
            }
            if let Some(p) = period {
                c["evaluation_period_secs"] = json!(p);
            }
            c
        }
        StrategyChoice::Regional => {
            if a.regions.is_empty() {
                return Err("a regional rollout needs --regions in their order".into());
            }
            json!({"type": "regional", "regions": a.regions, "inner": canary(),
                   "inter_region_wait_secs": period.unwrap_or(60)})
        }
        StrategyChoice::Ab => {
            let from = from.ok_or("an A/B test needs --from (the other variant's version)")?;
            let split = a.split.unwrap_or(50);
            json!({"type": "ab_test", "variants": [
                {"name": "a", "version": from, "weight": 100u8.saturating_sub(split)},
                {"name": "b", "version": a.version, "weight": split}]})
        }
    };
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| format!("strategy: {e}").into())
}

pub(crate) async fn run(a: DeployArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    // Health and target only when an option says so: the policy decides
    // otherwise.
    let health_given = a.max_error_rate.is_some()
        || a.min_samples.is_some()
        || a.max_p99_ratio.is_some()
        || a.rollback_when_inconclusive;
    let health = health_given.then(|| {
        let mut health = HealthCriteria::default();
        if let Some(r) = a.max_error_rate {
            health.max_error_rate = r;
        }
        if let Some(n) = a.min_samples {
            health.min_samples = n;
        }
        if let Some(r) = a.max_p99_ratio {
            health.max_p99_ratio = r;
        }
        if a.rollback_when_inconclusive {
            health.on_inconclusive = InconclusivePolicy::Rollback;
        }
        health
    });
    let target = if a.regions.is_empty() {
        None
    } else {
        Some(serde_json::from_value(json!({"regions": a.regions}))?)
    };
    let req = CreateDeployment {
        module: hotswap_core::domain::ModuleName::new(a.module.clone())?,
        to_version: a.version.clone(),
        from_version: a.from.clone(),
        strategy: strategy(&a, a.from.as_deref())?,
        target,
        health,
        stale_nodes: None,
        hooks: Vec::new(),
        environment: serde_json::from_value(json!(a.environment)).map_err(|_| {
            format!(
                "{:?} is not development, staging or production",
                a.environment
            )
        })?,
        config_revision: a.config_revision,
        start: !a.no_start,
    };
    let d = c.create_deployment(&req).await?;
    if a.client.json && !a.watch {
        return print_json(&d);
    }
    println!("deployment {} ({:?})", d.id, d.phase);
    if a.watch {
        rollout::watch(&c, d.id).await?;
    }
    Ok(())
}

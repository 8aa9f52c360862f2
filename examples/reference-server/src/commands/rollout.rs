//! `hotswap rollout status|pause|resume|promote|abort|rollback ID`, and
//! the progress display `deploy --watch` and `status --watch` share.

use futures::StreamExt;
use hotswap_core::domain::{DeploymentId, DeploymentPhase};
use hotswap_http::client::{ControlPlaneClient, DeploymentAction};
use hotswap_http::wire::{DeploymentView, PromoteRequest};
use indicatif::{ProgressBar, ProgressStyle};

use super::{client, print_json, print_table};
use crate::AppResult;
use crate::cli::{RolloutAction, RolloutArgs};

pub(crate) async fn run(a: RolloutArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let id: DeploymentId =
        a.id.parse()
            .map_err(|e| format!("{:?} is not a deployment id: {e}", a.id))?;
    let view = match a.action {
        RolloutAction::Status if a.watch => return watch(&c, id).await,
        RolloutAction::Status => c.deployment(id).await?,
        RolloutAction::Pause => c.act(id, DeploymentAction::Pause).await?,
        RolloutAction::Resume => c.act(id, DeploymentAction::Resume).await?,
        RolloutAction::Abort => c.act(id, DeploymentAction::Abort).await?,
        RolloutAction::Rollback => c.act(id, DeploymentAction::Rollback).await?,
        RolloutAction::Promote => {
            let req = PromoteRequest {
                full: a.full,
                variant: a.variant,
            };
            c.promote(id, &req).await?
        }
    };
    if a.client.json {
        return print_json(&view);
    }
    print_status(&view);
    Ok(())
}

/// One line: phase, step, traffic, nodes.
pub(crate) fn summary(v: &DeploymentView) -> String {
    let d = &v.deployment;
    let p = &d.progress;
    let total = p.total_steps.max(1);
    let step = if d.phase == DeploymentPhase::Succeeded {
        total
    } else {
        (p.step + 1).min(total)
    };
    let stage = match p.regional() {
        Some(r) if r.total_stages > 0 => format!(
            " · region {}/{}",
            (r.stage + 1).min(r.total_stages),
            r.total_stages
        ),
        _ => String::new(),
    };
    format!(
        "{} {}@{} · {:?} · step {step}/{total}{stage} · {}% traffic · {}/{} nodes updated",
        d.strategy.name(),
        d.module,
        d.to_version,
        d.phase,
        p.traffic_percent,
        p.nodes_updated,
        p.nodes_targeted,
    )
}

/// The health line of the latest evaluation, from its event's data.
fn health(v: &DeploymentView) -> Option<String> {
    let to = v.deployment.to_version.to_string();
    v.events.iter().rev().find_map(|e| {
        let stats = e.data.get("stats")?.as_array()?;
        let s = stats
            .iter()
            .find(|s| s.get("version").and_then(|v| v.as_str()) == Some(to.as_str()))?;
        let calls = s.get("calls")?.as_u64()?;
        let errors = s.get("errors")?.as_u64()?;
        let p99 = s.get("p99_us")?.as_u64().unwrap_or(0);
        let rate = if calls == 0 {
            0.0
        } else {
            errors as f64 / calls as f64 * 100.0
        };
        Some(format!(
            "health: {calls} calls, {rate:.1}% errors, p99 {:.1} ms",
            p99 as f64 / 1000.0
        ))
    })
}

fn print_status(v: &DeploymentView) {
    println!("{}", summary(v));
    println!(
        "reason: {:?}: {}",
        v.deployment.reason.code, v.deployment.reason.message
    );
    if let Some(h) = health(v) {
        println!("{h}");
    }
    let rows: Vec<Vec<String>> = v
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                n.region.clone(),
                format!("{:?}", n.status).to_lowercase(),
                if n.has_new { "yes" } else { "no" }.into(),
                if n.has_old { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    print_table(&["NODE", "REGION", "STATUS", "NEW", "OLD"], &rows);
    println!("events:");
    for e in &v.events {
        println!("  {} {:?}: {}", e.at.format("%H:%M:%S"), e.kind, e.message);
    }
}

/// Times in a row the event stream may break (or fail to open) before
/// `--watch` gives up; each view that arrives starts the count again.
const STREAM_RETRIES: u32 = 5;

/// Follow deployment `id` until it ends, from the control plane's event
/// stream, following it again when it breaks (a replica restarting behind
/// a load balancer); the exit is an error unless it succeeded.
pub(crate) async fn watch(c: &ControlPlaneClient, id: DeploymentId) -> AppResult<()> {
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{bar:30.cyan/blue} {pos:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let say = |line: String| {
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
    };
    let mut seen = 0usize;
    let mut broken = 0u32;
    loop {
        let why = match c.follow(id).await {
            Err(e) => e,
            Ok(mut views) => loop {
                match views.next().await {
                    None => {
                        break hotswap_core::Error::unavailable(
                            "control plane",
                            true,
                            "the event stream closed before the deployment ended",
                        );
                    }
                    Some(Err(e)) => break e,
                    Some(Ok(v)) => {
                        broken = 0;
                        for e in v.events.iter().skip(seen) {
                            say(format!(
                                "{} {:?}: {}",
                                e.at.format("%H:%M:%S"),
                                e.kind,
                                e.message
                            ));
                        }
                        seen = v.events.len();
                        bar.set_position(u64::from(v.percent));
                        let health = health(&v).map(|h| format!(" · {h}")).unwrap_or_default();
                        bar.set_message(format!("{}{health}", summary(&v)));
                        if v.deployment.phase.is_terminal() {
                            bar.finish();
                            if bar.is_hidden() {
                                println!("{}", summary(&v));
                            }
                            return match v.deployment.phase {
                                DeploymentPhase::Succeeded => Ok(()),
                                phase => Err(format!(
                                    "the deployment ended {phase:?}: {}",
                                    v.deployment.reason.message
                                )
                                .into()),
                            };
                        }
                    }
                }
            },
        };
        broken += 1;
        if !why.is_temporary() || broken > STREAM_RETRIES {
            return Err(why.into());
        }
        eprintln!("{why}; following deployment {id} again");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

//! `hotswap apply` and `hotswap diff`: make a fleet match desired-state
//! files, or show how it differs.

use crate::AppResult;
use crate::cli::{ApplyArgs, DiffArgs};
use crate::desired::load;
use crate::desired::plan::{Plan, plan};

use super::{client, print_json};

pub(crate) async fn apply(a: ApplyArgs) -> AppResult<()> {
    let desired = load(&a.files)?;
    let c = client(&a.client)?;
    let plan = plan(&desired, &c).await?;
    show(&plan, a.client.json)?;
    if !plan.refusals.is_empty() {
        return Err(format!(
            "{} difference(s) apply does not resolve; nothing was changed",
            plan.refusals.len()
        )
        .into());
    }
    if a.dry_run {
        return Ok(());
    }
    let total = plan.changes.len();
    for (made, change) in plan.changes.iter().enumerate() {
        match change.apply(&c).await {
            Ok(done) if !a.client.json => println!("{done}"),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "{e}\nwhile applying: {change}\n{made} of {total} change(s) made before it, \
                     the rest not tried; mend the cause and apply again"
                )
                .into());
            }
        }
    }
    Ok(())
}

pub(crate) async fn diff(a: DiffArgs) -> AppResult<()> {
    let desired = load(&a.files)?;
    let c = client(&a.client)?;
    let plan = plan(&desired, &c).await?;
    show(&plan, a.client.json)?;
    let differences = plan.changes.len() + plan.refusals.len();
    if differences > 0 {
        return Err(format!("the fleet differs from the files in {differences} way(s)").into());
    }
    Ok(())
}

/// Print the plan: one line per change, `!` before each refusal, `=`
/// before each rollout under way.
fn show(plan: &Plan<'_>, json: bool) -> AppResult<()> {
    if json {
        let changes: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
        return print_json(&serde_json::json!({
            "changes": changes,
            "refusals": plan.refusals,
            "under_way": plan.under_way,
        }));
    }
    if plan.changes.is_empty() && plan.refusals.is_empty() {
        println!("the fleet matches the files");
    }
    for change in &plan.changes {
        println!("{change}");
    }
    for refusal in &plan.refusals {
        println!("! {refusal}");
    }
    for rollout in &plan.under_way {
        println!("= {rollout}");
    }
    Ok(())
}

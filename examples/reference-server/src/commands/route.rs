//! `hotswap route add|list|delete`.

use hotswap_core::domain::{HttpRoute, ModuleName, RouteId};
use hotswap_http::wire::{CreateRoute, RouteChanged, RouteListQuery};

use super::{client, print_json, print_table};
use crate::AppResult;
use crate::cli::{IdArgs, RouteAddArgs, RouteCommand, RouteListArgs};

pub(crate) async fn run(cmd: RouteCommand) -> AppResult<()> {
    match cmd {
        RouteCommand::Add(a) => add(a).await,
        RouteCommand::List(a) => list(a).await,
        RouteCommand::Delete(a) => delete(a).await,
    }
}

fn row(r: &HttpRoute) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.host.clone(),
        r.path_prefix.clone(),
        r.module.to_string(),
    ]
}

const HEADER: &[&str] = &["ID", "HOST", "PATH", "MODULE"];

/// Print a change, and on stderr the nodes that did not take it.
fn report(done: &RouteChanged, json: bool, verb: &str) -> AppResult<()> {
    if json {
        return print_json(done);
    }
    println!(
        "{verb} route {} ({}{} -> {}), revision {}, on {} node(s)",
        done.route.id,
        done.route.host,
        done.route.path_prefix,
        done.route.module,
        done.revision,
        done.pushed.len()
    );
    for failed in &done.push_failed {
        eprintln!("not pushed yet (reconciliation retries): {failed}");
    }
    Ok(())
}

async fn add(a: RouteAddArgs) -> AppResult<()> {
    let req = CreateRoute {
        host: a.host,
        path_prefix: a.path,
        module: ModuleName::new(a.module)?,
    };
    let done = client(&a.client)?.create_route(&req).await?;
    report(&done, a.client.json, "created")
}

async fn list(a: RouteListArgs) -> AppResult<()> {
    let query = RouteListQuery { module: a.module };
    let set = client(&a.client)?.list_routes(&query).await?;
    if a.client.json {
        return print_json(&set);
    }
    let rows: Vec<Vec<String>> = set.routes.iter().map(row).collect();
    print_table(HEADER, &rows);
    Ok(())
}

async fn delete(a: IdArgs) -> AppResult<()> {
    let id: RouteId = a.id.parse()?;
    let done = client(&a.client)?.delete_route(id).await?;
    report(&done, a.client.json, "deleted")
}

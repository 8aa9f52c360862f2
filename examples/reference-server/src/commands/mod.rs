//! The client commands: talk to a control plane over its API.

pub(crate) mod apply;
pub(crate) mod call;
pub(crate) mod config;
pub(crate) mod deploy;
pub(crate) mod interface;
pub(crate) mod module;
pub(crate) mod nodes;
pub(crate) mod rollout;
pub(crate) mod route;
pub(crate) mod token;

use std::path::Path;

use hotswap_core::domain::WasmModule;
use hotswap_http::auth::TokenSource;
use hotswap_http::client::{ClientConfig, ControlPlaneClient};
use hotswap_http::wire::ModuleListQuery;
use serde::Serialize;

use crate::AppResult;
use crate::cli::ClientArgs;
use crate::roles::serve::DEFAULT_DATA_DIR;

/// A client of the control plane the options name. Without a token, the
/// development admin token `hotswap serve` wrote is used when present.
pub(crate) fn client(args: &ClientArgs) -> AppResult<ControlPlaneClient> {
    let token = match &args.token {
        Some(t) => TokenSource::Static(t.clone()),
        None => match std::fs::read_to_string(Path::new(DEFAULT_DATA_DIR).join("admin-token")) {
            Ok(t) => TokenSource::Static(t.trim().to_owned()),
            Err(_) => TokenSource::None,
        },
    };
    Ok(ControlPlaneClient::new(
        &args.url,
        token,
        ClientConfig::default(),
    )?)
}

/// Every module version `query` matches, page after page.
pub(crate) async fn all_modules(
    c: &ControlPlaneClient,
    mut query: ModuleListQuery,
) -> AppResult<Vec<WasmModule>> {
    let mut all = Vec::new();
    loop {
        let page = c.list_modules(&query).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Print `value` as pretty JSON.
pub(crate) fn print_json(value: &impl Serialize) -> AppResult<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Print rows under a header, columns padded to their widest cell.
pub(crate) fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

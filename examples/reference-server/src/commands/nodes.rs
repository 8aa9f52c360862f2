//! `hotswap nodes`.

use hotswap_http::wire::NodeListQuery;

use super::{client, print_json, print_table};
use crate::AppResult;
use crate::cli::ClientArgs;

pub(crate) async fn run(a: ClientArgs) -> AppResult<()> {
    let c = client(&a)?;
    let mut query = NodeListQuery::default();
    let mut all = Vec::new();
    loop {
        let page = c.list_nodes(&query).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    if a.json {
        return print_json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|n| {
            let loaded: Vec<String> = n
                .loaded
                .iter()
                .map(|l| format!("{}@{}", l.module, l.version))
                .collect();
            vec![
                n.name.clone(),
                n.region.to_string(),
                format!("{:?}", n.status).to_lowercase(),
                n.endpoint.clone(),
                n.metrics.in_flight.to_string(),
                loaded.join(","),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "REGION",
            "STATUS",
            "ENDPOINT",
            "IN-FLIGHT",
            "LOADED",
        ],
        &rows,
    );
    Ok(())
}

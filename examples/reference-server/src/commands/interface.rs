//! `hotswap interface push|validate|list|show|approve|mode`.

use hotswap_core::Error;
use hotswap_core::domain::InterfaceId;
use hotswap_core::interface::{CompatibilityMode, Finding, Protects, WitInterface};
use hotswap_http::client::ControlPlaneClient;
use hotswap_http::wire::{InterfaceListQuery, ValidationReport};
use hotswap_http::wit_payload::WitPayload;

use super::{client, print_json, print_table};
use crate::AppResult;
use crate::cli::{
    InterfaceCommand, InterfaceListArgs, InterfaceModeArgs, InterfacePathArgs, InterfacePushArgs,
    InterfaceRefArgs,
};

pub(crate) async fn run(cmd: InterfaceCommand) -> AppResult<()> {
    match cmd {
        InterfaceCommand::Push(a) => push(a).await,
        InterfaceCommand::Validate(a) => validate(a).await,
        InterfaceCommand::List(a) => list(a).await,
        InterfaceCommand::Show(a) => show(a).await,
        InterfaceCommand::Approve(a) => approve(a).await,
        InterfaceCommand::Mode(a) => mode(a).await,
    }
}

async fn push(a: InterfacePushArgs) -> AppResult<()> {
    let payload = WitPayload::read(&a.path)?;
    let c = client(&a.client)?;
    match c
        .push_interface(&payload, a.override_reason.as_deref())
        .await
    {
        Ok(i) if a.client.json => print_json(&i),
        Ok(i) => {
            let approval = if i.approval.is_some() {
                " (registered over its findings by an admin's override)"
            } else {
                ""
            };
            println!("registered {}{approval}\nid {}", i.reference(), i.id);
            Ok(())
        }
        // The refusal carries the findings as sentences; the dry run gives
        // them as fields, for the table.
        Err(Error::Incompatible { subject, .. }) => {
            let report = c.validate_interface(&payload).await?;
            refused(&report, a.client.json, &format!("{subject} is refused"))
        }
        Err(e) => Err(e.into()),
    }
}

async fn validate(a: InterfacePathArgs) -> AppResult<()> {
    let payload = WitPayload::read(&a.path)?;
    let report = client(&a.client)?.validate_interface(&payload).await?;
    let name = reference(&report);
    if report.compatible {
        if a.client.json {
            return print_json(&report);
        }
        println!(
            "{name} is compatible under {} ({})",
            report.mode,
            protects(&report.protects)
        );
        return Ok(());
    }
    refused(&report, a.client.json, &format!("{name} is incompatible"))
}

/// Print the findings of `report` and fail with `what`.
fn refused(report: &ValidationReport, json: bool, what: &str) -> AppResult<()> {
    if json {
        print_json(report)?;
    } else {
        print_findings(&report.findings);
    }
    Err(format!(
        "{what} under {} ({}): {} finding(s); an admin may register it anyway with --override-reason",
        report.mode,
        protects(&report.protects),
        report.findings.len()
    )
    .into())
}

fn print_findings(findings: &[Finding]) {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                f.rule.clone(),
                f.protects.to_string(),
                f.direction.clone(),
                f.path.clone(),
                f.old.clone().unwrap_or_else(|| "-".into()),
                f.new.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_table(
        &["RULE", "BREAKS", "DIRECTION", "PATH", "OLD", "NEW"],
        &rows,
    );
}

fn reference(report: &ValidationReport) -> String {
    match &report.version {
        Some(v) => format!("{}@{v}", report.package),
        None => report.package.to_string(),
    }
}

fn protects(sides: &[Protects]) -> String {
    match sides {
        [] => "protects no one".into(),
        sides => {
            let names: Vec<String> = sides.iter().map(ToString::to_string).collect();
            format!("protects {}", names.join(" and "))
        }
    }
}

async fn all(c: &ControlPlaneClient, package: Option<String>) -> AppResult<Vec<WitInterface>> {
    let mut query = InterfaceListQuery {
        package,
        ..InterfaceListQuery::default()
    };
    let mut all = Vec::new();
    loop {
        let page = c.list_interfaces(&query).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => return Ok(all),
        }
    }
}

async fn list(a: InterfaceListArgs) -> AppResult<()> {
    let all = all(&client(&a.client)?, a.package).await?;
    if a.client.json {
        return print_json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|i| {
            vec![
                i.package.to_string(),
                i.version.as_ref().map_or("-".into(), ToString::to_string),
                i.approval.as_ref().map_or("-".into(), |a| a.by.clone()),
                i.created_by.clone(),
                i.id.to_string(),
            ]
        })
        .collect();
    print_table(
        &["PACKAGE", "VERSION", "APPROVED BY", "CREATED BY", "ID"],
        &rows,
    );
    Ok(())
}

/// The version `text` names: an id, `package@version`, or `package` for
/// its latest version.
async fn find(c: &ControlPlaneClient, text: &str) -> AppResult<InterfaceId> {
    if let Ok(id) = text.parse::<InterfaceId>() {
        return Ok(id);
    }
    let (package, version) = match text.split_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (text, None),
    };
    let versions = all(c, Some(package.to_owned())).await?;
    let found = match version {
        Some(v) => versions
            .iter()
            .find(|i| i.version.as_ref().is_some_and(|iv| iv.to_string() == v)),
        // Listed oldest first.
        None => versions.last(),
    };
    found
        .map(|i| i.id)
        .ok_or_else(|| format!("no registered interface {text}").into())
}

async fn show(a: InterfaceRefArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let i = c.get_interface(find(&c, &a.interface).await?).await?;
    if a.client.json {
        return print_json(&i);
    }
    print!("{}", i.wit);
    Ok(())
}

async fn approve(a: InterfaceRefArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let i = c.approve_interface(find(&c, &a.interface).await?).await?;
    if a.client.json {
        return print_json(&i);
    }
    let by = i.approval.as_ref().map_or("?", |a| a.by.as_str());
    println!("{} approved by {by}", i.reference());
    Ok(())
}

async fn mode(a: InterfaceModeArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let m = match &a.mode {
        Some(mode) => {
            let mode: CompatibilityMode = mode.parse()?;
            c.set_package_mode(&a.package, mode).await?
        }
        None => c.package_mode(&a.package).await?,
    };
    if a.client.json {
        return print_json(&m);
    }
    println!("{}: {} ({})", m.package, m.mode, protects(&m.protects));
    Ok(())
}

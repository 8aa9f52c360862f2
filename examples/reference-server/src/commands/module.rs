//! `hotswap module push|list|delete`.

use hotswap_core::domain::{ConfigKey, KeyValueGrants, OutboundGrants, ResourceLimits};
use hotswap_http::wire::{ModuleListQuery, ModuleMetadata, parse_labels};

use super::{all_modules, client, print_json, print_table};
use crate::AppResult;
use crate::cli::{IdArgs, ListModulesArgs, ModuleCommand, ModuleRefArgs, PushArgs};

pub(crate) async fn run(cmd: ModuleCommand) -> AppResult<()> {
    match cmd {
        ModuleCommand::Push(a) => push(*a).await,
        ModuleCommand::List(a) => list(a).await,
        ModuleCommand::Show(a) => show(a).await,
        ModuleCommand::Delete(a) => delete(a).await,
    }
}

/// The binary in `path`; WebAssembly text (`.wat`) is assembled first.
fn read_module(path: &std::path::Path) -> AppResult<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .map_err(|e| format!("{}: {e}", path.display()).into());
    }
    Ok(bytes)
}

/// The grants `--allow-outbound` and `--max-outbound-requests` give.
fn outbound(a: &PushArgs) -> AppResult<Option<OutboundGrants>> {
    if a.allow_outbound.is_empty() && a.max_outbound_requests.is_none() {
        return Ok(None);
    }
    let mut grants = OutboundGrants::allowing(&a.allow_outbound)?;
    if let Some(n) = a.max_outbound_requests {
        grants.max_requests = n;
    }
    Ok(Some(grants))
}

/// The grants `--keyvalue-bucket` and `--max-value-bytes` give.
fn keyvalue(a: &PushArgs) -> AppResult<Option<KeyValueGrants>> {
    if a.keyvalue_bucket.is_empty() && a.max_value_bytes.is_none() {
        return Ok(None);
    }
    let mut grants = KeyValueGrants::of(&a.keyvalue_bucket)?;
    if let Some(n) = a.max_value_bytes {
        grants.max_value_bytes = n;
        grants.validate()?;
    }
    Ok(Some(grants))
}

async fn push(a: PushArgs) -> AppResult<()> {
    let bytes = read_module(&a.file)?;
    let limits = if a.timeout_ms.is_some() || a.max_memory_bytes.is_some() || a.fuel.is_some() {
        let mut l = ResourceLimits::default().with_fuel(a.fuel);
        if let Some(ms) = a.timeout_ms {
            l = l.with_timeout(std::time::Duration::from_millis(ms));
        }
        if let Some(m) = a.max_memory_bytes {
            l = l.with_max_memory_bytes(m);
        }
        Some(l)
    } else {
        None
    };
    let outbound = outbound(&a)?;
    let keyvalue = keyvalue(&a)?;
    let config_keys = a
        .config_key
        .iter()
        .map(|k| ConfigKey::new(k).map_err(|e| e.within("--config-key")))
        .collect::<Result<Vec<_>, _>>()?;
    let meta = ModuleMetadata {
        name: a.name,
        version: a.version,
        limits,
        labels: match &a.labels {
            Some(l) => parse_labels("labels", l)?,
            None => Default::default(),
        },
        outbound,
        keyvalue,
        config_keys,
        override_reason: a.override_reason,
    };
    let m = client(&a.client)?
        .upload_module(&meta, bytes.into())
        .await?;
    if a.client.json {
        return print_json(&m);
    }
    println!(
        "registered {}@{} ({:?}, {} bytes, sha256 {})\nid {}",
        m.name, m.version, m.kind, m.size_bytes, m.digest, m.id
    );
    if let Some(e) = m
        .exports
        .iter()
        .find(|e| hotswap_core::runtime::http::is_incoming_handler(&e.name))
    {
        println!(
            "serves HTTP through {} (add a route: hotswap route add)",
            e.name
        );
    }
    Ok(())
}

async fn list(a: ListModulesArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let query = ModuleListQuery {
        name: a.name,
        ..ModuleListQuery::default()
    };
    let all = all_modules(&c, query).await?;
    if a.client.json {
        return print_json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|m| {
            let exports: Vec<&str> = m.exports.iter().map(|e| e.name.as_str()).collect();
            vec![
                m.name.to_string(),
                m.version.to_string(),
                format!("{:?}", m.kind).to_lowercase(),
                m.size_bytes.to_string(),
                exports.join(","),
                m.id.to_string(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "VERSION", "KIND", "BYTES", "EXPORTS", "ID"],
        &rows,
    );
    Ok(())
}

async fn delete(a: IdArgs) -> AppResult<()> {
    let id =
        a.id.parse()
            .map_err(|e| format!("{:?} is not a module id: {e}", a.id))?;
    client(&a.client)?.delete_module(id).await?;
    println!("deleted {}", a.id);
    Ok(())
}

async fn show(a: ModuleRefArgs) -> AppResult<()> {
    let c = client(&a.client)?;
    let m = match a.module.parse() {
        Ok(id) => c.get_module(id).await?,
        Err(_) => {
            let Some((name, version)) = a.module.split_once('@') else {
                return Err(format!("{:?} is neither name@version nor an id", a.module).into());
            };
            let query = ModuleListQuery {
                name: Some(name.to_owned()),
                ..ModuleListQuery::default()
            };
            let page = c.list_modules(&query).await?;
            page.items
                .into_iter()
                .find(|m| m.version.to_string() == version)
                .ok_or_else(|| format!("no module version {}", a.module))?
        }
    };
    if a.client.json {
        return print_json(&m);
    }
    let exports: Vec<&str> = m.exports.iter().map(|e| e.name.as_str()).collect();
    println!(
        "{}  ({:?}, {} bytes, sha256 {})",
        m.reference(),
        m.kind,
        m.size_bytes,
        m.digest
    );
    println!("id        {}", m.id);
    println!("exports   {}", exports.join(", "));
    println!(
        "limits    timeout {} ms, memory {} bytes, {} instances at once",
        m.limits.timeout().as_millis(),
        m.limits.max_memory_bytes,
        m.limits.max_concurrent_instances
    );
    let o = &m.outbound;
    if o.is_empty() {
        println!("outbound  none (no destination is granted)");
    } else {
        let rules: Vec<String> = o.allow.iter().map(ToString::to_string).collect();
        println!("outbound  {}", rules.join(", "));
        println!(
            "          at most {} requests per call, connect {} ms, timeout {} ms, responses up to {} bytes",
            o.max_requests, o.connect_timeout_ms, o.timeout_ms, o.max_response_bytes
        );
    }
    let kv = &m.keyvalue;
    if kv.is_empty() {
        println!("keyvalue  none (no bucket is granted)");
    } else {
        let buckets: Vec<&str> = kv.buckets.iter().map(|b| b.as_str()).collect();
        println!("keyvalue  {}", buckets.join(", "));
        println!(
            "          keys up to {} bytes, values up to {} bytes",
            kv.max_key_bytes, kv.max_value_bytes
        );
    }
    if m.config_keys.is_empty() {
        println!("config    none (reads no configuration key)");
    } else {
        let keys: Vec<&str> = m.config_keys.iter().map(|k| k.as_str()).collect();
        println!("config    {}", keys.join(", "));
    }
    Ok(())
}

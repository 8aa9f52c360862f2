//! `hotswap config set|show`.

use hotswap_core::domain::{ConfigKey, ConfigPatch, ConfigView, ModuleName, SecretValue};

use super::{client, print_json, print_table};
use crate::AppResult;
use crate::cli::{ConfigCommand, ConfigSetArgs, ConfigShowArgs};

pub(crate) async fn run(cmd: ConfigCommand) -> AppResult<()> {
    match cmd {
        ConfigCommand::Set(a) => set(a).await,
        ConfigCommand::Show(a) => show(a).await,
    }
}

/// `KEY=REST` of option `option`, the key checked.
fn pair<'a>(option: &str, text: &'a str) -> AppResult<(ConfigKey, &'a str)> {
    let (key, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{option}: {text:?} is not KEY=..."))?;
    let key = ConfigKey::new(key).map_err(|e| format!("{option}: {e}"))?;
    Ok((key, rest))
}

fn patch(a: &ConfigSetArgs) -> AppResult<ConfigPatch> {
    let mut patch = ConfigPatch::default();
    for text in &a.values {
        let (key, value) = pair("VALUES", text)?;
        patch.values.insert(key, value.to_owned());
    }
    for text in &a.secret_env {
        let (key, var) = pair("--secret-env", text)?;
        let value = std::env::var(var)
            .map_err(|e| format!("--secret-env {key}: environment variable {var}: {e}"))?;
        patch.secrets.insert(key, SecretValue::new(value));
    }
    for text in &a.secret_file {
        let (key, path) = pair("--secret-file", text)?;
        let mut value = std::fs::read_to_string(path)
            .map_err(|e| format!("--secret-file {key}: cannot read {path}: {e}"))?;
        if value.ends_with('\n') {
            value.pop();
        }
        patch.secrets.insert(key, SecretValue::new(value));
    }
    for key in &a.unset {
        patch
            .remove
            .push(ConfigKey::new(key.as_str()).map_err(|e| format!("--unset: {e}"))?);
    }
    Ok(patch)
}

async fn set(a: ConfigSetArgs) -> AppResult<()> {
    let module = ModuleName::new(a.module.clone())?;
    let patch = patch(&a)?;
    let view = client(&a.client)?.set_config(&module, &patch).await?;
    report(&view, a.client.json)
}

async fn show(a: ConfigShowArgs) -> AppResult<()> {
    let module = ModuleName::new(a.module.clone())?;
    let c = client(&a.client)?;
    let view = match a.revision {
        Some(r) => c.config_revision(&module, r).await?,
        None => c.config(&module).await?,
    };
    report(&view, a.client.json)
}

fn report(view: &ConfigView, json: bool) -> AppResult<()> {
    if json {
        return print_json(view);
    }
    println!(
        "{} revision {} by {} at {}",
        view.module,
        view.revision,
        view.created_by,
        view.created_at.to_rfc3339()
    );
    let mut rows: Vec<Vec<String>> = view
        .values
        .iter()
        .map(|(k, v)| vec![k.to_string(), "value".into(), v.clone()])
        .collect();
    rows.extend(view.secrets.iter().map(|s| {
        vec![
            s.key.to_string(),
            "secret".into(),
            format!("(set in revision {})", s.set_in),
        ]
    }));
    print_table(&["KEY", "KIND", "VALUE"], &rows);
    Ok(())
}

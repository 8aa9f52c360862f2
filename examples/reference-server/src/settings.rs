//! The configuration file: a flat TOML table whose keys are the options'
//! environment names without `HOTSWAP_`, lower case (`database_url`,
//! `s3_bucket`, `listen`, ...). Its values fill the environment variables
//! that are not set already, before the command line is read, so a flag
//! beats the environment, which beats the file. A key no option of the
//! command knows is refused, naming the key and the options there are.

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

/// The environment names of every option of `command` (the subcommand path
/// as given on the command line).
fn known_env(path: &[String]) -> BTreeSet<String> {
    let mut cmd = Cli::command();
    let mut found = BTreeSet::new();
    let mut collect = |c: &clap::Command| {
        for arg in c.get_arguments() {
            if let Some(env) = arg.get_env() {
                found.insert(env.to_string_lossy().into_owned());
            }
        }
    };
    collect(&cmd);
    for name in path {
        match cmd.find_subcommand(name) {
            Some(sub) => {
                cmd = sub.clone();
                collect(&cmd);
            }
            None => break,
        }
    }
    found
}

/// The `--config` value and the subcommand words of `argv`.
fn scan(argv: &[String]) -> (Option<String>, Vec<String>) {
    let mut config = std::env::var("HOTSWAP_CONFIG").ok();
    let mut words = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--config" {
            config = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--config=") {
            config = Some(v.to_owned());
        } else if a.starts_with('-') {
            continue;
        } else if words.len() < 2 {
            words.push(a.clone());
        }
    }
    (config, words)
}

fn value_text(key: &str, v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| value_text(key, i))
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        _ => return Err(format!("{key}: use a string, number, boolean or list")),
    })
}

/// The environment assignments the configuration file of `argv` asks for
/// (those not set already).
pub(crate) fn from_file(argv: &[String]) -> Result<Vec<(String, String)>, String> {
    let (config, words) = scan(argv);
    let Some(path) = config else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(Path::new(&path))
        .map_err(|e| format!("cannot read the configuration file {path}: {e}"))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("configuration file {path}: {e}"))?;
    let known = known_env(&words);
    let mut out = Vec::new();
    for (key, value) in &table {
        let env = format!("HOTSWAP_{}", key.to_ascii_uppercase());
        if !known.contains(&env) {
            let names: Vec<String> = known
                .iter()
                .filter_map(|k| k.strip_prefix("HOTSWAP_"))
                .filter(|k| *k != "CONFIG")
                .map(str::to_ascii_lowercase)
                .collect();
            return Err(format!(
                "configuration file {path}: unknown key {key:?} for `{}`; known keys: {}",
                words.join(" "),
                names.join(", ")
            ));
        }
        if std::env::var_os(&env).is_none() {
            out.push((
                env,
                value_text(key, value).map_err(|e| format!("{path}: {e}"))?,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_become_environment_names_and_unknown_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cp.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9\"\ns3_bucket = \"b\"\njwt_public_keys = [\"a.pem\", \"b.pem\"]\ntick_ms = 250\nmax_in_flight = 32\n",
        )
        .unwrap();
        let path = file.to_string_lossy().to_string();
        let set = from_file(&argv(&["hotswap", "control-plane", "--config", &path])).unwrap();
        let get = |k: &str| set.iter().find(|(e, _)| e == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOTSWAP_LISTEN"), Some("127.0.0.1:9"));
        assert_eq!(get("HOTSWAP_S3_BUCKET"), Some("b"));
        assert_eq!(get("HOTSWAP_JWT_PUBLIC_KEYS"), Some("a.pem,b.pem"));
        assert_eq!(get("HOTSWAP_TICK_MS"), Some("250"));
        assert_eq!(get("HOTSWAP_MAX_IN_FLIGHT"), Some("32"));

        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = from_file(&argv(&["hotswap", "control-plane", "--config", &path])).unwrap_err();
        assert!(err.contains("unknown key \"lisen\""), "{err}");
        assert!(err.contains("listen"), "{err}");
        // An edge node has no database.
        std::fs::write(&file, "database_url = \"postgres://x\"\n").unwrap();
        let err = from_file(&argv(&["hotswap", "edge", "--config", &path])).unwrap_err();
        assert!(err.contains("unknown key \"database_url\""), "{err}");
    }
}

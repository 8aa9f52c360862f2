//! Configuration bound to deployments, over in-memory repositories and a
//! simulated fleet: a canary runs the candidate with the new revision while
//! the stable version keeps the old one, a rollback restores the old
//! values, and refused changes store nothing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use hotswap_control::ConfigService;
use hotswap_core::domain::{
    CanaryConfig, ConfigKey, ConfigPatch, DeploymentPhase, ModuleName, SecretValue, StrategyConfig,
};
use hotswap_core::repository::{ConfigRepository, ModuleRepository, NodeRepository};
use hotswap_core::secrets::SecretsKey;
use hotswap_core::{Error, ResourceKind};
use hotswap_testkit::sample;
use hotswap_testkit::simulation::Simulation as World;
use semver::Version;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn key(s: &str) -> ConfigKey {
    ConfigKey::new(s).unwrap()
}

fn canary() -> StrategyConfig {
    StrategyConfig::Canary(CanaryConfig::new(
        vec![10, 50, 100],
        Duration::from_secs(60),
    ))
}

fn service(w: &World, with_key: bool) -> ConfigService {
    ConfigService::new(
        w.configs.clone(),
        w.modules.clone(),
        Arc::new(w.clock.clone()),
        with_key.then(|| Arc::new(SecretsKey::from_bytes(&[7; 32]).unwrap())),
    )
}

fn patch(values: &[(&str, &str)], secrets: &[(&str, &str)]) -> ConfigPatch {
    ConfigPatch {
        values: values
            .iter()
            .map(|(k, v)| (key(k), (*v).to_owned()))
            .collect(),
        secrets: secrets
            .iter()
            .map(|(k, v)| (key(k), SecretValue::new(*v)))
            .collect(),
        remove: Vec::new(),
    }
}

fn echo() -> ModuleName {
    sample::name("echo")
}

async fn register(w: &World, version: &str, keys: &[&str]) {
    let mut m = sample::module("echo", version);
    m.limits = hotswap_core::domain::ResourceLimits::default();
    m.config_keys = keys.iter().map(|k| key(k)).collect();
    w.modules.create(&m).await.unwrap();
}

/// Give every member the secrets key.
async fn with_secrets_keys(w: &World) {
    for mut n in w.nodes_now().await {
        n.capabilities.secrets = true;
        w.nodes.update(&n).await.unwrap();
    }
}

#[tokio::test]
async fn a_canary_runs_new_values_beside_the_old_and_a_rollback_keeps_the_old() {
    let w = World::new(&["eu"], 3).await;
    with_secrets_keys(&w).await;
    let configs = service(&w, true);
    let first = configs
        .set(
            &echo(),
            patch(&[("greeting", "old")], &[("token", "s3cr3t-old")]),
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(first.revision, 1);
    assert_eq!(first.secrets[&key("token")].set_in, 1);

    let d = w.deploy(Some("1.0.0"), "2.0.0", canary()).await;
    assert_eq!((d.config_revision, d.from_config_revision), (1, 0));
    let d = w.drive(&w.orchestrator("cp-1"), d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::Succeeded);
    for n in &w.members {
        assert_eq!(w.fleet.loaded_configs(n.id, &echo()), [(v("2.0.0"), 1)]);
    }

    let second = configs
        .set(&echo(), patch(&[("greeting", "new")], &[]), "alice")
        .await
        .unwrap();
    assert_eq!(second.revision, 2);
    assert_eq!(
        second.secrets[&key("token")].set_in,
        1,
        "a secret not named is kept as it was sealed"
    );
    register(&w, "3.0.0", &["greeting", "token"]).await;
    w.fleet.set_error_rate(&v("3.0.0"), 0.3);
    let d = w.deploy(Some("2.0.0"), "3.0.0", canary()).await;
    assert_eq!((d.config_revision, d.from_config_revision), (2, 1));
    for n in &w.members {
        let mut loaded = w.fleet.loaded_configs(n.id, &echo());
        loaded.sort();
        assert_eq!(
            loaded,
            [(v("2.0.0"), 1), (v("3.0.0"), 2)],
            "stable keeps revision 1 while the candidate runs with 2"
        );
    }
    let d = w.drive(&w.orchestrator("cp-1"), d.id, 40).await;
    assert_eq!(d.phase, DeploymentPhase::RolledBack);
    for n in &w.members {
        assert_eq!(
            w.fleet.loaded_configs(n.id, &echo()),
            [(v("2.0.0"), 1)],
            "the rollback restores the old values with the old version"
        );
    }

    // The next rollout from 2.0.0 starts from the revision the rollback left.
    register(&w, "4.0.0", &[]).await;
    let d = w.deploy(Some("2.0.0"), "4.0.0", canary()).await;
    assert_eq!((d.config_revision, d.from_config_revision), (2, 1));
}

#[tokio::test]
async fn refused_changes_name_what_is_wrong_and_store_nothing() {
    let w = World::new(&["eu"], 1).await;
    let keyless = service(&w, false);
    let e = keyless
        .set(&echo(), patch(&[("a", "1")], &[("token", "x")]), "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "secrets"),
        "{e}"
    );
    assert!(e.to_string().contains("--secrets-key-file"), "{e}");
    assert!(w.configs.latest(&echo()).await.unwrap().is_none());

    let configs = service(&w, true);
    let mut remove = ConfigPatch::default();
    remove.remove.push(key("missing"));
    let e = configs.set(&echo(), remove, "alice").await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "remove.missing"),
        "{e}"
    );
    let e = configs
        .set(&sample::name("ghost"), patch(&[("a", "1")], &[]), "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::NotFound {
                kind: ResourceKind::Module,
                ..
            }
        ),
        "{e}"
    );
    let e = configs
        .set(&echo(), ConfigPatch::default(), "alice")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("patch"), "{e}");
    assert!(w.configs.latest(&echo()).await.unwrap().is_none());
    assert_eq!(configs.latest(&echo()).await.unwrap().revision, 0);

    configs
        .set(&echo(), patch(&[("greeting", "hi")], &[]), "alice")
        .await
        .unwrap();
    register(&w, "3.0.0", &["greeting", "token"]).await;
    let e = w
        .orchestrator("cp-1")
        .create(w.pending(Some("1.0.0"), "3.0.0", canary()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "config_revision"),
        "{e}"
    );
    assert!(e.to_string().contains("token"), "{e}");

    // A version reading a secret runs only where the secrets key is.
    configs
        .set(&echo(), patch(&[], &[("token", "x")]), "alice")
        .await
        .unwrap();
    let e = w
        .orchestrator("cp-1")
        .create(w.pending(Some("1.0.0"), "3.0.0", canary()))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("capabilities.secrets") && e.to_string().contains("token"),
        "{e}"
    );
    register(&w, "4.0.0", &["greeting"]).await;
    let d = w.deploy(Some("1.0.0"), "4.0.0", canary()).await;
    assert_eq!(
        d.progress.nodes_targeted, 1,
        "a version reading no secret needs no key"
    );
}

#[tokio::test]
async fn a_key_switches_kind_and_reads_show_secrets_by_name_only() {
    let w = World::new(&["eu"], 1).await;
    let configs = service(&w, true);
    configs
        .set(&echo(), patch(&[], &[("mode", "hidden-value-1")]), "alice")
        .await
        .unwrap();
    let view = hotswap_core::domain::ConfigView::from(&configs.latest(&echo()).await.unwrap());
    assert!(view.values.is_empty());
    assert_eq!(view.secrets[0].key, key("mode"));
    let shown = format!(
        "{view:?} {}",
        serde_json::to_string(&configs.get(&echo(), 1).await.unwrap()).unwrap()
    );
    assert!(!shown.contains("hidden-value-1"), "{shown}");

    let plain = configs
        .set(&echo(), patch(&[("mode", "visible")], &[]), "alice")
        .await
        .unwrap();
    assert!(plain.secrets.is_empty());
    assert_eq!(plain.values[&key("mode")], "visible");
    assert_eq!(configs.get(&echo(), 1).await.unwrap().secrets.len(), 1);
}

//! Conformance suite for [`PolicyRepository`].

use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::domain::{
    CanaryConfig, DeploymentPolicy, Environment, HookPoint, ShortName, StrategyConfig, Webhook,
};
use hotswap_core::repository::PolicyRepository;

use crate::sample::{name, time};

/// A policy of `module` in `environment` with a strategy and a hook.
pub fn policy(module: &str, environment: Environment) -> DeploymentPolicy {
    let mut p = DeploymentPolicy::new(name(module), environment, "conformance", time(0));
    p.strategy = Some(StrategyConfig::Canary(CanaryConfig::new(
        vec![10, 100],
        Duration::from_secs(60),
    )));
    p.hooks = vec![Webhook::new(
        ShortName::new("gate").expect("a name"),
        HookPoint::Step,
        "https://gate.example.com/step",
    )];
    p
}

/// A policy reads back equal; putting another for the same module and
/// environment replaces it; lists are by module, then environment.
pub async fn put_get_replace_and_list(r: &dyn PolicyRepository) {
    let prod = policy("calc", Environment::Production);
    r.put(&prod).await.expect("put");
    assert_eq!(
        r.get(&name("calc"), Environment::Production)
            .await
            .expect("get"),
        Some(prod.clone())
    );
    assert_eq!(
        r.get(&name("calc"), Environment::Staging)
            .await
            .expect("get"),
        None
    );
    let mut changed = prod.clone();
    changed.strategy = None;
    changed.updated_by = "bob".into();
    r.put(&changed).await.expect("replace");
    r.put(&policy("calc", Environment::Development))
        .await
        .expect("put");
    r.put(&policy("alpha", Environment::Staging))
        .await
        .expect("put");
    let listed: Vec<(String, Environment)> = r
        .list()
        .await
        .expect("list")
        .iter()
        .map(|p| (p.module.to_string(), p.environment))
        .collect();
    assert_eq!(
        listed,
        [
            ("alpha".to_owned(), Environment::Staging),
            ("calc".to_owned(), Environment::Development),
            ("calc".to_owned(), Environment::Production),
        ]
    );
    assert_eq!(
        r.get(&name("calc"), Environment::Production)
            .await
            .expect("get"),
        Some(changed)
    );
}

/// An invalid policy is refused naming the field, and stores nothing; a
/// deleted one is gone, and deleting it again is `NotFound`.
pub async fn invalid_refused_and_delete(r: &dyn PolicyRepository) {
    let mut bad = policy("calc", Environment::Production);
    bad.hooks[0].url = "ftp://x".into();
    let e = r.put(&bad).await.unwrap_err();
    assert!(e.to_string().starts_with("invalid hooks[0].url"), "{e}");
    assert!(r.list().await.expect("list").is_empty());
    r.put(&policy("calc", Environment::Production))
        .await
        .expect("put");
    r.delete(&name("calc"), Environment::Production)
        .await
        .expect("delete");
    assert!(r.list().await.expect("list").is_empty());
    let e = r
        .delete(&name("calc"), Environment::Production)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::NotFound { .. }) && e.to_string().contains("calc in production"),
        "{e}"
    );
}

/// Run every policy-repository behaviour as its own `#[test]`. `$make`
/// returns a fresh `Arc<dyn PolicyRepository>` per test (or `None`).
#[macro_export]
macro_rules! policy_repository_suite {
    ($make:expr) => {
        mod policy_repository_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                policies,
                [],
                [put_get_replace_and_list, invalid_refused_and_delete]
            );
        }
    };
}

//! How a module's deployments to one environment roll out unless their
//! creation says otherwise: strategy, health criteria (analysis checks
//! included), target, stale-node policy, and webhooks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::hooks::{Webhook, validate_hooks};
use super::module::validate_actor;
use super::{
    Environment, HealthCriteria, ModuleDeployment, ModuleName, StaleNodePolicy, StrategyConfig,
    TargetSelector,
};
use crate::error::{Error, Result};

/// Refuse inconsistent rules of a policy, naming the field.
pub fn validate_policy_rules(
    strategy: Option<&StrategyConfig>,
    health: Option<&HealthCriteria>,
    hooks: &[Webhook],
) -> Result<()> {
    if let Some(s) = strategy {
        s.validate()?;
    }
    if let Some(h) = health {
        h.validate().map_err(|e| e.within("health"))?;
    }
    validate_hooks(hooks)
}

/// The rollout policy of a module in an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeploymentPolicy {
    /// The module.
    pub module: ModuleName,
    /// The environment.
    pub environment: Environment,
    /// The strategy of its deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyConfig>,
    /// Their health criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCriteria>,
    /// Their target nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSelector>,
    /// What they do with nodes that go stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_nodes: Option<StaleNodePolicy>,
    /// Webhooks every deployment calls (before its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Webhook>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
    /// Who set it.
    pub updated_by: String,
}

impl DeploymentPolicy {
    /// An empty policy of `module` in `environment` (every deployment
    /// takes the defaults).
    pub fn new(
        module: ModuleName,
        environment: Environment,
        updated_by: impl Into<String>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            module,
            environment,
            strategy: None,
            health: None,
            target: None,
            stale_nodes: None,
            hooks: Vec::new(),
            updated_at,
            updated_by: updated_by.into(),
        }
    }

    /// Refuse an inconsistent policy, naming the field.
    pub fn validate(&self) -> Result<()> {
        validate_policy_rules(self.strategy.as_ref(), self.health.as_ref(), &self.hooks)?;
        validate_actor("updated_by", &self.updated_by)
    }

    /// Whether it says what the other says (its audit fields aside).
    pub fn same_rules(&self, other: &DeploymentPolicy) -> bool {
        let mut a = other.clone();
        a.updated_at = self.updated_at;
        a.updated_by = self.updated_by.clone();
        *self == a
    }

    /// Fill what `d` left unset from this policy: `d` takes its strategy,
    /// health criteria, target and stale-node policy when `set` says it
    /// gave none, and its hooks before its own. A hook name in both is
    /// refused, naming it.
    pub fn apply(&self, d: &mut ModuleDeployment, set: &Unset) -> Result<()> {
        if set.strategy
            && let Some(s) = &self.strategy
        {
            d.strategy = s.clone();
        }
        if set.health
            && let Some(h) = &self.health
        {
            d.health = h.clone();
        }
        if set.target
            && let Some(t) = &self.target
        {
            d.target = t.clone();
        }
        if set.stale_nodes
            && let Some(s) = self.stale_nodes
        {
            d.stale_nodes = s;
        }
        if let Some(h) = d
            .hooks
            .iter()
            .find(|h| self.hooks.iter().any(|p| p.name == h.name))
        {
            return Err(Error::invalid(
                "hooks",
                format!(
                    "{} is a hook of the {} policy of {} already",
                    h.name,
                    crate::repository::environment_name(self.environment),
                    self.module
                ),
            ));
        }
        let mut hooks = self.hooks.clone();
        hooks.append(&mut d.hooks);
        d.hooks = hooks;
        Ok(())
    }
}

/// Which fields a deployment's creation left for its policy to fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unset {
    /// The strategy.
    pub strategy: bool,
    /// The health criteria.
    pub health: bool,
    /// The target.
    pub target: bool,
    /// The stale-node policy.
    pub stale_nodes: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::{CanaryConfig, HookPoint, ShortName};

    fn hook(name: &str) -> Webhook {
        Webhook::new(
            ShortName::new(name).unwrap(),
            HookPoint::Step,
            "http://gate.test/x",
        )
    }

    #[test]
    fn a_policy_fills_only_what_the_deployment_left_unset() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let name = ModuleName::new("calc").unwrap();
        let mut p = DeploymentPolicy::new(name.clone(), Environment::Production, "ops", now);
        p.strategy = Some(StrategyConfig::Canary(CanaryConfig::new(
            vec![5, 100],
            std::time::Duration::from_secs(90),
        )));
        p.health = Some(HealthCriteria {
            min_samples: 7,
            ..HealthCriteria::default()
        });
        p.hooks = vec![hook("policy")];
        p.validate().unwrap();
        let mut d = ModuleDeployment::new(
            name,
            None,
            semver::Version::new(1, 0, 0),
            StrategyConfig::default(),
            Environment::Production,
            "alice",
            now,
        );
        d.hooks = vec![hook("mine")];
        let unset = Unset {
            strategy: true,
            ..Unset::default()
        };
        p.apply(&mut d, &unset).unwrap();
        assert_eq!(d.strategy, p.strategy.clone().unwrap());
        assert_eq!(d.health.min_samples, HealthCriteria::default().min_samples);
        assert_eq!(
            d.hooks.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["policy", "mine"]
        );
        let mut again = d.clone();
        again.hooks = vec![hook("policy")];
        let e = p.apply(&mut again, &unset).unwrap_err();
        assert!(
            e.to_string()
                .contains("policy is a hook of the production policy of calc"),
            "{e}"
        );
        let mut later = p.clone();
        later.updated_by = "bob".into();
        assert!(p.same_rules(&later));
        later.hooks.clear();
        assert!(!p.same_rules(&later));
    }
}

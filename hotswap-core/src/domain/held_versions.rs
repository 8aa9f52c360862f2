//! What a module's deployments hold: at most one of them is open, and the
//! latest one holds the versions that may not be deleted. Every store
//! applies these rules; the SQL stores enforce them with constraints.

use semver::Version;

use super::{DeploymentPhase, ModuleDeployment, StrategyConfig};
use crate::error::Error;

/// The phases of a deployment that is not finished, as stored (`phase`
/// column values). At most one deployment per module is in one of them.
pub const OPEN_PHASES: [DeploymentPhase; 3] = [
    DeploymentPhase::Pending,
    DeploymentPhase::Progressing,
    DeploymentPhase::Paused,
];

impl ModuleDeployment {
    /// The versions this deployment holds while it is its module's latest:
    /// every version it may route to while it is open, or, once finished,
    /// the version its outcome serves (the new one after success, the old
    /// one otherwise).
    pub fn held_versions(&self) -> Vec<Version> {
        if self.phase.is_terminal() {
            let outcome = if self.phase == DeploymentPhase::Succeeded {
                Some(&self.to_version)
            } else {
                self.from_version.as_ref()
            };
            return outcome.into_iter().cloned().collect();
        }
        let mut out = vec![self.to_version.clone()];
        out.extend(self.from_version.iter().cloned());
        if let StrategyConfig::AbTest(ab) = &self.strategy {
            out.extend(ab.variants.iter().map(|v| v.version.clone()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// The refusal of a new deployment of this module while `self` is
    /// still open.
    pub fn still_open(&self) -> Error {
        Error::conflict(
            format!("module {}", self.module),
            format!("deployment {} is still {:?}", self.id, self.phase),
        )
    }
}

/// The version a module serves now, given its latest deployment: the
/// outcome of a finished one, the old version of an open one.
pub fn serving_version(latest: Option<&ModuleDeployment>) -> Option<Version> {
    let d = latest?;
    match d.phase {
        DeploymentPhase::Succeeded => Some(d.to_version.clone()),
        DeploymentPhase::Pending => None,
        _ => d.from_version.clone(),
    }
}

/// Why `version` of its module may not be deleted, given the module's
/// latest deployment; `None` when it may. `reference` names the version in
/// the error (`echo@1.2.0`).
pub fn version_in_use(
    reference: &str,
    version: &Version,
    latest: Option<&ModuleDeployment>,
) -> Option<Error> {
    let d = latest.filter(|d| d.held_versions().contains(version))?;
    let reason = if d.phase.is_terminal() {
        "this is the version the module serves now; deploy another one first".to_owned()
    } else {
        format!("deployment {} ({:?}) uses this version", d.id, d.phase)
    };
    Some(Error::conflict(format!("module {reference}"), reason))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::{AbTestConfig, AbVariant, Environment, ModuleName};

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn deployment(phase: DeploymentPhase) -> ModuleDeployment {
        let mut d = ModuleDeployment::new(
            ModuleName::new("echo").unwrap(),
            Some(v("1.0.0")),
            v("2.0.0"),
            StrategyConfig::default(),
            Environment::Production,
            "test",
            chrono::DateTime::UNIX_EPOCH,
        );
        d.phase = phase;
        d
    }

    #[test]
    fn open_phases_are_the_phases_that_are_not_terminal() {
        for phase in [
            DeploymentPhase::Pending,
            DeploymentPhase::Progressing,
            DeploymentPhase::Paused,
            DeploymentPhase::Succeeded,
            DeploymentPhase::RolledBack,
            DeploymentPhase::Failed,
            DeploymentPhase::Aborted,
        ] {
            assert_eq!(
                OPEN_PHASES.contains(&phase),
                !phase.is_terminal(),
                "{phase:?}"
            );
        }
    }

    #[test]
    fn an_open_deployment_holds_both_versions_and_a_finished_one_its_outcome() {
        let open = deployment(DeploymentPhase::Paused);
        assert_eq!(open.held_versions(), [v("1.0.0"), v("2.0.0")]);
        assert_eq!(
            deployment(DeploymentPhase::Succeeded).held_versions(),
            [v("2.0.0")]
        );
        assert_eq!(
            deployment(DeploymentPhase::RolledBack).held_versions(),
            [v("1.0.0")]
        );
        let mut first = deployment(DeploymentPhase::Aborted);
        first.from_version = None;
        assert!(first.held_versions().is_empty());
    }

    #[test]
    fn an_ab_test_holds_its_variants() {
        let mut d = deployment(DeploymentPhase::Progressing);
        let variant = |name: &str, version: &str, weight| AbVariant {
            name: name.into(),
            version: v(version),
            weight,
        };
        d.strategy = StrategyConfig::AbTest(AbTestConfig::new(vec![
            variant("a", "2.0.0", 50),
            variant("b", "3.0.0", 50),
        ]));
        assert_eq!(d.held_versions(), [v("1.0.0"), v("2.0.0"), v("3.0.0")]);
    }

    #[test]
    fn in_use_names_the_open_deployment_or_the_served_version() {
        let open = deployment(DeploymentPhase::Progressing);
        let e = version_in_use("echo@2.0.0", &v("2.0.0"), Some(&open)).unwrap();
        assert!(e.to_string().contains(&open.id.to_string()), "{e}");
        let done = deployment(DeploymentPhase::Succeeded);
        let e = version_in_use("echo@2.0.0", &v("2.0.0"), Some(&done)).unwrap();
        assert!(e.to_string().contains("serves now"), "{e}");
        assert!(version_in_use("echo@1.0.0", &v("1.0.0"), Some(&done)).is_none());
        assert!(version_in_use("echo@1.0.0", &v("1.0.0"), None).is_none());
        assert_eq!(serving_version(Some(&done)), Some(v("2.0.0")));
        assert_eq!(serving_version(Some(&open)), Some(v("1.0.0")));
    }
}

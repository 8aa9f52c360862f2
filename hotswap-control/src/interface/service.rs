//! The interface registry service: register WIT package versions checked
//! against the package's compatibility mode, validate candidates (a dry
//! run), approve (admins only), and set modes (admins only).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::compat::{CheckOptions, Finding, Subject, check};
use super::package::{PackageSet, WitUpload, registry_name};
use super::{
    Approval, CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, ParsedWit,
    WitInterface, parse_wit,
};
use hotswap_core::domain::{InterfaceId, ModuleKind, WasmModule};
use hotswap_core::error::{Error, ResourceKind, Result};
use hotswap_core::interface::InterfaceRegistryExt;

/// Who is calling, as the HTTP layer authenticated them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Their name, recorded on what they create or approve.
    pub name: String,
    /// Whether they hold the admin role.
    pub admin: bool,
}

/// A registration that breaks the package's mode anyway, by an admin's
/// decision, recorded on the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Why.
    pub reason: String,
}

/// What validating a candidate found.
#[derive(Debug)]
pub struct Validation {
    /// The candidate, flattened with its dependencies and parsed.
    pub candidate: ParsedWit,
    /// What it breaks of its package's earlier versions.
    pub findings: Vec<Finding>,
    /// The version registered under the candidate's name, if any.
    pub registered: Option<Registered>,
}

/// A version already registered under a candidate's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Its id.
    pub id: InterfaceId,
    /// Whether its text is the candidate's, flattened.
    pub same_text: bool,
}

/// The registry service over an [`InterfaceRegistry`].
#[derive(Clone, Debug)]
pub struct InterfaceService {
    registry: Arc<dyn InterfaceRegistry>,
    options: CheckOptions,
}

impl InterfaceService {
    /// A service over `registry`, comparing stable items only.
    pub fn new(registry: Arc<dyn InterfaceRegistry>) -> Self {
        Self {
            registry,
            options: CheckOptions::default(),
        }
    }

    /// Compare the `@unstable` items of these features too.
    pub fn with_options(mut self, options: CheckOptions) -> Self {
        self.options = options;
        self
    }

    /// `upload` as one WIT text: its dependencies come from the upload,
    /// then from registered versions (exactly the `package@version` a
    /// `use` names); one found in neither is `Invalid`, naming it and the
    /// package that uses it.
    pub async fn flatten(&self, upload: WitUpload) -> Result<String> {
        let mut set = PackageSet::from_upload(upload)?;
        while let Some((dep, user)) = set.missing() {
            let registered = self
                .stored(&registry_name(&dep)?)
                .await?
                .into_iter()
                .find(|i| i.version == dep.version);
            let Some(registered) = registered else {
                return Err(Error::invalid(
                    "wit",
                    format!(
                        "package {user} uses {dep}, which is neither in the upload (deps/) nor registered"
                    ),
                ));
            };
            let origin = format!("registered {}", registered.reference());
            set.add_registered(&registered.wit, &origin, &dep)?;
        }
        set.flatten()
    }

    /// What registering `upload` would find against its package's earlier
    /// versions under the package's mode, without storing anything: the
    /// parsed candidate, the findings, and the version already registered
    /// under the candidate's name, if any.
    pub async fn validate(&self, upload: WitUpload) -> Result<Validation> {
        let wit = self.flatten(upload).await?;
        let candidate = parse_wit(&wit)?;
        let (package, version) = candidate.name()?;
        let stored = self.stored(&package).await?;
        let findings = self.findings(&candidate, &package, &stored).await?;
        let registered = stored
            .into_iter()
            .find(|i| i.version == version)
            .map(|i| Registered {
                same_text: i.wit == wit,
                id: i.id,
            });
        Ok(Validation {
            candidate,
            findings,
            registered,
        })
    }

    /// What `candidate` breaks of `stored`, the package's versions, under
    /// the package's mode.
    async fn findings(
        &self,
        candidate: &ParsedWit,
        package: &PackageName,
        stored: &[WitInterface],
    ) -> Result<Vec<Finding>> {
        let mode = self.registry.compatibility_mode(package).await?;
        let history = stored
            .iter()
            .map(|v| parse_wit(&v.wit).map_err(|e| e.within("stored interface")))
            .collect::<Result<Vec<_>>>()?;
        Ok(check(
            Subject::Package,
            mode,
            &history,
            candidate,
            &self.options,
        ))
    }

    /// Register `upload` (flattened with its dependencies, see
    /// [`InterfaceService::flatten`]) as a new version of its package. A version already
    /// registered is `AlreadyExists`, before any check. A version that
    /// breaks the package's mode is refused with `Incompatible` and every
    /// finding, unless an admin overrides it (the override and its reason
    /// are recorded in the stored approval).
    pub async fn register(
        &self,
        upload: WitUpload,
        caller: &Caller,
        override_: Option<&Override>,
        now: DateTime<Utc>,
    ) -> Result<WitInterface> {
        let wit = self.flatten(upload).await?;
        let candidate = parse_wit(&wit)?;
        let (package, version) = candidate.name()?;
        let stored = self.stored(&package).await?;
        // A version is registered once: a second one is `AlreadyExists`
        // whatever its text, decided before any compatibility check.
        if let Some(existing) = stored.iter().find(|i| i.version == version) {
            return Err(Error::already_exists(
                ResourceKind::Interface,
                existing.reference(),
            ));
        }
        let findings = self.findings(&candidate, &package, &stored).await?;
        let mut interface = WitInterface::new(package, version, wit, &caller.name, now);
        if !findings.is_empty() {
            match override_ {
                None => {
                    return Err(Error::Incompatible {
                        subject: format!("interface {}", interface.reference()),
                        findings: findings.iter().map(ToString::to_string).collect(),
                    });
                }
                Some(o) => {
                    require_admin(caller, "override an incompatible interface")?;
                    interface.approval = Some(Approval {
                        by: format!("{} (override: {})", caller.name, o.reason),
                        at: now,
                    });
                }
            }
        }
        self.registry.register(&interface).await?;
        Ok(interface)
    }

    /// Check a new module version's interface (`candidate.interface_wit`, from
    /// [`super::extract_wit`]) against the earlier versions of the module
    /// under the mode of its package (a component's own package; for a
    /// core module, `module:<name>`). Refused with `Incompatible` and the
    /// findings unless an admin overrides; returns the findings that were
    /// overridden, for the caller to record on the version.
    pub async fn check_module_version(
        &self,
        candidate: &WasmModule,
        earlier: &[WasmModule],
        caller: &Caller,
        override_: Option<&Override>,
    ) -> Result<Vec<Finding>> {
        let Some(wit) = &candidate.interface_wit else {
            return Ok(Vec::new());
        };
        let new = parse_wit(wit).map_err(|e| e.within("interface_wit"))?;
        let package = match candidate.kind {
            ModuleKind::Component => new.name()?.0,
            _ => PackageName::new(format!("module:{}", candidate.name))?,
        };
        let mode = self.registry.compatibility_mode(&package).await?;
        let mut history: Vec<&WasmModule> = earlier
            .iter()
            .filter(|m| m.name == candidate.name && m.id != candidate.id)
            .collect();
        history.sort_by(|a, b| a.version.cmp(&b.version));
        let history = history
            .iter()
            .filter_map(|m| m.interface_wit.as_deref())
            .map(|w| parse_wit(w).map_err(|e| e.within("stored interface_wit")))
            .collect::<Result<Vec<_>>>()?;
        let findings = check(Subject::Module, mode, &history, &new, &self.options);
        if findings.is_empty() {
            return Ok(findings);
        }
        match override_ {
            Some(_) => {
                require_admin(caller, "override an incompatible module version")?;
                Ok(findings)
            }
            None => Err(Error::Incompatible {
                subject: format!("module {}", candidate.reference()),
                findings: findings.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Register a module version: take its interface from the binary (when
    /// `module.interface_wit` is unset), check it against the module's earlier
    /// versions ([`InterfaceService::check_module_version`]), then store
    /// blob and row ([`crate::store_module_version`]). A refused
    /// check stores nothing; an admin's override is recorded on the version
    /// (`interface_override`). Returns the stored version.
    pub async fn register_module_version(
        &self,
        storage: &dyn hotswap_core::storage::ModuleStorage,
        modules: &dyn hotswap_core::repository::ModuleRepository,
        mut module: WasmModule,
        bytes: bytes::Bytes,
        caller: &Caller,
        override_: Option<&Override>,
    ) -> Result<WasmModule> {
        use hotswap_core::repository::ModuleRepositoryExt;
        if module.interface_wit.is_none() {
            module.interface_wit = Some(super::extract_wit(&bytes)?);
        }
        let earlier = modules.versions(&module.name).await?;
        let overridden = self
            .check_module_version(&module, &earlier, caller, override_)
            .await?;
        if let (Some(o), false) = (override_, overridden.is_empty()) {
            module.interface_override = Some(hotswap_core::domain::InterfaceOverride {
                by: caller.name.clone(),
                reason: o.reason.clone(),
                findings: overridden.iter().map(ToString::to_string).collect(),
            });
        }
        crate::store_module_version(storage, modules, &module, bytes).await
    }

    /// Approve a version (admins only); the first approval is kept.
    pub async fn approve(
        &self,
        id: hotswap_core::domain::InterfaceId,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<WitInterface> {
        require_admin(caller, "approve an interface")?;
        let approval = Approval {
            by: caller.name.clone(),
            at: now,
        };
        self.registry.approve(id, &approval).await
    }

    /// Set a package's compatibility mode (admins only).
    pub async fn set_mode(
        &self,
        package: &PackageName,
        mode: CompatibilityMode,
        caller: &Caller,
    ) -> Result<()> {
        require_admin(caller, "set a compatibility mode")?;
        self.registry.set_compatibility_mode(package, mode).await
    }

    /// Every stored version of `package`, oldest first.
    async fn stored(&self, package: &PackageName) -> Result<Vec<WitInterface>> {
        let filter = InterfaceFilter {
            package: Some(package.clone()),
            approved: None,
        };
        // Lists are ordered by (package, id), and ids (UUIDv7) by
        // registration: one package's list is oldest first.
        self.registry.all_interfaces(&filter).await
    }
}

fn require_admin(caller: &Caller, action: &str) -> Result<()> {
    if caller.admin {
        Ok(())
    } else {
        Err(Error::Forbidden {
            action: action.to_owned(),
            role: "admin".to_owned(),
        })
    }
}

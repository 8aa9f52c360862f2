//! What it takes to make a control plane match the desired state: the
//! changes, in the order they are applied, and the refusals that stop the
//! whole plan before anything changes.

use std::collections::BTreeMap;
use std::fmt;

use hotswap_core::domain::{
    DeploymentPhase, DeploymentPolicy, Environment, HttpRoute, ModuleDeployment, ModuleName,
    serving_version,
};
use hotswap_core::repository::MAX_PAGE_LIMIT;
use hotswap_http::client::ControlPlaneClient;
use hotswap_http::wire::{
    CreateDeployment, CreateRoute, DeploymentListQuery, ModuleListQuery, ModuleMetadata,
    PolicyBody, RouteListQuery,
};
use semver::Version;

use super::{Desired, EnvironmentKey, Located, ModuleSpec, PolicySpec, RouteSpec, WitSource};
use crate::AppResult;
use crate::commands::all_modules;

/// The changes that make the fleet match, and why it cannot be made to.
#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    /// In the order they are applied.
    pub(crate) changes: Vec<Change<'a>>,
    /// Differences `apply` will not resolve; any of them stops the plan.
    pub(crate) refusals: Vec<String>,
    /// Rollouts under way to the versions the files name: no difference.
    pub(crate) under_way: Vec<String>,
}

/// One change to the fleet.
#[derive(Debug)]
pub(crate) enum Change<'a> {
    /// Register a WIT package version.
    Interface {
        source: &'a Located<WitSource>,
        /// `package@version`, or the path when the package could not be
        /// checked before the packages it uses are registered.
        name: String,
        checked: bool,
    },
    /// Register a module version.
    Module {
        name: &'a ModuleName,
        spec: &'a ModuleSpec,
    },
    /// Set a deployment policy (`was`: the one it replaces).
    Policy {
        module: &'a ModuleName,
        environment: Environment,
        body: &'a PolicyBody,
        was: Option<DeploymentPolicy>,
    },
    /// Remove a deployment policy.
    RemovePolicy {
        module: &'a ModuleName,
        environment: Environment,
    },
    /// Remove an HTTP route.
    RemoveRoute(HttpRoute),
    /// Add an HTTP route.
    Route {
        module: &'a ModuleName,
        route: &'a RouteSpec,
    },
    /// Roll a version out under the module's policy.
    Deploy {
        module: &'a ModuleName,
        version: &'a Version,
        from: Option<Version>,
        environment: Environment,
        /// Whether the module has a policy there (else the defaults apply).
        policy: bool,
    },
}

/// Compare `desired` with what `c` holds.
pub(crate) async fn plan<'a>(desired: &'a Desired, c: &ControlPlaneClient) -> AppResult<Plan<'a>> {
    let mut steps = Steps::default();
    interfaces(desired, c, &mut steps).await?;
    let policies = c.policies().await?;
    let routes = c.list_routes(&RouteListQuery::default()).await?.routes;
    routes_of_all(desired, &routes, &mut steps);
    for (name, located) in &desired.modules {
        let spec = &located.value;
        version(name, located, c, &mut steps).await?;
        policies_of(name, spec, &policies, &mut steps);
        rollout(name, located, &policies, c, &mut steps).await?;
    }
    Ok(steps.into_plan())
}

/// Changes by kind, joined in the order they apply: policies first (the
/// server checks them against its own settings, so a refused one stops
/// the plan before anything else changed), then what a later kind needs
/// (a package a version implements, a version to route, a policy to
/// deploy under) before it.
#[derive(Default)]
struct Steps<'a> {
    policies: Vec<Change<'a>>,
    interfaces: Vec<Change<'a>>,
    modules: Vec<Change<'a>>,
    route_removals: Vec<Change<'a>>,
    routes: Vec<Change<'a>>,
    deploys: Vec<Change<'a>>,
    refusals: Vec<String>,
    under_way: Vec<String>,
}

impl<'a> Steps<'a> {
    fn into_plan(self) -> Plan<'a> {
        let changes = [
            self.policies,
            self.interfaces,
            self.modules,
            self.route_removals,
            self.routes,
            self.deploys,
        ]
        .into_iter()
        .flatten()
        .collect();
        Plan {
            changes,
            refusals: self.refusals,
            under_way: self.under_way,
        }
    }
}

async fn interfaces<'a>(
    desired: &'a Desired,
    c: &ControlPlaneClient,
    steps: &mut Steps<'a>,
) -> AppResult<()> {
    for source in &desired.interfaces {
        let report = match c.validate_interface(source.value.payload()).await {
            Ok(r) => r,
            // A package that uses one this plan registers first can only be
            // checked once that one is.
            Err(hotswap_core::Error::Invalid { reason, .. }) if !steps.interfaces.is_empty() => {
                tracing::debug!(%reason, "checked when applied");
                steps.interfaces.push(Change::Interface {
                    source,
                    name: source.value.path.display().to_string(),
                    checked: false,
                });
                continue;
            }
            Err(e) => {
                steps.refusals.push(format!("{}: {e}", source.at()));
                continue;
            }
        };
        let name = match &report.version {
            Some(v) => format!("{}@{v}", report.package),
            None => report.package.to_string(),
        };
        match report.registered {
            Some(r) if r.same_text => {}
            Some(_) => steps.refusals.push(format!(
                "{}: {name} is registered with another text, and a registered version never \
                 changes: give this one a new version",
                source.at()
            )),
            None if !report.compatible => {
                let findings: Vec<String> =
                    report.findings.iter().map(ToString::to_string).collect();
                steps.refusals.push(format!(
                    "{}: {name} breaks its package's {} mode: {}",
                    source.at(),
                    report.mode,
                    findings.join("; ")
                ));
            }
            None => steps.interfaces.push(Change::Interface {
                source,
                name,
                checked: true,
            }),
        }
    }
    Ok(())
}

async fn version<'a>(
    name: &'a ModuleName,
    located: &'a Located<ModuleSpec>,
    c: &ControlPlaneClient,
    steps: &mut Steps<'a>,
) -> AppResult<()> {
    let spec = &located.value;
    let query = ModuleListQuery {
        name: Some(name.to_string()),
        limit: Some(MAX_PAGE_LIMIT),
        ..ModuleListQuery::default()
    };
    let registered = all_modules(c, query).await?;
    let Some(existing) = registered.iter().find(|m| m.version == spec.version) else {
        steps.modules.push(Change::Module { name, spec });
        return Ok(());
    };
    let reference = format!("{name}@{}", spec.version);
    let mut differs = Vec::new();
    if existing.digest != spec.file.digest {
        differs.push(format!(
            "file: {reference} is registered with sha256 {}, {} has sha256 {}",
            existing.digest,
            spec.file.path.display(),
            spec.file.digest
        ));
    }
    if existing.labels != spec.labels {
        differs.push(format!(
            "labels: {reference} is registered with other labels"
        ));
    }
    let mut keys = spec.config_keys.clone();
    keys.sort();
    keys.dedup();
    let mut registered_keys = existing.config_keys.clone();
    registered_keys.sort();
    if registered_keys != keys {
        differs.push(format!(
            "config_keys: {reference} is registered with other configuration keys"
        ));
    }
    if spec.limits.as_ref().is_some_and(|l| *l != existing.limits) {
        differs.push(format!(
            "limits: {reference} is registered with other limits"
        ));
    }
    if spec
        .outbound
        .as_ref()
        .is_some_and(|o| *o != existing.outbound)
    {
        differs.push(format!(
            "outbound: {reference} is registered with other grants"
        ));
    }
    if spec
        .keyvalue
        .as_ref()
        .is_some_and(|k| *k != existing.keyvalue)
    {
        differs.push(format!(
            "keyvalue: {reference} is registered with other grants"
        ));
    }
    for d in differs {
        steps.refusals.push(format!(
            "{}.{d}; a registered version never changes: give it a new version",
            located.at()
        ));
    }
    Ok(())
}

fn policies_of<'a>(
    name: &'a ModuleName,
    spec: &'a ModuleSpec,
    live: &[DeploymentPolicy],
    steps: &mut Steps<'a>,
) {
    let Some(wanted) = &spec.policies else {
        return;
    };
    let live: BTreeMap<Environment, &DeploymentPolicy> = live
        .iter()
        .filter(|p| p.module == *name)
        .map(|p| (p.environment, p))
        .collect();
    for (&EnvironmentKey(environment), PolicySpec(body)) in wanted {
        let was = live.get(&environment).copied();
        if was.is_some_and(|p| same_rules(p, body)) {
            continue;
        }
        steps.policies.push(Change::Policy {
            module: name,
            environment,
            body,
            was: was.cloned(),
        });
    }
    for &environment in live
        .keys()
        .filter(|&&e| !wanted.contains_key(&EnvironmentKey(e)))
    {
        steps.policies.push(Change::RemovePolicy {
            module: name,
            environment,
        });
    }
}

fn same_rules(p: &DeploymentPolicy, body: &PolicyBody) -> bool {
    p.strategy == body.strategy
        && p.health == body.health
        && p.target == body.target
        && p.stale_nodes == body.stale_nodes
        && p.hooks == body.hooks
}

/// The routes of every module whose entry lists them: the missing ones
/// added, the others removed; a route another module keeps is refused.
fn routes_of_all<'a>(desired: &'a Desired, live: &[HttpRoute], steps: &mut Steps<'a>) {
    let mut claimed: BTreeMap<(&str, &str), &ModuleName> = BTreeMap::new();
    for (name, located) in &desired.modules {
        let Some(routes) = &located.value.routes else {
            continue;
        };
        for (i, route) in routes.iter().enumerate() {
            let key = (route.host.as_str(), route.path.as_str());
            if let Some(other) = claimed.insert(key, name) {
                steps.refusals.push(format!(
                    "{}.routes[{i}]: {}{} is also a route of {other} in the files",
                    located.at(),
                    route.host,
                    route.path
                ));
                continue;
            }
            let now = live
                .iter()
                .find(|r| r.host == route.host && r.path_prefix == route.path);
            match now {
                Some(r) if r.module == *name => {}
                Some(r) if releases(desired, r) => steps.routes.push(Change::Route {
                    module: name,
                    route,
                }),
                Some(r) => steps.refusals.push(format!(
                    "{}.routes[{i}]: {}{} routes to {} now, and the files keep it there",
                    located.at(),
                    route.host,
                    route.path,
                    r.module
                )),
                None => steps.routes.push(Change::Route {
                    module: name,
                    route,
                }),
            }
        }
    }
    for r in live.iter().filter(|r| releases(desired, r)) {
        steps.route_removals.push(Change::RemoveRoute(r.clone()));
    }
}

/// Whether the files take `route` from its module: the module's entry
/// lists its routes, and not this one.
fn releases(desired: &Desired, route: &HttpRoute) -> bool {
    desired
        .modules
        .get(&route.module)
        .and_then(|m| m.value.routes.as_ref())
        .is_some_and(|routes| {
            !routes
                .iter()
                .any(|r| r.host == route.host && r.path == route.path_prefix)
        })
}

/// The latest deployment of `name`.
async fn latest(name: &ModuleName, c: &ControlPlaneClient) -> AppResult<Option<ModuleDeployment>> {
    let mut query = DeploymentListQuery {
        module: Some(name.to_string()),
        limit: Some(MAX_PAGE_LIMIT),
        ..DeploymentListQuery::default()
    };
    let mut last = None;
    loop {
        let page = c.list_deployments(&query).await?;
        last = page.items.into_iter().last().or(last);
        match page.next_cursor {
            Some(next) => query.cursor = Some(next),
            None => return Ok(last),
        }
    }
}

async fn rollout<'a>(
    name: &'a ModuleName,
    located: &'a Located<ModuleSpec>,
    policies: &[DeploymentPolicy],
    c: &ControlPlaneClient,
    steps: &mut Steps<'a>,
) -> AppResult<()> {
    let spec = &located.value;
    let policy = match &spec.policies {
        Some(wanted) => wanted.contains_key(&EnvironmentKey(spec.environment)),
        None => policies
            .iter()
            .any(|p| p.module == *name && p.environment == spec.environment),
    };
    let deploy = |from| Change::Deploy {
        module: name,
        version: &spec.version,
        from,
        environment: spec.environment,
        policy,
    };
    let Some(d) = latest(name, c).await? else {
        steps.deploys.push(deploy(None));
        return Ok(());
    };
    let at = format!("{}.version", located.at());
    if !d.phase.is_terminal() {
        if d.to_version == spec.version {
            steps.under_way.push(format!(
                "deployment {} is rolling out {name} {} ({:?})",
                d.id, d.to_version, d.phase
            ));
        } else {
            steps.refusals.push(format!(
                "{at}: deployment {} is rolling out {name} {} ({:?}); wait for it to end or abort it",
                d.id, d.to_version, d.phase
            ));
        }
        return Ok(());
    }
    let serving = serving_version(Some(&d));
    if serving.as_ref() == Some(&spec.version) {
        return Ok(());
    }
    if d.to_version == spec.version && d.phase != DeploymentPhase::Succeeded {
        steps.refusals.push(format!(
            "{at}: deployment {} of {name} {} ended {:?}; apply does not roll a version out \
             again: give the fix a new version, or run hotswap deploy",
            d.id, spec.version, d.phase
        ));
        return Ok(());
    }
    steps.deploys.push(deploy(serving));
    Ok(())
}

impl Change<'_> {
    /// Make the change.
    pub(crate) async fn apply(&self, c: &ControlPlaneClient) -> AppResult<String> {
        Ok(match self {
            Change::Interface { source, .. } => {
                let i = c.push_interface(source.value.payload(), None).await?;
                format!("registered interface {}", i.reference())
            }
            Change::Module { name, spec } => {
                let meta = ModuleMetadata {
                    name: name.to_string(),
                    version: spec.version.to_string(),
                    limits: spec.limits,
                    labels: spec.labels.clone(),
                    outbound: spec.outbound.clone(),
                    keyvalue: spec.keyvalue.clone(),
                    config_keys: spec.config_keys.clone(),
                    override_reason: None,
                };
                let m = c
                    .upload_module(&meta, spec.file.bytes.clone().into())
                    .await?;
                format!("registered {} (id {})", m.reference(), m.id)
            }
            Change::Policy {
                module,
                environment,
                body,
                ..
            } => {
                c.put_policy(module, *environment, body).await?;
                format!("set the {} policy of {module}", env_name(*environment))
            }
            Change::RemovePolicy {
                module,
                environment,
            } => {
                c.delete_policy(module, *environment).await?;
                format!("removed the {} policy of {module}", env_name(*environment))
            }
            Change::RemoveRoute(r) => {
                c.delete_route(r.id).await?;
                format!("removed route {}{} -> {}", r.host, r.path_prefix, r.module)
            }
            Change::Route { module, route } => {
                let req = CreateRoute {
                    host: route.host.clone(),
                    path_prefix: Some(route.path.clone()),
                    module: (*module).clone(),
                };
                let done = c.create_route(&req).await?;
                format!(
                    "added route {}{} -> {module} ({})",
                    route.host, route.path, done.route.id
                )
            }
            Change::Deploy {
                module,
                version,
                environment,
                ..
            } => {
                let req = CreateDeployment {
                    module: (*module).clone(),
                    to_version: version.to_string(),
                    from_version: None,
                    strategy: None,
                    target: None,
                    health: None,
                    stale_nodes: None,
                    hooks: Vec::new(),
                    environment: *environment,
                    config_revision: None,
                    start: true,
                };
                let d = c.create_deployment(&req).await?;
                format!(
                    "deployment {} rolls {module} {version} out ({})",
                    d.id,
                    d.strategy.name()
                )
            }
        })
    }
}

fn env_name(e: Environment) -> String {
    format!("{e:?}").to_lowercase()
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("<{e}>"))
}

impl fmt::Display for Change<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Interface {
                source,
                name,
                checked,
            } => {
                write!(f, "+ interface {name} ({})", source.value.path.display())?;
                if !checked {
                    write!(f, ", checked once the packages before it are registered")?;
                }
                Ok(())
            }
            Change::Module { name, spec } => write!(
                f,
                "+ module {name}@{} ({}, {} bytes, sha256 {})",
                spec.version,
                spec.file.path.display(),
                spec.file.bytes.len(),
                spec.file.digest
            ),
            Change::Policy {
                module,
                environment,
                body,
                was,
            } => {
                let sign = if was.is_some() { '~' } else { '+' };
                write!(f, "{sign} policy {module}/{}", env_name(*environment))?;
                let old = |get: &dyn Fn(&DeploymentPolicy) -> String| {
                    was.as_ref().map_or_else(|| "unset".to_owned(), get)
                };
                let fields = [
                    (
                        "strategy",
                        old(&|p| json(&p.strategy)),
                        json(&body.strategy),
                    ),
                    ("health", old(&|p| json(&p.health)), json(&body.health)),
                    ("target", old(&|p| json(&p.target)), json(&body.target)),
                    (
                        "stale_nodes",
                        old(&|p| json(&p.stale_nodes)),
                        json(&body.stale_nodes),
                    ),
                    ("hooks", old(&|p| json(&p.hooks)), json(&body.hooks)),
                ];
                for (field, old, new) in fields {
                    if old != new && !(old == "unset" && (new == "null" || new == "[]")) {
                        write!(f, "\n    {field}: {old} -> {new}")?;
                    }
                }
                Ok(())
            }
            Change::RemovePolicy {
                module,
                environment,
            } => write!(f, "- policy {module}/{}", env_name(*environment)),
            Change::RemoveRoute(r) => {
                write!(f, "- route {}{} -> {}", r.host, r.path_prefix, r.module)
            }
            Change::Route { module, route } => {
                write!(f, "+ route {}{} -> {module}", route.host, route.path)
            }
            Change::Deploy {
                module,
                version,
                from,
                environment,
                policy,
            } => {
                let change = match from {
                    Some(from) => format!("{from} -> {version}"),
                    None => format!("{version} (its first version)"),
                };
                let rules = if *policy {
                    "under its policy"
                } else {
                    "no policy: the defaults"
                };
                write!(
                    f,
                    "> roll out {module} {change} in {} ({rules})",
                    env_name(*environment)
                )
            }
        }
    }
}

//! Desired state in files: the modules a fleet runs (each version's file
//! and metadata, its HTTP routes and its deployment policies) and the WIT
//! packages it registers, read from TOML or YAML ([`load()`]), compared with
//! a control plane ([`plan::plan`]) and applied to it change by change
//! ([`plan::Change::apply`]).
//!
//! ```toml
//! interfaces = ["wit/greeter"]
//!
//! [modules.greeter]
//! version = "1.2.0"
//! file = "greeter.wasm"
//! environment = "production"
//! routes = [{ host = "greeter.example.com", path = "/" }]
//!
//! [modules.greeter.policies.production]
//! strategy = { type = "canary", steps = [10, 50, 100], step_duration_secs = 60 }
//! ```

mod load;
mod module_file;
pub(crate) mod plan;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hotswap_core::domain::{
    ConfigKey, Environment, KeyValueGrants, Labels, ModuleName, OutboundGrants, ResourceLimits,
};
use hotswap_http::wire::PolicyBody;
use hotswap_http::wit_payload::WitPayload;
use semver::Version;
use serde::Deserialize;

pub(crate) use load::load;
pub(crate) use module_file::{ModuleFile, WitSource};

/// Everything the files say, merged.
#[derive(Debug, Default)]
pub(crate) struct Desired {
    /// WIT packages to register, in the order of the files and their lists
    /// (dependencies first).
    pub(crate) interfaces: Vec<Located<WitSource>>,
    /// Modules by name.
    pub(crate) modules: BTreeMap<ModuleName, Located<ModuleSpec>>,
}

/// A value and where the files say it.
#[derive(Debug)]
pub(crate) struct Located<T> {
    /// The file.
    pub(crate) file: PathBuf,
    /// The key, `modules.greeter` or `interfaces[0]`.
    pub(crate) key: String,
    /// The value.
    pub(crate) value: T,
}

impl<T> Located<T> {
    /// `file: key`, for messages.
    pub(crate) fn at(&self) -> String {
        format!("{}: {}", self.file.display(), self.key)
    }
}

/// One file's content.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesiredFile {
    #[serde(default)]
    interfaces: Vec<WitSource>,
    #[serde(default)]
    modules: BTreeMap<load::ModuleKey, ModuleSpec>,
}

/// What a module should be: the version it serves and how it gets there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModuleSpec {
    /// The version the module should serve.
    pub(crate) version: Version,
    /// Its binary (`.wasm`) or text (`.wat`), relative to the file.
    pub(crate) file: ModuleFile,
    /// Labels of the version.
    #[serde(default)]
    pub(crate) labels: Labels,
    /// Its resource limits (the defaults when absent).
    pub(crate) limits: Option<ResourceLimits>,
    /// The outbound HTTP it may make (none when absent).
    pub(crate) outbound: Option<OutboundGrants>,
    /// The key-value buckets it may use (none when absent).
    pub(crate) keyvalue: Option<KeyValueGrants>,
    /// The configuration keys it reads.
    #[serde(default)]
    pub(crate) config_keys: Vec<ConfigKey>,
    /// The environment its rollouts target, whose policy they take.
    #[serde(default = "development")]
    pub(crate) environment: Environment,
    /// Its HTTP routes; when present, the module's other routes go.
    pub(crate) routes: Option<Vec<RouteSpec>>,
    /// Its deployment policies by environment; when present, the module's
    /// policies in other environments go.
    pub(crate) policies: Option<BTreeMap<EnvironmentKey, PolicySpec>>,
}

/// An environment as a key (read as a string, so that an error's path
/// names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EnvironmentKey(pub(crate) Environment);

impl<'de> Deserialize<'de> for EnvironmentKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let environment = match name.as_str() {
            "development" => Environment::Development,
            "staging" => Environment::Staging,
            "production" => Environment::Production,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "{name:?} is not an environment: development, staging or production"
                )));
            }
        };
        Ok(Self(environment))
    }
}

/// A deployment policy, checked.
#[derive(Debug, Deserialize)]
#[serde(try_from = "PolicyBody")]
pub(crate) struct PolicySpec(pub(crate) PolicyBody);

impl TryFrom<PolicyBody> for PolicySpec {
    type Error = hotswap_core::Error;

    fn try_from(body: PolicyBody) -> Result<Self, Self::Error> {
        body.validate()?;
        Ok(Self(body))
    }
}

fn development() -> Environment {
    Environment::Development
}

/// One HTTP route to the module: a host and a path prefix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "RouteInput")]
pub(crate) struct RouteSpec {
    /// The host, normalized, or `*`.
    pub(crate) host: String,
    /// The path prefix, normalized.
    pub(crate) path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteInput {
    host: String,
    #[serde(default)]
    path: Option<String>,
}

impl TryFrom<RouteInput> for RouteSpec {
    type Error = hotswap_core::Error;

    fn try_from(r: RouteInput) -> Result<Self, Self::Error> {
        Ok(Self {
            host: hotswap_core::domain::normalize_host(&r.host)?,
            path: hotswap_core::domain::normalize_prefix(r.path.as_deref().unwrap_or("/"))
                .map_err(|e| e.within("path"))?,
        })
    }
}

impl WitSource {
    /// The payload to send.
    pub(crate) fn payload(&self) -> &WitPayload {
        &self.payload
    }
}

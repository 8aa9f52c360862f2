//! Request and response bodies of the control-plane API and the edge
//! agent, shared by the servers and their clients.

use chrono::{DateTime, Utc};
use hotswap_core::domain::{
    ConfigKey, DeploymentEvent, DeploymentPhase, EdgeNode, Environment, HealthCriteria, HttpRoute,
    Int64Json, InterfaceId, KeyValueGrants, Labels, LoadedVersion, MAX_LABELS, ModuleConfig,
    ModuleDeployment, ModuleKind, ModuleName, NodeCapabilities, NodeMetrics, NodeProgress,
    NodeStatus, OutboundGrants, Region, ResourceLimits, RouteReason, StaleNodePolicy,
    StrategyConfig, TargetSelector, VersionStats, WasmModule, Webhook,
};
use hotswap_core::interface::Finding;
use hotswap_core::interface::{CompatibilityMode, PackageName, Protects};
use hotswap_core::node::CallOutcome;
use hotswap_core::node::Execution;
use hotswap_core::runtime::{CallInput, CallOutput, Invocation};
use hotswap_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use utoipa::{IntoParams, ToSchema};

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Paged<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> From<hotswap_core::repository::Page<T>> for Paged<T> {
    fn from(p: hotswap_core::repository::Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next,
        }
    }
}

/// Paging parameters of every list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The core's page request, validated.
    pub fn request(&self) -> Result<hotswap_core::repository::PageRequest> {
        let mut page = hotswap_core::repository::PageRequest::default();
        if let Some(limit) = self.limit {
            page.limit = limit;
        }
        page.after = self.cursor.clone();
        page.validate().map_err(|e| e.within("query"))?;
        Ok(page)
    }
}

/// Parse `key=value,key=value` into labels, exactly as
/// [`hotswap_core::domain::schema::labels_text`] states: no white space
/// around keys, at most [`MAX_LABELS`] pairs; an empty text is no labels.
pub fn parse_labels(field: &str, text: &str) -> Result<Labels> {
    let mut map = std::collections::BTreeMap::new();
    if text.is_empty() {
        return Ok(Labels::default());
    }
    for (i, pair) in text.split(',').enumerate() {
        if i == MAX_LABELS {
            return Err(Error::invalid(
                field,
                format!("has more than {MAX_LABELS} pairs"),
            ));
        }
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid(field, format!("{pair:?} is not key=value")))?;
        map.insert(k.to_owned(), v.to_owned());
    }
    Labels::try_from(map).map_err(|e| e.within(field))
}

/// Metadata of a module version to register (the `metadata` part of a
/// multipart upload, or the query of a raw one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleMetadata {
    /// Module name.
    #[schema(schema_with = hotswap_core::domain::schema::module_name, required = true)]
    pub name: String,
    /// Semver version.
    #[schema(schema_with = hotswap_core::domain::schema::semver, required = true)]
    pub version: String,
    /// Limits for every call (defaults when absent).
    pub limits: Option<ResourceLimits>,
    /// Labels.
    pub labels: Labels,
    /// What the version may reach over HTTP: `{"allow": ["https://api.example.com"]}`
    /// and limits per invocation; nothing when absent.
    pub outbound: Option<OutboundGrants>,
    /// Which key-value buckets the version may open: `{"buckets": ["counters"]}`
    /// and size limits; none when absent.
    pub keyvalue: Option<KeyValueGrants>,
    /// The configuration keys the version reads: `["upstream", "API_TOKEN"]`
    /// (a raw upload names them comma-separated in `x-hotswap-config-keys`).
    #[schema(value_type = Vec<String>)]
    pub config_keys: Vec<ConfigKey>,
    /// An admin's reason to register an incompatible interface anyway.
    pub override_reason: Option<String>,
}

/// The query of a raw `POST /modules` upload (the limits' bounds are
/// [`ResourceLimits`]'s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct UploadQuery {
    /// Module name (or header `x-hotswap-name`).
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    pub name: Option<String>,
    /// Semver version (or header `x-hotswap-version`).
    #[param(schema_with = hotswap_core::domain::schema::semver)]
    pub version: Option<String>,
    /// Labels as `key=value,key=value` (or header `x-hotswap-labels`).
    #[param(schema_with = hotswap_core::domain::schema::labels_text)]
    pub labels: Option<String>,
    /// Largest linear memory, bytes.
    #[param(schema_with = hotswap_core::domain::schema::memory_bytes)]
    pub max_memory_bytes: Option<u64>,
    /// Fuel budget per call.
    #[param(schema_with = hotswap_core::domain::schema::fuel_or_null)]
    pub fuel: Option<u64>,
    /// Wall-clock timeout per call, milliseconds.
    #[param(schema_with = hotswap_core::domain::schema::timeout_ms)]
    pub timeout_ms: Option<u64>,
    /// Instances at once per node.
    #[param(schema_with = hotswap_core::domain::schema::concurrent_instances)]
    pub max_concurrent_instances: Option<u32>,
    /// Largest wasm stack, bytes.
    #[param(schema_with = hotswap_core::domain::schema::stack_bytes)]
    pub max_stack_bytes: Option<u64>,
    /// An admin's reason to register an incompatible interface anyway.
    pub override_reason: Option<String>,
}

/// Filters of `GET /modules`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleListQuery {
    /// Only this module.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    pub name: Option<String>,
    /// Only this kind.
    pub kind: Option<ModuleKind>,
    /// Only versions with these bytes (sha256 hex).
    #[param(pattern = "^[0-9a-f]{64}$")]
    pub digest: Option<String>,
    /// Only versions with all these labels, `key=value,key=value`.
    #[param(schema_with = hotswap_core::domain::schema::labels_text)]
    pub labels: Option<String>,
    /// Items per page, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `POST /deployments`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeployment {
    /// The module.
    pub module: ModuleName,
    /// The version to roll out.
    #[schema(schema_with = hotswap_core::domain::schema::semver)]
    pub to_version: String,
    /// The version to replace; the module's serving version when absent.
    #[serde(default)]
    #[schema(schema_with = hotswap_core::domain::schema::semver_or_null)]
    pub from_version: Option<String>,
    /// How; when absent, the module's deployment policy for the
    /// environment says, else a canary with its defaults.
    #[serde(default)]
    pub strategy: Option<StrategyConfig>,
    /// Where (the policy's, else every node, when absent).
    #[serde(default)]
    pub target: Option<TargetSelector>,
    /// When the new version counts as healthy (the policy's, else the
    /// defaults, when absent).
    #[serde(default)]
    pub health: Option<HealthCriteria>,
    /// What to do with nodes that go stale mid-rollout (the policy's, else
    /// exclude them, when absent).
    #[serde(default)]
    pub stale_nodes: Option<StaleNodePolicy>,
    /// Webhooks called at points of the rollout (gates hold it while they
    /// refuse), after the policy's.
    #[serde(default)]
    pub hooks: Vec<Webhook>,
    /// Environment (development when absent).
    #[serde(default = "development")]
    pub environment: Environment,
    /// The configuration revision the new version runs with; the
    /// module's latest when absent.
    #[serde(default)]
    pub config_revision: Option<u64>,
    /// Start at once (as `POST /deployments/{id}/execute` would).
    #[serde(default)]
    pub start: bool,
}

/// `PUT /policies/{module}/{environment}`: what the module's deployments
/// to that environment take when their creation leaves it unset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyBody {
    /// The strategy.
    pub strategy: Option<StrategyConfig>,
    /// The health criteria (analysis checks included).
    pub health: Option<HealthCriteria>,
    /// The target nodes.
    pub target: Option<TargetSelector>,
    /// What to do with nodes that go stale.
    pub stale_nodes: Option<StaleNodePolicy>,
    /// Webhooks every deployment calls, before its own.
    pub hooks: Vec<Webhook>,
}

impl PolicyBody {
    /// Refuse an inconsistent policy, naming the field.
    pub fn validate(&self) -> hotswap_core::Result<()> {
        hotswap_core::domain::validate_policy_rules(
            self.strategy.as_ref(),
            self.health.as_ref(),
            &self.hooks,
        )
    }
}

fn development() -> Environment {
    Environment::Development
}

/// Filters of `GET /deployments`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentListQuery {
    /// Only this module.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    pub module: Option<String>,
    /// Only this phase.
    pub phase: Option<DeploymentPhase>,
    /// Only this environment.
    pub environment: Option<Environment>,
    /// Items per page, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A deployment with its progress and event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    /// The deployment.
    pub deployment: ModuleDeployment,
    /// Percent done: steps (and stages) taken of those planned.
    pub percent: u8,
    /// Where each target node stands.
    pub nodes: Vec<NodeProgress>,
    /// Every decision, oldest first.
    pub events: Vec<DeploymentEvent>,
}

/// `POST /deployments/{id}/promote`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PromoteRequest {
    /// Finish now instead of taking one step.
    pub full: bool,
    /// End an A/B test with this variant.
    pub variant: Option<String>,
}

/// `POST /interfaces`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterInterface {
    /// The WIT package text.
    pub wit: String,
    /// An admin's reason to register an incompatible version anyway.
    pub override_reason: Option<String>,
}

/// `POST /interfaces/{id}/validate`: a candidate next version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateInterface {
    /// The candidate WIT text, of the same package.
    pub wit: String,
}

/// The query of `POST /interfaces` for bodies other than JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterInterfaceQuery {
    /// An admin's reason to register an incompatible version anyway.
    pub override_reason: Option<String>,
}

/// What registering a candidate would find.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidationReport {
    /// The candidate's package.
    pub package: PackageName,
    /// The candidate's version (`None` for an unversioned package).
    #[schema(value_type = Option<String>)]
    pub version: Option<semver::Version>,
    /// No finding.
    pub compatible: bool,
    /// The package's mode it was checked under.
    pub mode: CompatibilityMode,
    /// Who that mode protects.
    pub protects: Vec<Protects>,
    /// Every incompatibility.
    pub findings: Vec<Finding>,
    /// The version already registered under the candidate's name, if any
    /// (registering the candidate again is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<RegisteredVersion>,
}

/// A version already registered under a candidate's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisteredVersion {
    /// Its id.
    #[schema(value_type = String)]
    pub id: InterfaceId,
    /// Whether its text is the candidate's (flattened with its
    /// dependencies).
    pub same_text: bool,
}

/// `GET|PUT /interfaces/packages/{package}/mode`: a package's mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageMode {
    /// The package.
    pub package: PackageName,
    /// Its compatibility mode (`backward` unless set).
    pub mode: CompatibilityMode,
    /// Who that mode protects.
    pub protects: Vec<Protects>,
}

/// `PUT /interfaces/packages/{package}/mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPackageMode {
    /// The new mode.
    pub mode: CompatibilityMode,
}

/// Filters of `GET /interfaces`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct InterfaceListQuery {
    /// Only this package.
    #[param(schema_with = hotswap_core::domain::schema::package_name)]
    pub package: Option<String>,
    /// Only approved (`true`) or unapproved (`false`) versions.
    pub approved: Option<bool>,
    /// Items per page, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `POST /nodes`: a node announcing itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterNode {
    /// Unique name, DNS-label style.
    #[schema(schema_with = hotswap_core::domain::schema::node_name)]
    pub name: String,
    /// Region.
    pub region: Region,
    /// Zone.
    #[serde(default)]
    #[schema(schema_with = hotswap_core::domain::schema::zone_or_null)]
    pub zone: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Labels,
    /// Base URL of its edge agent.
    #[schema(schema_with = hotswap_core::domain::schema::endpoint)]
    pub endpoint: String,
    /// Base URL of its HTTP ingress, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = hotswap_core::domain::schema::endpoint_or_null)]
    pub ingress: Option<String>,
    /// What it runs.
    pub capabilities: NodeCapabilities,
}

/// The answer to a registration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeRegistered {
    /// The node as stored, with its id.
    pub node: EdgeNode,
    /// How often to heartbeat, in seconds.
    pub heartbeat_interval_secs: u64,
}

/// `POST /routes`: route a host and path prefix to a module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoute {
    /// The host (lowercase DNS name or IP, no port), or `*` for any host.
    #[schema(schema_with = hotswap_core::domain::schema::host_input)]
    pub host: String,
    /// The path prefix; every path when absent.
    #[serde(default)]
    #[schema(schema_with = hotswap_core::domain::schema::path_prefix_input_or_null)]
    pub path_prefix: Option<String>,
    /// The module that answers.
    pub module: ModuleName,
}

/// What a change of the HTTP routes did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouteChanged {
    /// The route created or deleted.
    pub route: HttpRoute,
    /// The routes' revision after the change.
    pub revision: u64,
    /// Nodes that hold the new routes.
    pub pushed: Vec<String>,
    /// Nodes that did not take them, with the reason (reconciliation tries
    /// again).
    pub push_failed: Vec<String>,
}

/// Filters of `GET /routes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct RouteListQuery {
    /// Only the routes of this module.
    #[param(schema_with = hotswap_core::domain::schema::module_name)]
    pub module: Option<String>,
}

/// Filters of `GET /nodes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct NodeListQuery {
    /// Only this region.
    #[param(schema_with = hotswap_core::domain::schema::region)]
    pub region: Option<String>,
    /// Only this status.
    pub status: Option<NodeStatus>,
    /// Only nodes with all these labels, `key=value,key=value`.
    #[param(schema_with = hotswap_core::domain::schema::labels_text)]
    pub labels: Option<String>,
    /// Items per page, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `GET /nodes/{id}/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeHealth {
    /// The node.
    pub name: String,
    /// Its status.
    pub status: NodeStatus,
    /// When its last heartbeat arrived.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Seconds since then (or since registration).
    pub silent_for_secs: u64,
    /// Its latest metrics.
    pub metrics: NodeMetrics,
    /// What it has loaded.
    pub loaded: Vec<LoadedVersion>,
    /// Its per-version statistics.
    pub stats: Vec<VersionStats>,
}

/// What the control plane asks an edge agent to load: a module version
/// and the configuration revision it runs with (secrets sealed; the node
/// opens them with its own key). A body without `config` loads the
/// version with no configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// The module version.
    pub module: WasmModule,
    /// Its configuration revision.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<ModuleConfig>,
}

/// `POST /execute` on the control plane or an edge agent.
///
/// **Every call runs in a fresh instance.** Linear memory, globals and
/// tables start from the module's initial state on every call: whatever one
/// call writes is gone at the next. Keep state outside the module.
///
/// Arguments follow the function's types (a core function's are `i32`,
/// `i64`, `f32`, `f64`):
///
/// - `i32`: a number from -2147483648 to 4294967295 (the signed and the
///   unsigned reading of the same bits); `i64` likewise, as a number or a
///   decimal string; component integers (`s8`..`u64`) in their own range.
/// - `f32`/`f64`: a number, `"inf"`, `"-inf"`, `"nan"` (the canonical NaN),
///   `"-nan"`, or `{"f32_bits": "0x7fc00001"}` / `{"f64_bits": "0x..."}`
///   for exact bits (any NaN payload, negative zero).
/// - component types: see the README's value mapping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExecuteRequest {
    /// The module.
    #[schema(schema_with = hotswap_core::domain::schema::module_name, required = true)]
    pub module: String,
    /// The function; `_start` runs a WASI command with `stdin`.
    #[schema(min_length = 1, required = true)]
    pub function: String,
    /// Arguments: an array (positional) or an object (by name); `null` or
    /// absent for none.
    #[schema(value_type = Object)]
    pub args: Json,
    /// Pin this version (semver, e.g. `1.2.0`).
    #[schema(schema_with = hotswap_core::domain::schema::semver_or_null)]
    pub version: Option<String>,
    /// Routing key for sticky splits (user, tenant, session).
    pub key: Option<String>,
    /// Preferred region (control plane only).
    #[schema(schema_with = hotswap_core::domain::schema::region_or_null)]
    pub region: Option<String>,
    /// Standard input of a WASI command (UTF-8 text).
    pub stdin: Option<String>,
    /// Request headers for header routing rules, `name -> value`.
    pub headers: std::collections::BTreeMap<String, String>,
    /// How 64-bit integer results (`i64`, `s64`, `u64`) are written:
    /// `string` (the default, exact in every JSON reader) or `number`.
    pub int64: Int64Json,
}

impl ExecuteRequest {
    /// The core's execution, with the fields named in errors.
    pub fn execution(self) -> Result<Execution> {
        let module = ModuleName::new(self.module).map_err(|e| e.within("module"))?;
        if self.function.is_empty() {
            return Err(Error::invalid("function", "name the function to call"));
        }
        let call = match self.stdin {
            Some(stdin) => {
                let mut call = Invocation::command(stdin.into_bytes());
                call.function = self.function.into();
                call
            }
            None => {
                let args = if self.args.is_null() {
                    Json::Array(Vec::new())
                } else {
                    self.args
                };
                Invocation::json(self.function, args)
            }
        };
        let mut e = Execution::new(module, call);
        e.pin = self
            .version
            .map(|v| {
                semver::Version::parse(&v)
                    .map_err(|err| Error::invalid("version", format!("{v:?}: {err}")))
            })
            .transpose()?;
        e.key = self.key;
        e.region = self
            .region
            .map(|r| Region::new(r).map_err(|e| e.within("region")))
            .transpose()?;
        e.headers = self.headers.into_iter().collect();
        e.int64 = self.int64;
        Ok(e)
    }

    /// The request that carries `e` to an edge agent.
    pub fn from_execution(e: &Execution) -> Self {
        let (args, stdin) = match &e.call.input {
            CallInput::Json(j) => (j.clone(), None),
            CallInput::Values(v) => (Json::Array(v.iter().map(|x| x.to_json()).collect()), None),
            CallInput::Stdin(b) => (Json::Null, Some(String::from_utf8_lossy(b).into_owned())),
            _ => (Json::Null, None),
        };
        Self {
            module: e.module.to_string(),
            function: e.call.function.to_string(),
            args,
            version: e.pin.as_ref().map(ToString::to_string),
            key: e.key.clone(),
            region: e.region.as_ref().map(ToString::to_string),
            stdin,
            headers: e.headers.iter().cloned().collect(),
            int64: e.int64,
        }
    }
}

/// What a call returned.
///
/// The call ran in a fresh instance (`instance` says so): memory and
/// globals it wrote are gone. Floats come back as numbers, `"inf"`,
/// `"-inf"`, `"nan"` (canonical) or `{"f32_bits"|"f64_bits": "0x.."}` for
/// any other NaN; 64-bit integers as the request's `int64` asks (strings by
/// default); core `i32` results are signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExecuteResponse {
    /// The version that served it.
    pub version: String,
    /// Why that version.
    pub reason: RouteReason,
    /// The node that ran it (control plane only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The results: `null` for none, the value for one, an array for more.
    #[schema(value_type = Object)]
    pub result: Json,
    /// Always `fresh`: the call ran in a new instance, and nothing it left
    /// in memory or globals survives it.
    #[serde(default)]
    pub instance: InstanceState,
    /// Standard output of a WASI command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Standard error of a WASI command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// Exit code of a WASI command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Fuel used, when metering is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_consumed: Option<u64>,
}

/// What instance a call ran in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// A new instance, discarded after the call.
    #[default]
    Fresh,
}

impl ExecuteResponse {
    /// The response for `routed`, run on `node` when named, with 64-bit
    /// integers written as `int64` says.
    pub fn new(routed: &CallOutcome, node: Option<String>, int64: Int64Json) -> Self {
        let out = &routed.output;
        let text = |b: &bytes::Bytes| String::from_utf8_lossy(b).into_owned();
        let command = out.exit_code.is_some();
        Self {
            version: routed.version.to_string(),
            reason: routed.reason,
            node,
            result: out.results_json_with(int64),
            instance: InstanceState::Fresh,
            stdout: command.then(|| text(&out.stdout)),
            stderr: command.then(|| text(&out.stderr)),
            exit_code: out.exit_code,
            fuel_consumed: out.fuel_consumed,
        }
    }

    /// Back into the core's routed result (the results stay JSON).
    pub fn into_routed(self) -> Result<CallOutcome> {
        let version = semver::Version::parse(&self.version).map_err(|e| {
            Error::internal(format!(
                "a node answered with version {:?}: {e}",
                self.version
            ))
        })?;
        let mut out = CallOutput::default();
        out.json = Some(self.result);
        out.stdout = self.stdout.unwrap_or_default().into_bytes().into();
        out.stderr = self.stderr.unwrap_or_default().into_bytes().into();
        out.exit_code = self.exit_code;
        out.fuel_consumed = self.fuel_consumed;
        Ok(CallOutcome::new(version, self.reason, out))
    }
}

/// `GET /healthz` and `/readyz`, and an edge agent's health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthReport {
    /// `ok`, or what is wrong.
    pub status: String,
    /// Checks and their outcome.
    #[serde(default)]
    pub checks: std::collections::BTreeMap<String, String>,
}

/// An edge agent's view of itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentHealth {
    /// The node's name.
    pub name: String,
    /// Versions loaded.
    pub loaded: Vec<LoadedVersion>,
    /// Calls running now.
    pub in_flight: u64,
    /// Whether it is shutting down.
    pub draining: bool,
}

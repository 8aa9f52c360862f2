//! Domain types: module versions, limits, nodes, deployments, routing and
//! call values. Every type validates itself and has stable snake_case JSON.

pub mod analysis;
mod config;
mod deployment;
mod digest;
pub mod held_versions;
pub mod hooks;
mod http_route;
mod ids;
mod keyvalue;
pub(crate) mod labels;
pub(crate) mod limits;
mod module;
pub(crate) mod names;
mod node;
mod outbound;
mod policy;
mod routing;
#[cfg(feature = "openapi")]
pub mod schema;
mod stats;
mod strategy_config;
mod value;
pub mod value_numbers;
mod value_path;
pub mod wasm_features;

pub use analysis::{
    AnalysisCheck, AnalysisProgress, AnalysisResult, AnalysisSource, AnalysisVerdict, Comparison,
    PassCondition, ShortName, TemplateVars, ValueRange,
};
pub use config::{
    ConfigPatch, ConfigValues, ConfigView, MAX_CONFIG_ENTRIES, MAX_CONFIG_VALUE_BYTES,
    ModuleConfig, SealedSecret, SecretInfo, SecretValue,
};
pub use deployment::{
    BlueGreenState, DeploymentEvent, DeploymentPhase, DeploymentProgress, Environment, EventKind,
    HealthCriteria, HealthVerdict, InconclusivePolicy, ModuleDeployment, NodeProgress,
    OperatorRequest, PhaseReason, ReasonCode, RegionalState, StaleNodePolicy, StrategyState,
    TargetSelector,
};
pub use digest::Digest;
pub use held_versions::{OPEN_PHASES, serving_version, version_in_use};
pub use hooks::{HookPoint, Webhook};
pub use http_route::{
    ANY_HOST, HOST_INPUT_PATTERN, HOST_PATTERN, HttpRoute, HttpRouteSet, HttpRouteTable,
    MAX_HOST_LEN, MAX_PATH_PREFIX_LEN, PATH_PREFIX_INPUT_PATTERN, PATH_PREFIX_PATTERN,
    normalize_host, normalize_prefix,
};
pub use ids::{DeploymentId, InterfaceId, ModuleId, NodeId, RouteId};
pub use keyvalue::{KeyValueGrants, MAX_KEY_BYTES, MAX_VALUE_BYTES};
pub use labels::{Labels, MAX_LABEL_KEY_LEN, MAX_LABEL_VALUE_LEN, MAX_LABELS};
pub use limits::{
    MAX_AGGREGATE_MEMORY_BYTES, MAX_CONCURRENT_INSTANCES, MAX_MEMORY_BYTES, MAX_STACK_BYTES,
    MAX_TIMEOUT_MS, MIN_STACK_BYTES, ResourceLimits, WASM_PAGE_BYTES,
};
pub(crate) use module::validate_actor;
pub use module::{
    Export, Import, InterfaceOverride, ItemKind, MAX_ACTOR_LEN, ModuleKind, WasiVersion, WasmModule,
};
pub use names::{
    BUCKET_NAME_PATTERN, BucketName, CONFIG_KEY_PATTERN, ConfigKey, MAX_BUCKET_NAME_LEN,
    MAX_CONFIG_KEY_LEN, MAX_MODULE_NAME_LEN, MAX_REGION_LEN, MODULE_NAME_PATTERN, ModuleName,
    REGION_PATTERN, Region, SEMVER_PATTERN,
};
pub use node::{
    ENDPOINT_PATTERN, EdgeNode, Heartbeat, LoadedVersion, MAX_ENDPOINT_LEN, MAX_NODE_NAME_LEN,
    MAX_ZONE_LEN, NodeCapabilities, NodeMetrics, NodeStatus, RuntimeKind,
};
pub use outbound::{Denial, Destination, MAX_OUTBOUND_RULES, OutboundGrants, OutboundRule};
pub use policy::{DeploymentPolicy, Unset, validate_policy_rules};
pub use routing::{
    BUCKETS, RouteContext, RouteMatch, RouteReason, RouteRule, RoutingTable, WeightedVersion,
};
pub use stats::{LatencyHistogram, MAX_TRACKED_LATENCY_US, VersionStats};
pub use strategy_config::{
    AbTestConfig, AbVariant, BatchSize, BlueGreenConfig, CanaryConfig, MAX_PERIOD_SECS,
    RegionalConfig, RegionalRollback, RollingConfig, SplitBy, StrategyConfig,
};
pub use value::{Value, ValueType};
pub use value_numbers::Int64Json;
pub(crate) use value_path::ValuePath;
pub use wasm_features::WasmFeature;

//! Edge nodes: identity, capabilities, status, heartbeats and reported state.

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

use super::names::check_word_pattern;
use super::{
    Digest, Labels, ModuleKind, ModuleName, NodeId, Region, VersionStats, WasiVersion, WasmFeature,
};
use crate::error::{Error, Result};

/// A wasm runtime an edge node can host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    /// Wasmtime.
    Wasmtime,
    /// Wasmer.
    Wasmer,
}

/// What a node can run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct NodeCapabilities {
    /// Runtimes the node hosts (at least one).
    pub runtimes: Vec<RuntimeKind>,
    /// WASI versions it provides.
    #[serde(default)]
    pub wasi: Vec<WasiVersion>,
    /// Whether it runs components (not only core modules).
    #[serde(default)]
    pub components: bool,
    /// Memory it offers to wasm instances, in bytes.
    pub memory_bytes: u64,
    /// WebAssembly features its runtime accepts (WebAssembly 2.0 when a
    /// node does not say).
    #[serde(default = "super::wasm_features::wasm2")]
    pub wasm_features: Vec<WasmFeature>,
    /// The backend of its key-value store (`file`, `redis`), if it has one.
    #[serde(default)]
    pub keyvalue: Option<String>,
    /// Whether it holds the secrets key, so it can open the secrets of a
    /// version's configuration.
    #[serde(default)]
    pub secrets: bool,
}

impl NodeCapabilities {
    /// Capabilities with one runtime and `memory_bytes` of memory.
    pub fn new(runtime: RuntimeKind, memory_bytes: u64) -> Self {
        Self {
            runtimes: vec![runtime],
            wasi: Vec::new(),
            components: false,
            memory_bytes,
            wasm_features: super::wasm_features::wasm2(),
            keyvalue: None,
            secrets: false,
        }
    }

    /// What a node hosting `runtime` offers, with `memory_bytes` of memory.
    pub fn of_runtime(runtime: &crate::runtime::RuntimeCapabilities, memory_bytes: u64) -> Self {
        Self {
            runtimes: vec![runtime.kind],
            wasi: runtime.wasi.clone(),
            components: runtime.components,
            memory_bytes,
            wasm_features: runtime.wasm_features.clone(),
            keyvalue: None,
            secrets: false,
        }
    }

    /// Whether `module` can run here: its kind, WASI version, WebAssembly
    /// features and the key-value store its grants need; the error names
    /// what is missing.
    pub fn runs(&self, module: &super::WasmModule) -> Result<()> {
        self.supports(module.kind, module.wasi)?;
        if !module.keyvalue.is_empty() && self.keyvalue.is_none() {
            let buckets: Vec<&str> = module.keyvalue.buckets.iter().map(|b| b.as_str()).collect();
            return Err(Error::invalid(
                "capabilities.keyvalue",
                format!(
                    "the node has no key-value store, and {} is granted the buckets {}",
                    module.reference(),
                    buckets.join(", ")
                ),
            ));
        }
        super::wasm_features::check_features(
            &module.wasm_features,
            &self.wasm_features,
            "the node's runtime",
        )
    }

    /// Add a WASI version.
    #[must_use]
    pub fn with_wasi(mut self, wasi: WasiVersion) -> Self {
        if !self.wasi.contains(&wasi) {
            self.wasi.push(wasi);
        }
        self
    }

    /// Set whether components run.
    #[must_use]
    pub fn with_components(mut self, components: bool) -> Self {
        self.components = components;
        self
    }

    /// Whether a module of `kind` importing `wasi` can run here; the error
    /// names the missing capability.
    pub fn supports(&self, kind: ModuleKind, wasi: Option<WasiVersion>) -> Result<()> {
        if kind == ModuleKind::Component && !self.components {
            return Err(Error::invalid(
                "capabilities.components",
                "the node does not run components",
            ));
        }
        if let Some(w) = wasi
            && !self.wasi.contains(&w)
        {
            return Err(Error::invalid(
                "capabilities.wasi",
                format!("the node does not provide WASI {w:?}"),
            ));
        }
        Ok(())
    }

    /// Refuse empty or duplicate runtimes and zero memory.
    pub fn validate(&self) -> Result<()> {
        if self.runtimes.is_empty() {
            return Err(Error::invalid("runtimes", "name at least one runtime"));
        }
        if has_duplicates(&self.runtimes) {
            return Err(Error::invalid("runtimes", "lists a runtime twice"));
        }
        if has_duplicates(&self.wasi) {
            return Err(Error::invalid("wasi", "lists a WASI version twice"));
        }
        if self.memory_bytes < super::limits::WASM_PAGE_BYTES {
            return Err(Error::invalid(
                "memory_bytes",
                "must be at least one 64 KiB wasm page",
            ));
        }
        Ok(())
    }
}

fn has_duplicates<T: Ord + Clone>(items: &[T]) -> bool {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// The life-cycle state of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Registered, no heartbeat yet.
    Registering,
    /// Heartbeats arrive; takes traffic.
    Healthy,
    /// Heartbeats stopped or report trouble; takes no new traffic.
    Unhealthy,
    /// Finishing its calls before leaving; takes no new traffic.
    Draining,
    /// Gone for longer than the offline threshold.
    Offline,
}

impl NodeStatus {
    /// Whether executions may be routed to a node in this state.
    pub fn accepts_traffic(self) -> bool {
        self == Self::Healthy
    }
}

/// Resource use a node reports with each heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct NodeMetrics {
    /// CPU use in percent of all cores (0..=100).
    pub cpu_percent: f64,
    /// Memory in use, bytes.
    pub memory_used_bytes: u64,
    /// Memory in total, bytes.
    pub memory_total_bytes: u64,
    /// Disk in use, bytes.
    pub disk_used_bytes: u64,
    /// Disk in total, bytes.
    pub disk_total_bytes: u64,
    /// Calls running now.
    pub in_flight: u64,
}

impl NodeMetrics {
    /// Refuse impossible values.
    pub fn validate(&self) -> Result<()> {
        if !self.cpu_percent.is_finite() || !(0.0..=100.0).contains(&self.cpu_percent) {
            return Err(Error::invalid(
                "cpu_percent",
                format!("{} is outside 0..=100", self.cpu_percent),
            ));
        }
        if self.memory_total_bytes > 0 && self.memory_used_bytes > self.memory_total_bytes {
            return Err(Error::invalid(
                "memory_used_bytes",
                "exceeds memory_total_bytes",
            ));
        }
        if self.disk_total_bytes > 0 && self.disk_used_bytes > self.disk_total_bytes {
            return Err(Error::invalid(
                "disk_used_bytes",
                "exceeds disk_total_bytes",
            ));
        }
        Ok(())
    }
}

/// A module version loaded on a node, with the digest the node verified.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadedVersion {
    /// Module name.
    pub module: ModuleName,
    /// Module version.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::semver))]
    pub version: Version,
    /// Digest of the bytes the node loaded.
    pub digest: Digest,
    /// The configuration revision it runs with (0: none).
    #[serde(default)]
    pub config_revision: u64,
}

/// What a node sends with each heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Heartbeat {
    /// When the node sent it (node clock).
    pub sent_at: DateTime<Utc>,
    /// Resource use.
    #[serde(default)]
    pub metrics: NodeMetrics,
    /// Versions loaded now.
    #[serde(default)]
    pub loaded: Vec<LoadedVersion>,
    /// Cumulative per-version statistics.
    #[serde(default)]
    pub stats: Vec<VersionStats>,
    /// Set when the node is shutting down.
    #[serde(default)]
    pub draining: bool,
}

impl Heartbeat {
    /// A heartbeat with no metrics, versions or statistics.
    pub fn new(sent_at: DateTime<Utc>) -> Self {
        Self {
            sent_at,
            metrics: NodeMetrics::default(),
            loaded: Vec::new(),
            stats: Vec::new(),
            draining: false,
        }
    }

    /// Refuse impossible metrics and statistics, naming the entry.
    pub fn validate(&self) -> Result<()> {
        self.metrics.validate().map_err(|e| e.within("metrics"))?;
        for (i, s) in self.stats.iter().enumerate() {
            s.validate().map_err(|e| e.within(&format!("stats[{i}]")))?;
        }
        Ok(())
    }
}

/// The longest node name.
pub const MAX_NODE_NAME_LEN: usize = 63;

/// The longest endpoint URL of a node.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// The longest zone name.
pub const MAX_ZONE_LEN: usize = 32;

/// An edge node as the control plane knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct EdgeNode {
    /// Identity.
    pub id: NodeId,
    /// Unique name, DNS-label style: `[a-z0-9]` words joined by `-`,
    /// at most 63 characters.
    pub name: String,
    /// Region.
    pub region: Region,
    /// Zone within the region.
    #[serde(default)]
    pub zone: Option<String>,
    /// Labels for target selection.
    #[serde(default)]
    pub labels: Labels,
    /// Base URL of the node's edge agent, `http://` or `https://`.
    pub endpoint: String,
    /// Base URL of the node's HTTP ingress, when it has one; the control
    /// plane forwards HTTP requests there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// What it can run.
    pub capabilities: NodeCapabilities,
    /// Life-cycle state.
    pub status: NodeStatus,
    /// When the last heartbeat arrived (control-plane clock).
    #[serde(default)]
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Latest reported resource use.
    #[serde(default)]
    pub metrics: NodeMetrics,
    /// Latest reported loaded versions.
    #[serde(default)]
    pub loaded: Vec<LoadedVersion>,
    /// Latest reported per-version statistics.
    #[serde(default)]
    pub stats: Vec<VersionStats>,
    /// When it registered.
    pub registered_at: DateTime<Utc>,
    /// Bumped by every stored update; the compare-and-set token.
    #[serde(default)]
    pub revision: u64,
}

impl EdgeNode {
    /// A node in state `Registering`.
    pub fn new(
        name: impl Into<String>,
        region: Region,
        endpoint: impl Into<String>,
        capabilities: NodeCapabilities,
        registered_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: NodeId::new(),
            name: name.into(),
            region,
            zone: None,
            labels: Labels::new(),
            endpoint: endpoint.into(),
            ingress: None,
            capabilities,
            status: NodeStatus::Registering,
            last_heartbeat: None,
            metrics: NodeMetrics::default(),
            loaded: Vec::new(),
            stats: Vec::new(),
            registered_at,
            revision: 0,
        }
    }

    /// Whether `module@version` is loaded here.
    pub fn has_loaded(&self, module: &ModuleName, version: &Version) -> bool {
        self.loaded
            .iter()
            .any(|l| &l.module == module && &l.version == version)
    }

    /// Refuse a bad name, zone, endpoint, capabilities or metrics.
    pub fn validate(&self) -> Result<()> {
        check_word_pattern("name", &self.name, MAX_NODE_NAME_LEN, &['-'], false)?;
        if let Some(zone) = &self.zone {
            check_word_pattern("zone", zone, MAX_ZONE_LEN, &['-'], false)?;
        }
        validate_endpoint("endpoint", &self.endpoint)?;
        if let Some(ingress) = &self.ingress {
            validate_endpoint("ingress", ingress)?;
        }
        self.capabilities
            .validate()
            .map_err(|e| e.within("capabilities"))?;
        self.metrics.validate().map_err(|e| e.within("metrics"))?;
        Ok(())
    }
}

// `concat!` takes literals only, so the pieces are macros.
macro_rules! hex16 {
    () => {
        "[0-9A-Fa-f]{1,4}"
    };
}
/// An IPv6 address in hex groups (`::` once at most), no embedded IPv4.
#[rustfmt::skip]
macro_rules! ipv6 {
    () => {
        concat!(
            "((", hex16!(), ":){7}", hex16!(),
            "|(", hex16!(), ":){1,7}:",
            "|(", hex16!(), ":){1,6}:", hex16!(),
            "|(", hex16!(), ":){1,5}(:", hex16!(), "){1,2}",
            "|(", hex16!(), ":){1,4}(:", hex16!(), "){1,3}",
            "|(", hex16!(), ":){1,3}(:", hex16!(), "){1,4}",
            "|(", hex16!(), ":){1,2}(:", hex16!(), "){1,5}",
            "|", hex16!(), ":(:", hex16!(), "){1,6}",
            "|:((:", hex16!(), "){1,7}|:))"
        )
    };
}

/// A node's endpoint as [`EdgeNode::validate`] takes it: `http://` or
/// `https://`, a host (letters, digits, `.` and `-`, or a bracketed IPv6
/// address in hex groups, without an embedded IPv4 part), an optional port
/// 0..=65535 without leading zeros, then a path, query or fragment without
/// white space or control characters.
pub const ENDPOINT_PATTERN: &str = concat!(
    r"^https?://([A-Za-z0-9.-]+|\[",
    ipv6!(),
    r"\])",
    "(:(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"([/?#][^\s\x00-\x1f\x7f-\x9f]*)?$"
);

fn validate_endpoint(field: &str, endpoint: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::invalid(field, format!("{endpoint:?} {reason}")));
    if endpoint.chars().count() > MAX_ENDPOINT_LEN
        || endpoint
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_ENDPOINT_LEN} characters without white space"),
        ));
    }
    let Some(rest) = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
    else {
        return bad("must start with http:// or https://");
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) => (
                !addr.contains('.') && addr.parse::<std::net::Ipv6Addr>().is_ok(),
                after,
            ),
            None => (false, ""),
        },
        None => {
            // The port keeps its `:`, so `host:` is refused below.
            let colon = authority.find(':').unwrap_or(authority.len());
            let (host, port) = authority.split_at(colon);
            (
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                port,
            )
        }
    };
    if !host_ok {
        return bad("has no host name or bracketed IPv6 address");
    }
    if !port.is_empty() {
        // Anything after the host other than `:digits` is refused.
        let digits = port.strip_prefix(':').unwrap_or("x");
        let ok = !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && digits.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !ok {
            return bad("has a port that is not 0..=65535 (no leading zeros)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> EdgeNode {
        EdgeNode::new(
            "edge-1",
            Region::new("eu-west").unwrap(),
            "http://127.0.0.1:8081",
            NodeCapabilities::new(RuntimeKind::Wasmtime, 1 << 30),
            Utc::now(),
        )
    }

    proptest::proptest! {
        /// The OpenAPI pattern of an endpoint takes exactly what the
        /// parser takes, over the characters that matter.
        #[test]
        fn endpoints_are_exactly_their_pattern(
            rest in "[aZ0.:\\[\\]/?# -]{0,10}",
            port in "(|:|:0|:00|:8080|:65535|:65536|:099999)",
            scheme in "(http://|https://|ftp://)",
            v6 in "[0a:.]{0,10}",
        ) {
            let pattern = regex::Regex::new(ENDPOINT_PATTERN).unwrap();
            for endpoint in [format!("{scheme}{rest}"), format!("{scheme}h{port}{rest}"), format!("{scheme}[::1]{port}/{rest}"),
                format!("{scheme}[{v6}]{port}")] {
                proptest::prop_assert_eq!(
                    validate_endpoint("endpoint", &endpoint).is_ok(),
                    pattern.is_match(&endpoint),
                    "{:?}", endpoint
                );
            }
        }
    }

    #[test]
    fn validates_fields() {
        node().validate().unwrap();
        let mut n = node();
        n.endpoint = "ftp://x".into();
        assert!(
            n.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid endpoint")
        );
        let mut n = node();
        n.name = "Edge_1".into();
        assert!(
            n.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid name")
        );
        let mut n = node();
        n.capabilities.runtimes.clear();
        assert_eq!(
            n.validate().unwrap_err().to_string(),
            "invalid capabilities.runtimes: name at least one runtime"
        );
        let mut n = node();
        n.metrics.cpu_percent = 140.0;
        assert!(
            n.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid metrics.cpu_percent")
        );
    }

    #[test]
    fn capabilities_name_what_is_missing() {
        let caps =
            NodeCapabilities::new(RuntimeKind::Wasmer, 1 << 30).with_wasi(WasiVersion::Preview1);
        caps.supports(ModuleKind::Core, Some(WasiVersion::Preview1))
            .unwrap();
        let e = caps.supports(ModuleKind::Component, None).unwrap_err();
        assert!(e.to_string().contains("does not run components"));
        let e = caps
            .supports(ModuleKind::Core, Some(WasiVersion::Preview2))
            .unwrap_err();
        assert!(e.to_string().contains("Preview2"));
    }

    #[test]
    fn status_json_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&NodeStatus::Unhealthy).unwrap(),
            "\"unhealthy\""
        );
        assert!(NodeStatus::Healthy.accepts_traffic());
        assert!(!NodeStatus::Draining.accepts_traffic());
    }
}

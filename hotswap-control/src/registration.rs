//! Registering a module version: inspect the binary, take its interface
//! and check it against the module's history (through the interface
//! service when one is configured), store the blob, create the version.
//! A refused registration leaves no row; a blob stored just before a
//! refused row is an orphan the sweep removes ([`hotswap_core::storage`]).

use std::sync::Arc;

use bytes::Bytes;
use semver::Version;
use tracing::Instrument;

use crate::interface::{Caller, InterfaceService, Override};
use crate::store_module_version;
use hotswap_core::ResourceKind;
use hotswap_core::clock::Clock;
use hotswap_core::domain::wasm_features::check_features;
use hotswap_core::domain::{
    ConfigKey, KeyValueGrants, Labels, ModuleName, NodeStatus, OutboundGrants, ResourceLimits,
    WasmModule,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::inspect::{InspectOptions, inspect};
use hotswap_core::repository::{
    ModuleRepository, NodeFilter, NodeRepository, NodeRepositoryExt as _,
};
use hotswap_core::storage::ModuleStorage;

/// One module version to register.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Registration {
    /// The module's name.
    pub name: ModuleName,
    /// The version.
    pub version: Version,
    /// The wasm binary.
    pub bytes: Bytes,
    /// Limits for every call of the version (defaults when `None`).
    pub limits: Option<ResourceLimits>,
    /// Labels.
    pub labels: Labels,
    /// What the version may reach over HTTP (nothing by default).
    pub outbound: OutboundGrants,
    /// Which key-value buckets it may open (none by default).
    pub keyvalue: KeyValueGrants,
    /// The configuration keys it reads (none by default).
    pub config_keys: Vec<ConfigKey>,
    /// An admin's override of an incompatible interface, with its reason.
    pub override_: Option<Override>,
}

impl Registration {
    /// `name@version` from `bytes`, with default limits and no labels.
    pub fn new(name: ModuleName, version: Version, bytes: impl Into<Bytes>) -> Self {
        Self {
            name,
            version,
            bytes: bytes.into(),
            limits: None,
            labels: Labels::new(),
            outbound: OutboundGrants::default(),
            keyvalue: KeyValueGrants::default(),
            config_keys: Vec::new(),
            override_: None,
        }
    }
}

/// Registers module versions.
#[derive(Clone, Debug)]
pub struct ModuleRegistrar {
    storage: Arc<dyn ModuleStorage>,
    modules: Arc<dyn ModuleRepository>,
    interfaces: Option<InterfaceService>,
    nodes: Option<Arc<dyn NodeRepository>>,
    clock: Arc<dyn Clock>,
    inspect: InspectOptions,
}

impl ModuleRegistrar {
    /// A registrar storing blobs in `storage` and versions in `modules`,
    /// without interface checks.
    pub fn new(
        storage: Arc<dyn ModuleStorage>,
        modules: Arc<dyn ModuleRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            storage,
            modules,
            interfaces: None,
            nodes: None,
            clock,
            inspect: InspectOptions::default(),
        }
    }

    /// Check every version's interface through `service`.
    #[must_use]
    pub fn with_interfaces(mut self, service: InterfaceService) -> Self {
        self.interfaces = Some(service);
        self
    }

    /// Refuse versions that use WebAssembly features no node in `nodes`
    /// (online or not yet offline) accepts. With no node registered, every
    /// valid binary is taken: node selection checks again at deployment.
    #[must_use]
    pub fn with_nodes(mut self, nodes: Arc<dyn NodeRepository>) -> Self {
        self.nodes = Some(nodes);
        self
    }

    /// Inspect binaries under `options` (size cap).
    #[must_use]
    pub fn with_inspect_options(mut self, options: InspectOptions) -> Self {
        self.inspect = options;
        self
    }

    /// Register `r` for `caller`: invalid bytes are `Invalid` naming the
    /// problem, a duplicate version is `Conflict`, an incompatible
    /// interface is `Incompatible` with the findings (unless an admin
    /// overrides); nothing is stored then.
    pub async fn register(&self, r: Registration, caller: &Caller) -> Result<WasmModule> {
        let span = tracing::info_span!("module.register", module = %r.name, version = %r.version,
            by = %caller.name, bytes = r.bytes.len(), outcome = tracing::field::Empty);
        let result = self.store(r, caller).instrument(span.clone()).await;
        span.record("outcome", hotswap_core::observe::outcome(&result));
        if let Ok(m) = &result {
            let kind = match m.kind {
                hotswap_core::domain::ModuleKind::Core => "core",
                hotswap_core::domain::ModuleKind::Component => "component",
            };
            metrics::counter!(hotswap_core::observe::MODULES_REGISTERED, "kind" => kind)
                .increment(1);
        }
        result
    }

    async fn store(&self, r: Registration, caller: &Caller) -> Result<WasmModule> {
        let info = inspect(&r.bytes, &self.inspect)?;
        let mut module = info.into_module(r.name, r.version, caller.name.clone(), self.clock.now());
        module.labels = r.labels;
        module.outbound = r.outbound;
        module.keyvalue = r.keyvalue;
        module.config_keys = r.config_keys;
        if let Some(limits) = r.limits {
            module.limits = limits;
        }
        module.validate()?;
        self.check_fleet_features(&module).await?;
        // Refused before any blob is written; a concurrent duplicate that
        // slips past this is refused by the row's uniqueness, and its blob
        // is an orphan the sweep removes.
        if self
            .modules
            .get_version(&module.name, &module.version)
            .await
            .is_ok()
        {
            return Err(Error::AlreadyExists {
                kind: ResourceKind::ModuleVersion,
                id: module.reference(),
            });
        }
        match &self.interfaces {
            Some(service) => {
                service
                    .register_module_version(
                        &*self.storage,
                        &*self.modules,
                        module,
                        r.bytes,
                        caller,
                        r.override_.as_ref(),
                    )
                    .await
            }
            None => store_module_version(&*self.storage, &*self.modules, &module, r.bytes).await,
        }
    }

    /// `Incompatible` naming the features when no registered node accepts all
    /// of the version's WebAssembly features (the node that lacks fewest
    /// is the one named).
    async fn check_fleet_features(&self, module: &WasmModule) -> Result<()> {
        let Some(nodes) = &self.nodes else {
            return Ok(());
        };
        if module.wasm_features.is_empty() {
            return Ok(());
        }
        let nodes = nodes.all_nodes(&NodeFilter::default()).await?;
        let closest = nodes
            .iter()
            .filter(|n| n.status != NodeStatus::Offline)
            .map(|n| &n.capabilities.wasm_features)
            .min_by_key(|accepted| {
                module
                    .wasm_features
                    .iter()
                    .filter(|f| !accepted.contains(f))
                    .count()
            });
        let Some(accepted) = closest else {
            return Ok(());
        };
        check_features(&module.wasm_features, accepted, "any registered node").map_err(|e| {
            // 422: valid bytes, but the fleet cannot run them.
            Error::Incompatible {
                subject: format!("module {}", module.reference()),
                findings: vec![match e {
                    Error::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                }],
            }
        })
    }
}

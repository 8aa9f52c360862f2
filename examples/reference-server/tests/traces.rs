//! Traces across real HTTP hops, recorded by the OpenTelemetry SDK's
//! in-memory exporter: client -> control plane -> edge agent -> function
//! call is one trace of parent-child spans; registration is traced; and
//! every evaluation of a deployment, ticks later, is a child of the
//! deployment's span, down to the module load on the edge.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hotswap_control::{Backends, ControlPlane, ControlPlaneConfig, NodeHealthConfig};
use hotswap_core::clock::{Clock, SystemClock};
use hotswap_core::domain::{EdgeNode, NodeCapabilities, Region, RuntimeKind};
use hotswap_core::interface::MemoryInterfaceRegistry;
use hotswap_core::repository::memory::{
    MemoryDeploymentRepository, MemoryModuleRepository, MemoryNodeRepository,
};
use hotswap_core::storage::{MemoryStorage, ModuleStorage};
use hotswap_edge::{EdgeAgent, EdgeHost, EdgeHostConfig};
use hotswap_http::agent::{self, AgentState};
use hotswap_http::api::{self, ApiState};
use hotswap_http::auth::{AuthConfig, Role, TokenSigner, TokenSource, VerifyKey};
use hotswap_http::client::{ClientConfig, ControlPlaneClient, HttpNodeControl};
use hotswap_http::observe::W3cTraceLink;
use hotswap_http::server::{self, ServerLimits};
use hotswap_http::system::Metrics;
use hotswap_http::wire::{CreateDeployment, ExecuteRequest, ModuleMetadata};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::fixtures;
use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

const SECRET: &[u8] = b"trace test secret, long enough for HS256";

fn auth() -> Arc<hotswap_http::auth::Authenticator> {
    Arc::new(
        AuthConfig::new()
            .with_key(VerifyKey::Hs256 {
                kid: None,
                secret: SECRET.to_vec(),
            })
            .build()
            .unwrap(),
    )
}

fn token(roles: &[Role]) -> TokenSource {
    TokenSource::minted(
        TokenSigner::hs256(SECRET).unwrap(),
        "tracer",
        roles,
        Duration::from_secs(600),
    )
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, router, std::future::pending()));
    base
}

struct Spans(Vec<SpanData>);

impl Spans {
    fn named(&self, name: &str) -> Vec<&SpanData> {
        self.0.iter().filter(|s| s.name == name).collect()
    }

    fn by_id(&self) -> HashMap<SpanId, &SpanData> {
        self.0
            .iter()
            .map(|s| (s.span_context.span_id(), s))
            .collect()
    }

    /// The names from `span` up to its root.
    fn chain(&self, span: &SpanData) -> Vec<String> {
        let ids = self.by_id();
        let mut out = vec![span.name.to_string()];
        let mut at = span;
        while let Some(parent) = ids.get(&at.parent_span_id) {
            assert_eq!(
                parent.span_context.trace_id(),
                at.span_context.trace_id(),
                "a parent is in the same trace"
            );
            out.push(parent.name.to_string());
            at = parent;
        }
        out
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_client_control_plane_edge_and_call() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry().with(
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("test"))
            .with_filter(EnvFilter::new("info,hotswap_edge=debug")),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // An edge agent on wasmtime, served over HTTP.
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default().with_max_instances(8)).unwrap();
    let agent = Arc::new(EdgeAgent::new(
        Arc::new(EdgeHost::new(
            Arc::new(runtime),
            EdgeHostConfig::default().with_node_name("edge-1"),
        )),
        None,
    ));
    let edge = serve(agent::router(
        AgentState {
            name: "edge-1".into(),
            agent: agent.clone(),
            auth: auth(),
            metrics: Metrics::none(),
        },
        ServerLimits::default(),
    ))
    .await;

    // A control plane reaching it over HTTP, handing over blobs.
    let storage: Arc<dyn ModuleStorage> = Arc::new(MemoryStorage::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let control = HttpNodeControl::new(token(&[Role::ControlPlane]), ClientConfig::default())
        .unwrap()
        .with_storage(storage.clone());
    let modules = MemoryModuleRepository::new();
    let deployments = Arc::new(MemoryDeploymentRepository::holding(&modules));
    let backends = Backends::new(
        Arc::new(modules),
        Arc::new(MemoryNodeRepository::new()),
        deployments,
        Arc::new(MemoryInterfaceRegistry::new()),
        storage,
        Arc::new(control),
        clock.clone(),
    );
    let health = NodeHealthConfig::new(
        Duration::from_secs(1),
        Duration::from_secs(30),
        Duration::from_secs(60),
    )
    .unwrap();
    let plane = Arc::new(ControlPlane::new(
        backends,
        ControlPlaneConfig::new("trace-test")
            .with_node_health(health)
            .with_trace_link(Arc::new(W3cTraceLink)),
    ));
    let base = serve(api::router(
        ApiState {
            plane: plane.clone(),
            auth: auth(),
            metrics: Metrics::none(),
        },
        ServerLimits::default(),
    ))
    .await;
    let node = plane
        .node_service()
        .join(EdgeNode::new(
            "edge-1",
            Region::new("eu").unwrap(),
            edge,
            NodeCapabilities::new(RuntimeKind::Wasmtime, 1 << 30),
            clock.now(),
        ))
        .await
        .unwrap();
    let beat = || {
        plane
            .node_service()
            .heartbeat(node.id, agent.heartbeat(clock.now(), Default::default()))
    };
    beat().await.unwrap();

    let client =
        ControlPlaneClient::new(&base, token(&[Role::Admin]), ClientConfig::default()).unwrap();
    let meta = ModuleMetadata {
        name: "calc".into(),
        version: "1.0.0".into(),
        ..ModuleMetadata::default()
    };
    client
        .upload_module(&meta, fixtures::numeric(1).into())
        .instrument(tracing::info_span!("test.push"))
        .await
        .unwrap();
    let create = CreateDeployment {
        module: hotswap_core::domain::ModuleName::new("calc").unwrap(),
        to_version: "1.0.0".into(),
        from_version: None,
        strategy: None,
        target: None,
        health: None,
        stale_nodes: None,
        hooks: Vec::new(),
        environment: hotswap_core::domain::Environment::Development,
        config_revision: None,
        start: true,
    };
    let d = client
        .create_deployment(&create)
        .instrument(tracing::info_span!("test.deploy"))
        .await
        .unwrap();
    // Later ticks, outside any request, drive it to the end.
    for _ in 0..40 {
        beat().await.unwrap();
        plane.control_loop().tick(false).await.unwrap();
        let now = plane.deployment(d.id).await.unwrap();
        if now.phase.is_terminal() {
            assert_eq!(now.phase, hotswap_core::domain::DeploymentPhase::Succeeded);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let call = ExecuteRequest {
        module: "calc".into(),
        function: "add".into(),
        args: json!([2, 3]),
        ..ExecuteRequest::default()
    };
    let out = client
        .execute(&call)
        .instrument(tracing::info_span!("test.call"))
        .await
        .unwrap();
    assert_eq!(out.result, json!(5));

    provider.force_flush().unwrap();
    let spans = Spans(exporter.get_finished_spans().unwrap());

    // The call: test -> client -> control plane -> client -> edge -> wasm.
    let invoke = spans.named("function.invoke");
    let invoke = invoke
        .iter()
        .find(|s| spans.chain(s).last().map(String::as_str) == Some("test.call"))
        .expect("a traced call under test.call");
    assert_eq!(
        spans.chain(invoke),
        [
            "function.invoke",
            "POST /agent/v1/execute",
            "POST",
            "POST /api/v1/wasm/execute",
            "POST",
            "test.call"
        ]
    );
    assert_eq!(attr(invoke, "module").as_deref(), Some("calc"));
    assert_eq!(attr(invoke, "version").as_deref(), Some("1.0.0"));
    assert_eq!(attr(invoke, "node").as_deref(), Some("edge-1"));
    assert_eq!(attr(invoke, "outcome").as_deref(), Some("ok"));
    let ids = spans.by_id();
    let edge_server = ids[&invoke.parent_span_id];
    assert_eq!(
        attr(edge_server, "http.route").as_deref(),
        Some("/agent/v1/execute")
    );

    // Registration under the push.
    let register = spans.named("module.register");
    assert_eq!(register.len(), 1);
    assert_eq!(
        spans.chain(register[0]),
        [
            "module.register",
            "POST /api/v1/wasm/modules",
            "POST",
            "test.push"
        ]
    );
    assert_eq!(attr(register[0], "outcome").as_deref(), Some("ok"));

    // The deployment and its steps, across ticks.
    let deployment = spans.named("deployment");
    assert_eq!(deployment.len(), 1);
    assert_eq!(
        spans.chain(deployment[0])[1..],
        ["POST /api/v1/wasm/deployments", "POST", "test.deploy"]
    );
    let steps = spans.named("deployment.step");
    assert!(steps.len() >= 2, "{} steps", steps.len());
    for step in &steps {
        assert_eq!(
            step.parent_span_id,
            deployment[0].span_context.span_id(),
            "every step is a child of the deployment"
        );
        assert_eq!(attr(step, "module").as_deref(), Some("calc"));
    }
    let load = spans.named("module.load");
    let load = load.first().expect("the load on the edge is traced");
    let chain = spans.chain(load);
    assert_eq!(
        chain[..4],
        [
            "module.load",
            "POST /agent/v1/versions",
            "POST",
            "deployment.step"
        ],
        "{chain:?}"
    );
    assert_eq!(chain.last().map(String::as_str), Some("test.deploy"));
    assert_eq!(attr(load, "outcome").as_deref(), Some("ok"));
    assert_eq!(attr(load, "node").as_deref(), Some("edge-1"));
}

//! What hotswap tells operators: the metric names it emits through the
//! `metrics` facade, the histogram buckets exporters should use, the
//! outcome labels of calls, and the link that carries a deployment's trace
//! context across the ticks that drive it. Libraries only emit; binaries
//! install the recorder and the tracing exporter.

mod trace_link;

pub use trace_link::{NoTraceLink, TraceLink};

use crate::Error;

/// Counter: module versions registered, by `kind`.
pub const MODULES_REGISTERED: &str = "wasm_modules_registered_total";
/// Counter: deployments that ended, by `strategy` and `outcome` (the final
/// phase: `succeeded`, `rolled_back`, `failed`, `aborted`).
pub const DEPLOYMENTS_EXECUTED: &str = "wasm_deployments_executed_total";
/// Gauge: deployments in a phase now, by `phase` (`progressing`, `paused`).
pub const DEPLOYMENTS_ACTIVE: &str = "wasm_deployments_active";
/// Gauge: how long the longest-paused deployment has been paused, seconds.
pub const DEPLOYMENT_PAUSED_LONGEST: &str = "wasm_deployment_paused_longest_seconds";
/// Counter: function calls on an edge node, by `module`, `version`, `outcome`.
pub const FUNCTIONS_INVOKED: &str = "wasm_functions_invoked_total";
/// Histogram: duration of a function call, by `module`, `version`.
pub const FUNCTION_INVOKE_DURATION: &str = "wasm_function_invoke_duration_seconds";
/// Histogram: duration of a module load (compile or artifact load), by
/// `module`, `outcome`.
pub const MODULE_LOAD_DURATION: &str = "wasm_module_load_duration_seconds";
/// Gauge: healthy edge nodes, by `region`.
pub const EDGE_NODES_HEALTHY: &str = "wasm_edge_nodes_healthy";
/// Gauge: edge nodes, by `region` and `status`.
pub const EDGE_NODES: &str = "wasm_edge_nodes";
/// Gauge: module versions loaded on a node, by `node` and `region`.
pub const MODULES_DEPLOYED_PER_NODE: &str = "wasm_modules_deployed_per_node";
/// Counter: HTTP requests, by `method`, `route` (the matched pattern) and
/// `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Histogram: HTTP request duration, by `method`, `route`, `status`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";

/// Counter: outbound HTTP requests of modules, by `module`
/// (`name@version`) and `outcome`: `sent`, or why it was denied
/// (`not_granted`, `malformed`, `too_many`). It appears once a module
/// sends one, so it is not in [`METRICS`].
pub const OUTBOUND_REQUESTS: &str = "wasm_outbound_requests_total";

/// Counter: notifications by `sink` and `outcome` (`sent`, `failed` after
/// its retries, `dropped` when the sink's queue was full). It appears once
/// a notification is delivered or fails, so it is not in [`METRICS`].
pub const NOTIFICATIONS: &str = "wasm_notifications_total";

/// Counter: webhook calls of deployments, by `point` (`step`, ...) and
/// `outcome` (`allowed`, `refused` for a gate's non-2xx, `answered`,
/// `failed` with no answer). It appears once a hook is called, so it is
/// not in [`METRICS`].
pub const WEBHOOK_CALLS: &str = "wasm_webhook_calls_total";

/// Every metric above that a running server exposes from its start.
pub const METRICS: &[&str] = &[
    MODULES_REGISTERED,
    DEPLOYMENTS_EXECUTED,
    DEPLOYMENTS_ACTIVE,
    DEPLOYMENT_PAUSED_LONGEST,
    FUNCTIONS_INVOKED,
    FUNCTION_INVOKE_DURATION,
    MODULE_LOAD_DURATION,
    EDGE_NODES_HEALTHY,
    EDGE_NODES,
    MODULES_DEPLOYED_PER_NODE,
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
];

/// Bucket bounds, in seconds, for every `*_duration_seconds` histogram:
/// from 10 µs (a call) to a minute (compiling a large module).
pub const DURATION_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every `outcome` label a call can have.
pub const CALL_OUTCOMES: &[&str] = &[
    "ok",
    "trap",
    "timeout",
    "fuel_exhausted",
    "memory_limit",
    "overloaded",
    "invalid",
    "not_found",
    "error",
    "server_error",
];

/// The position in [`CALL_OUTCOMES`] of an HTTP request that ended with
/// `result`: a 5xx response is a `server_error`.
pub fn http_outcome_index(result: &Result<crate::runtime::http::HttpResponse, Error>) -> usize {
    match result {
        Ok(r) if r.status().is_server_error() => CALL_OUTCOMES.len() - 1,
        other => call_outcome_index(other),
    }
}

/// The position in [`CALL_OUTCOMES`] of the outcome of a call that ended
/// with `result`.
pub fn call_outcome_index<T>(result: &Result<T, Error>) -> usize {
    match result {
        Ok(_) => 0,
        Err(Error::Trap { .. }) => 1,
        Err(Error::Timeout { .. }) => 2,
        Err(Error::FuelExhausted { .. }) => 3,
        Err(Error::MemoryLimitExceeded { .. }) => 4,
        Err(Error::LimitExceeded { .. }) => 5,
        Err(Error::Invalid { .. }) => 6,
        Err(Error::NotFound { .. }) => 7,
        Err(_) => 8,
    }
}

/// The `outcome` label of a call that ended with `result`.
pub fn call_outcome<T>(result: &Result<T, Error>) -> &'static str {
    CALL_OUTCOMES[call_outcome_index(result)]
}

/// The `outcome` label of any other operation: `ok` or `error`.
pub fn outcome<T>(result: &Result<T, Error>) -> &'static str {
    if result.is_ok() { "ok" } else { "error" }
}

/// Describe every metric to the installed recorder (its `# HELP` text);
/// binaries call this once after installing one.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(MODULES_REGISTERED, "Module versions registered, by kind.");
    describe_counter!(
        DEPLOYMENTS_EXECUTED,
        "Deployments that ended, by strategy and outcome (final phase)."
    );
    describe_gauge!(
        DEPLOYMENTS_ACTIVE,
        "Deployments progressing or paused now, by phase."
    );
    describe_gauge!(
        DEPLOYMENT_PAUSED_LONGEST,
        Unit::Seconds,
        "How long the longest-paused deployment has been paused."
    );
    describe_counter!(
        FUNCTIONS_INVOKED,
        "Function calls on this edge node, by module, version and outcome."
    );
    describe_histogram!(
        FUNCTION_INVOKE_DURATION,
        Unit::Seconds,
        "Duration of function calls on this edge node, by module and version."
    );
    describe_histogram!(
        MODULE_LOAD_DURATION,
        Unit::Seconds,
        "Duration of module loads (compile or artifact load), by module and outcome."
    );
    describe_gauge!(EDGE_NODES_HEALTHY, "Healthy edge nodes, by region.");
    describe_gauge!(EDGE_NODES, "Edge nodes, by region and status.");
    describe_gauge!(
        MODULES_DEPLOYED_PER_NODE,
        "Module versions loaded on each edge node, by node and region."
    );
    describe_counter!(
        NOTIFICATIONS,
        "Notifications, by sink and outcome (sent, failed, dropped)."
    );
    describe_counter!(
        WEBHOOK_CALLS,
        "Webhook calls of deployments, by point and outcome (allowed, refused, answered, failed)."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests served, by method, route and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP requests served, by method, route and status."
    );
}

#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// `Problem` is the error of request handling: built once per refused
// request and turned into a response at once, never on the success path,
// so its size costs nothing where it matters.
#![allow(clippy::result_large_err)]

#[cfg(feature = "edge")]
pub mod agent;
#[cfg(feature = "control-plane")]
pub mod api;
pub mod auth;
pub mod client;
#[cfg(feature = "control-plane")]
mod console;
pub mod extract;
#[cfg(any(feature = "control-plane", feature = "edge"))]
pub mod ingress;
pub mod observe;
#[cfg(any(feature = "control-plane", feature = "edge"))]
mod openapi;
mod openapi_ranges;
pub mod problem;
pub mod server;
#[cfg(any(feature = "control-plane", feature = "edge"))]
pub mod system;
pub mod wire;
pub mod wit_payload;

pub use problem::{PROBLEM_JSON, Problem};

/// The prefix of every control-plane route.
pub const API_PREFIX: &str = "/api/v1/wasm";

/// The prefix of every edge-agent route.
pub const AGENT_PREFIX: &str = "/agent/v1";

/// One server for an all-in-one setup: the control-plane API and the local
/// node's edge agent on one listener, with one OpenAPI document.
#[cfg(all(feature = "control-plane", feature = "edge"))]
pub fn combined_router(
    api: api::ApiState,
    agent: agent::AgentState,
    limits: server::ServerLimits,
) -> axum::Router {
    let (api_router, mut doc) = api::routes(limits).split_for_parts();
    let (agent_router, agent_doc) = agent::agent_routes(limits).split_for_parts();
    doc.merge(agent_doc);
    let router = api_router
        .merge(console::routes())
        .with_state(api)
        .merge(agent_router.with_state(agent));
    server::harden(openapi::finish(router, doc), limits)
}

/// The OpenAPI document of [`combined_router`].
#[cfg(all(feature = "control-plane", feature = "edge"))]
pub fn combined_openapi() -> utoipa::openapi::OpenApi {
    let limits = server::ServerLimits::default();
    let mut doc = api::routes(limits).split_for_parts().1;
    doc.merge(agent::agent_routes(limits).split_for_parts().1);
    openapi::complete(doc)
}

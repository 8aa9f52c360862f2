//! The long-running roles: all-in-one, control plane, edge node, and the
//! HTTP ingress they start.

pub(crate) mod control_plane;
pub(crate) mod edge;
pub(crate) mod serve;

use std::sync::Arc;

use hotswap_control::ControlPlane;
use hotswap_core::runtime::http::HttpService;
use hotswap_edge::{HttpRouting, StickyKey};
use hotswap_http::ingress::{Ingress, IngressConfig};
use http::HeaderName;
use tokio::net::TcpListener;

use crate::AppResult;
use crate::cli::IngressArgs;

/// Bind `addr`, naming it in the error.
pub(crate) async fn listen(addr: &str) -> AppResult<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}").into())
}

/// Run the control loop of `plane` in the background.
pub(crate) fn spawn_control_loop(plane: &Arc<ControlPlane>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(plane.control_loop().clone().run())
}

/// How requests choose their version, from the ingress options.
pub(crate) fn http_routing(args: &IngressArgs) -> AppResult<HttpRouting> {
    let header = |option: &str, name: &str| {
        HeaderName::try_from(name).map_err(|e| format!("--{option} {name:?}: {e}"))
    };
    let mut routing = HttpRouting::default();
    if let Some(c) = &args.sticky_cookie {
        routing = routing.with_sticky(StickyKey::Cookie(c.clone()));
    }
    if let Some(h) = &args.sticky_header {
        routing = routing.with_sticky(StickyKey::Header(header("sticky-header", h)?));
    }
    if let Some(h) = &args.pin_header {
        routing = routing.with_pin_header(header("pin-header", h)?);
    }
    if let Some(h) = &args.version_header {
        routing = routing.with_version_header(header("version-header", h)?);
    }
    Ok(routing)
}

/// A started ingress: the URL it is reached at and its task.
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Start an ingress in front of `service` at the address the options give
/// (`default` when they give none; `off` or no address: none), stopping on
/// SIGINT or SIGTERM after the requests in flight.
pub(crate) async fn start_ingress(
    args: &IngressArgs,
    default: Option<&str>,
    service: Arc<dyn HttpService>,
) -> AppResult<Option<Started>> {
    let Some(addr) = args.ingress.as_deref().or(default) else {
        return Ok(None);
    };
    if addr == "off" {
        return Ok(None);
    }
    let mut config = IngressConfig::default();
    if let Some(n) = args.ingress_max_body_bytes {
        config = config.with_max_body_bytes(n);
    }
    if let Some(h) = &args.scheme_header {
        config = config.with_scheme_header(
            HeaderName::try_from(h.as_str()).map_err(|e| format!("--scheme-header {h:?}: {e}"))?,
        );
    }
    let listener = listen(addr).await?;
    let bound = listener.local_addr()?;
    let url = args
        .advertise_ingress
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let ingress = Ingress::new(service, config);
    let task = tokio::spawn(ingress.serve(listener, hotswap_http::server::shutdown_signal()));
    Ok(Some(Started { url, task }))
}

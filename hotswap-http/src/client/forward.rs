//! Forwarding an HTTP request to a node's ingress, for setups where
//! clients reach only the control plane: method, path with query, headers
//! (the client's `Host` included, so the node routes by it) and both bodies
//! stream through; hop-by-hop headers stay behind.

use std::time::Duration;

use futures::TryStreamExt;
use http::HeaderMap;
use http::header::{self, HeaderName};
use http_body_util::{BodyExt, StreamBody};

use hotswap_core::domain::EdgeNode;
use hotswap_core::error::{BoxError, Error, Result};
use hotswap_core::runtime::http::{HttpCall, HttpResponse};

/// Headers that belong to one connection, not to the request.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    // Headers a `Connection` header names are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(n, _)| {
            !HOP_BY_HOP.contains(n)
                && n.as_str() != "keep-alive"
                && !named.iter().any(|x| x == n.as_str())
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// Send `call` to `node`'s ingress with `client`, waiting at most
/// `timeout` for the whole exchange.
pub(crate) async fn forward(
    client: &reqwest::Client,
    node: &EdgeNode,
    call: HttpCall,
    timeout: Duration,
) -> Result<HttpResponse> {
    let service = format!("node {}", node.name);
    let base = node.ingress.as_deref().ok_or_else(|| Error::Unavailable {
        service: service.clone(),
        temporary: false,
        reason: "the node registered no HTTP ingress".into(),
        source: None,
    })?;
    let (parts, body) = call.request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut headers = end_to_end(&parts.headers);
    if !headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(v) = authority.as_str().parse()
    {
        headers.insert(header::HOST, v);
    }
    if let Ok(v) = call.scheme.as_str().parse() {
        headers.insert(HeaderName::from_static("x-forwarded-proto"), v);
    }
    let response = client
        .request(parts.method, url)
        .headers(headers)
        .timeout(timeout)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await
        .map_err(|e| Error::unavailable(service, true, e))?;
    let mut out = http::Response::builder().status(response.status());
    if let Some(h) = out.headers_mut() {
        *h = end_to_end(response.headers());
    }
    let body = StreamBody::new(
        response
            .bytes_stream()
            .map_ok(http_body::Frame::data)
            .map_err(BoxError::from),
    );
    out.body(body.boxed_unsync())
        .map_err(|e| Error::internal(format!("cannot build the forwarded response: {e}")))
}

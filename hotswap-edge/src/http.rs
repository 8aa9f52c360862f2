//! HTTP requests on the edge host: the route table that maps a host and a
//! path prefix to a module, and the version choice made on the real
//! request (header rules on its headers, a sticky key from a header or a
//! cookie, an opt-in pin header) before the request goes to a fresh
//! instance of that version.

use std::sync::Arc;
use std::time::Instant;

use http::header::{COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use semver::Version;

use hotswap_core::ResourceKind;
use hotswap_core::domain::{
    HttpRouteSet, HttpRouteTable, ModuleName, RouteContext, RouteMatch, RoutingTable,
};
use hotswap_core::error::{Error, Result};
use hotswap_core::observe::http_outcome_index;
use hotswap_core::runtime::http::{HttpCall, HttpResponse, HttpService};

use crate::EdgeHost;

/// Where a request's sticky routing key comes from: requests with the same
/// key get the same version while the weights allow it, so a user keeps
/// their version as a canary's weight rises.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StickyKey {
    /// The value of this request header (a user or session id set by a
    /// gateway in front).
    Header(HeaderName),
    /// The value of this cookie; a request without it gets a fresh random
    /// key, set on the response as the cookie (`Path=/; HttpOnly;
    /// SameSite=Lax`).
    Cookie(String),
}

/// How HTTP requests choose their version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRouting {
    /// The sticky key; without one, each request rolls the weights anew.
    pub sticky: Option<StickyKey>,
    /// A request header that pins a version (`x-hotswap-version: 1.2.0`),
    /// for testers; off unless set.
    pub pin_header: Option<HeaderName>,
    /// A response header that names the version that answered; off unless
    /// set (production responses need not say it).
    pub version_header: Option<HeaderName>,
}

impl HttpRouting {
    /// Take sticky keys from `key`.
    #[must_use]
    pub fn with_sticky(mut self, key: StickyKey) -> Self {
        self.sticky = Some(key);
        self
    }

    /// Let requests pin a version with header `name`.
    #[must_use]
    pub fn with_pin_header(mut self, name: HeaderName) -> Self {
        self.pin_header = Some(name);
        self
    }

    /// Name the serving version in response header `name`.
    #[must_use]
    pub fn with_version_header(mut self, name: HeaderName) -> Self {
        self.version_header = Some(name);
        self
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"'))
        })
}

fn has_header_rules(table: &RoutingTable) -> bool {
    table
        .rules
        .iter()
        .any(|r| matches!(r.when, RouteMatch::Header { .. }))
}

impl EdgeHost {
    /// Publish the node's HTTP routes atomically. Refused, changing
    /// nothing, when a route is invalid or two clash (`Invalid`,
    /// `Conflict`), or when the set is older than the published one
    /// (`Conflict`). The routes may name modules not (yet) served here.
    pub fn apply_http_routes(&self, set: &HttpRouteSet) -> Result<()> {
        let table = HttpRouteTable::new(set)?;
        let _serial = self.state();
        let published = self.http_routes.load();
        if set.revision < published.revision() {
            return Err(Error::conflict(
                "http routes",
                format!(
                    "revision {} is older than the published revision {}",
                    set.revision,
                    published.revision()
                ),
            ));
        }
        self.http_routes.store(Arc::new(table));
        tracing::info!(
            revision = set.revision,
            routes = set.routes.len(),
            "http routes published"
        );
        Ok(())
    }

    /// The published HTTP routes.
    pub fn http_routes(&self) -> HttpRouteSet {
        let table = self.http_routes.load();
        HttpRouteSet {
            revision: table.revision(),
            routes: table.routes(),
        }
    }

    /// Serve one HTTP request on the module its host and path route to.
    ///
    /// No route for them is `NotFound` (kind `http route`); a route whose
    /// module has no routing table here is a temporary `Unavailable`.
    pub async fn serve_http(&self, call: HttpCall) -> Result<HttpResponse> {
        let routes = self.http_routes.load();
        let route = routes.route_of(&call.request)?;
        match self.serve_http_module(&route.module, call).await {
            Err(Error::NotFound {
                kind: ResourceKind::RoutedModule,
                id,
            }) => Err(Error::Unavailable {
                service: format!("module {id}"),
                temporary: true,
                reason: "a route names it, but no version of it is routed on this node".into(),
                source: None,
            }),
            other => other,
        }
    }

    /// Serve one HTTP request on `module`, on the version its routing table
    /// chooses for this request.
    ///
    /// A pin header naming a version the table does not serve is
    /// `NotFound` (kind `pinnable version`), one that is not a version
    /// `Invalid`. A 5xx response counts as an error of the version.
    pub async fn serve_http_module(
        &self,
        module: &ModuleName,
        call: HttpCall,
    ) -> Result<HttpResponse> {
        let routing = &self.config.http;
        let routes = self.routes.load();
        let published = routes.get(module).ok_or_else(|| self.unrouted(module))?;
        let headers = call.request.headers();
        let pin: Option<Version> = match routing.pin_header.as_ref().and_then(|h| headers.get(h)) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|v| Version::parse(v.trim()).ok())
                    .ok_or_else(|| {
                        Error::invalid(
                            routing.pin_header.as_ref().map_or("", |h| h.as_str()),
                            format!("header value {v:?} is not a semantic version"),
                        )
                    })?,
            ),
        };
        let mut new_cookie = None;
        let key = match &routing.sticky {
            None => None,
            Some(StickyKey::Header(name)) => headers.get(name).and_then(|v| v.to_str().ok()),
            Some(StickyKey::Cookie(name)) => match cookie(headers, name) {
                Some(k) => Some(k),
                None => Some(&**new_cookie.insert(format!("{:032x}", fastrand::u128(..)))),
            },
        };
        let pairs: Vec<(&str, &str)> = if has_header_rules(&published.table) {
            headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
                .collect()
        } else {
            Vec::new()
        };
        let ctx = RouteContext {
            headers: &pairs,
            key,
            pin: pin.as_ref(),
            roll: fastrand::u32(..),
        };
        let (entry, _reason) = published.choose(&ctx)?;
        let set_cookie = match (&routing.sticky, new_cookie) {
            (Some(StickyKey::Cookie(name)), Some(key)) => {
                HeaderValue::try_from(format!("{name}={key}; Path=/; HttpOnly; SameSite=Lax")).ok()
            }
            _ => None,
        };
        drop(pairs);

        let start = Instant::now();
        let running = entry.counters.start();
        let outcome = entry.compiled.serve_http(call).await;
        drop(running);
        let elapsed = start.elapsed();
        let failed = match &outcome {
            Ok(r) => r.status().is_server_error(),
            Err(_) => true,
        };
        entry
            .counters
            .count(elapsed, failed, outcome.as_ref().err());
        entry.metrics.record(http_outcome_index(&outcome), elapsed);
        let mut response = outcome?;
        if let Some(name) = &routing.version_header
            && let Ok(v) = HeaderValue::try_from(entry.version.to_string())
        {
            response.headers_mut().insert(name.clone(), v);
        }
        if let Some(c) = set_cookie {
            response.headers_mut().append(SET_COOKIE, c);
        }
        Ok(response)
    }
}

#[async_trait::async_trait]
impl HttpService for EdgeHost {
    async fn serve_http(&self, call: HttpCall) -> Result<HttpResponse> {
        EdgeHost::serve_http(self, call).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = http::HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; uid=\"u-7\""));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "uid"), Some("u-7"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "u"), None);
    }
}

//! HTTP routes: which module answers the requests for a host and a path
//! prefix, and the table an edge node looks requests up in.
//!
//! - A route's host is a lowercase DNS name or IP address (no port), or
//!   `*` for any host no other route names. Its prefix is an absolute path
//!   without query, normalized (no trailing `/` except the root).
//! - A request goes to the route of its host (else of `*`) with the longest
//!   prefix that matches its path on a segment boundary: `/api` takes
//!   `/api` and `/api/users`, not `/apis`.
//! - Two routes with the same host and prefix conflict.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ModuleName, RouteId};
use crate::error::{Error, ResourceKind, Result};

/// The host of a route that takes requests no other host's routes take.
pub const ANY_HOST: &str = "*";

/// The longest path prefix accepted, in characters.
pub const MAX_PATH_PREFIX_LEN: usize = 1024;

/// The longest host accepted.
pub const MAX_HOST_LEN: usize = 253;

// The pieces the patterns below are made of (`concat!` takes literals
// only, so they are macros).
macro_rules! dns_label {
    (any_case) => {
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
    (lowercase) => {
        r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
    };
}
/// A path segment: not empty, `.` or `..`; none of `/`, `?`, `#`, white
/// space or control characters.
macro_rules! path_segment {
    () => {
        concat!(
            r"([^/?#\s\x00-\x1f\x7f-\x9f.]",
            path_char!(),
            "*",
            r"|\.[^/?#\s\x00-\x1f\x7f-\x9f.]",
            path_char!(),
            "*",
            r"|\.\.",
            path_char!(),
            "+)"
        )
    };
}
macro_rules! path_char {
    () => {
        r"[^/?#\s\x00-\x1f\x7f-\x9f]"
    };
}

/// A host as [`normalize_host`] takes it: `*`, or DNS labels of letters
/// (either case), digits and inner hyphens, with trailing dots.
pub const HOST_INPUT_PATTERN: &str = concat!(
    r"^(\*|",
    dns_label!(any_case),
    r"(\.",
    dns_label!(any_case),
    r")*)\.*$"
);

/// A host in normal form (what [`HttpRoute::validate`] takes).
pub const HOST_PATTERN: &str = concat!(
    r"^(\*|",
    dns_label!(lowercase),
    r"(\.",
    dns_label!(lowercase),
    r")*)$"
);

/// A path prefix as [`normalize_prefix`] takes it: `/`-separated segments
/// that are not empty, `.` or `..`, without `?`, `#`, white space or
/// control characters; trailing slashes allowed.
pub const PATH_PREFIX_INPUT_PATTERN: &str = concat!(r"^(/+|(/", path_segment!(), r")+/*)$");

/// A path prefix in normal form: `/`, or segments without a trailing `/`.
pub const PATH_PREFIX_PATTERN: &str = concat!(r"^(/|(/", path_segment!(), r")+)$");

/// One route: requests for `host` under `path_prefix` go to `module`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    /// The route's id.
    pub id: RouteId,
    /// The host, lowercase, without port; `*` for any host.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::host))]
    pub host: String,
    /// The path prefix, normalized; `/` for every path.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::domain::schema::path_prefix))]
    pub path_prefix: String,
    /// The module that answers.
    pub module: ModuleName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl HttpRoute {
    /// A new route, host and prefix normalized and checked: `Invalid`
    /// naming `host` or `path_prefix` when one is not acceptable.
    pub fn new(
        host: &str,
        path_prefix: Option<&str>,
        module: ModuleName,
        created_at: DateTime<Utc>,
    ) -> Result<Self> {
        Ok(Self {
            id: RouteId::new(),
            host: normalize_host(host)?,
            path_prefix: normalize_prefix(path_prefix.unwrap_or("/"))?,
            module,
            created_at,
        })
    }

    /// Check a route that came from outside (a stored row, a pushed set):
    /// its host and prefix must already be in normal form.
    pub fn validate(&self) -> Result<()> {
        if normalize_host(&self.host)? != self.host {
            return Err(Error::invalid(
                "host",
                format!("{:?} is not in normal form (lowercase, no port)", self.host),
            ));
        }
        if normalize_prefix(&self.path_prefix)? != self.path_prefix {
            return Err(Error::invalid(
                "path_prefix",
                format!(
                    "{:?} is not in normal form (no trailing /)",
                    self.path_prefix
                ),
            ));
        }
        Ok(())
    }

    /// Whether `other` claims the same host and prefix.
    pub fn clashes_with(&self, other: &HttpRoute) -> bool {
        self.host == other.host && self.path_prefix == other.path_prefix
    }

    /// The `Conflict` refusing `self` because `existing` holds its place.
    pub fn conflict_with(&self, existing: &HttpRoute) -> Error {
        Error::conflict(
            format!("route {self}"),
            format!(
                "it clashes with route {} ({existing} to module {})",
                existing.id, existing.module
            ),
        )
    }

    /// Whether `path` (without query) lies under this route's prefix.
    pub fn matches_path(&self, path: &str) -> bool {
        prefix_matches(&self.path_prefix, path)
    }
}

impl fmt::Display for HttpRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.host, self.path_prefix)
    }
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `host` lowercased and checked: DNS labels of letters, digits and `-`
/// (which also covers IPv4 addresses), or `*`.
pub fn normalize_host(host: &str) -> Result<String> {
    let invalid = |reason: String| Err(Error::invalid("host", reason));
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == ANY_HOST {
        return Ok(host);
    }
    if host.is_empty() {
        return invalid("must not be empty (use \"*\" for any host)".into());
    }
    if host.len() > MAX_HOST_LEN {
        return invalid(format!(
            "is {} characters long, at most {MAX_HOST_LEN} are allowed",
            host.len()
        ));
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return invalid(format!(
                "{host:?} is not a host name: each dot-separated label must be 1 to 63 \
                 letters, digits or inner hyphens (no port, no scheme)"
            ));
        }
    }
    Ok(host)
}

/// `prefix` checked and normalized: absolute, no query or fragment, no
/// empty, `.` or `..` segments, no trailing `/` except the root.
pub fn normalize_prefix(prefix: &str) -> Result<String> {
    let invalid = |reason: String| Err(Error::invalid("path_prefix", reason));
    if !prefix.starts_with('/') {
        return invalid(format!("{prefix:?} must start with /"));
    }
    let chars = prefix.chars().count();
    if chars > MAX_PATH_PREFIX_LEN {
        return invalid(format!(
            "is {chars} characters long, at most {MAX_PATH_PREFIX_LEN} are allowed"
        ));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace() || c.is_control())
    {
        return invalid(format!(
            "{prefix:?} holds {c:?}: a prefix is a path, without query or fragment"
        ));
    }
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok("/".into());
    }
    if let Some(seg) = trimmed[1..]
        .split('/')
        .find(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return invalid(format!(
            "{prefix:?} holds the segment {seg:?}: segments must not be empty, . or .."
        ));
    }
    Ok(trimmed.to_owned())
}

/// Every route at one revision: what the control plane stores and pushes
/// to a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpRouteSet {
    /// Bumped by every change of the routes; a node refuses a set older
    /// than the one it holds.
    pub revision: u64,
    /// The routes, ordered by host and prefix.
    pub routes: Vec<HttpRoute>,
}

impl HttpRouteSet {
    /// Check every route and that no two clash.
    pub fn validate(&self) -> Result<()> {
        for (i, r) in self.routes.iter().enumerate() {
            r.validate()
                .map_err(|e| e.within(&format!("routes[{i}]")))?;
            if let Some(other) = self.routes[..i].iter().find(|o| o.clashes_with(r)) {
                return Err(r.conflict_with(other));
            }
        }
        Ok(())
    }

    /// The routes of `modules` only, at the same revision.
    pub fn only_modules(&self, keep: impl Fn(&ModuleName) -> bool) -> Self {
        Self {
            revision: self.revision,
            routes: self
                .routes
                .iter()
                .filter(|r| keep(&r.module))
                .cloned()
                .collect(),
        }
    }
}

/// Routes indexed for lookup on every request.
#[derive(Clone, Debug, Default)]
pub struct HttpRouteTable {
    /// Per host, prefixes longest first.
    hosts: HashMap<String, Vec<HttpRoute>>,
    revision: u64,
}

impl HttpRouteTable {
    /// Index a checked set.
    pub fn new(set: &HttpRouteSet) -> Result<Self> {
        set.validate()?;
        let mut hosts: HashMap<String, Vec<HttpRoute>> = HashMap::new();
        for r in &set.routes {
            hosts.entry(r.host.clone()).or_default().push(r.clone());
        }
        for routes in hosts.values_mut() {
            routes.sort_by_key(|r| std::cmp::Reverse(r.path_prefix.len()));
        }
        Ok(Self {
            hosts,
            revision: set.revision,
        })
    }

    /// The revision of the set it indexes.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The route for a request to `host` (as sent: any case, maybe with a
    /// port) and `path` (without query): the longest matching prefix of the
    /// host's routes, else of `*`'s.
    pub fn lookup(&self, host: &str, path: &str) -> Option<&HttpRoute> {
        let host = strip_port(host).trim_end_matches('.');
        let exact = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.hosts.get(&host.to_ascii_lowercase())
        } else {
            self.hosts.get(host)
        };
        fn find<'t>(routes: Option<&'t Vec<HttpRoute>>, path: &str) -> Option<&'t HttpRoute> {
            routes?.iter().find(|r| r.matches_path(path))
        }
        find(exact, path).or_else(|| find(self.hosts.get(ANY_HOST), path))
    }

    /// The route for `request`, by the host of its URI (else its `Host`
    /// header) and its path; `NotFound` (kind `http route`) naming both.
    pub fn route_of<B>(&self, request: &http::Request<B>) -> Result<&HttpRoute> {
        let host = request
            .uri()
            .host()
            .or_else(|| {
                request
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or("");
        let path = request.uri().path();
        self.lookup(host, path)
            .ok_or_else(|| Error::not_found(ResourceKind::HttpRoute, format!("{host}{path}")))
    }

    /// Every route, ordered by host and prefix.
    pub fn routes(&self) -> Vec<HttpRoute> {
        let mut all: Vec<HttpRoute> = self.hosts.values().flatten().cloned().collect();
        all.sort_by(|a, b| (&a.host, &a.path_prefix).cmp(&(&b.host, &b.path_prefix)));
        all
    }
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i)
            if !host[i..].contains(']') && host[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &host[..i]
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn route(host: &str, prefix: &str, module: &str) -> HttpRoute {
        HttpRoute::new(
            host,
            Some(prefix),
            ModuleName::new(module).unwrap(),
            Utc::now(),
        )
        .unwrap()
    }

    fn table(routes: Vec<HttpRoute>) -> HttpRouteTable {
        HttpRouteTable::new(&HttpRouteSet {
            revision: 1,
            routes,
        })
        .unwrap()
    }

    #[test]
    fn hosts_and_prefixes_are_normalized_or_refused_by_name() {
        let r = route("Example.COM.", "/api/", "a");
        assert_eq!(
            (r.host.as_str(), r.path_prefix.as_str()),
            ("example.com", "/api")
        );
        assert_eq!(route("*", "///", "a").path_prefix, "/");
        let m = ModuleName::new("a").unwrap();
        for (host, prefix, field) in [
            ("example.com:8080", "/", "host"),
            ("http://example.com", "/", "host"),
            ("", "/", "host"),
            ("a..b", "/", "host"),
            ("-a.com", "/", "host"),
            ("a.com", "api", "path_prefix"),
            ("a.com", "/api?x=1", "path_prefix"),
            ("a.com", "/a//b", "path_prefix"),
            ("a.com", "/a/../b", "path_prefix"),
            ("a.com", "/a b", "path_prefix"),
        ] {
            let e = HttpRoute::new(host, Some(prefix), m.clone(), Utc::now()).unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { field: f, .. } if f == field),
                "{host} {prefix}: {e}"
            );
        }
    }

    #[test]
    fn the_longest_prefix_on_a_segment_boundary_wins() {
        let t = table(vec![
            route("example.com", "/", "root"),
            route("example.com", "/api", "api"),
            route("example.com", "/api/v2", "v2"),
            route("*", "/static", "any"),
        ]);
        let at = |host: &str, path: &str| t.lookup(host, path).map(|r| r.module.to_string());
        assert_eq!(at("example.com", "/api/v2/users").as_deref(), Some("v2"));
        assert_eq!(at("example.com", "/api/v2").as_deref(), Some("v2"));
        assert_eq!(at("example.com", "/api/v20").as_deref(), Some("api"));
        assert_eq!(at("example.com", "/apis").as_deref(), Some("root"));
        assert_eq!(at("EXAMPLE.com:8080", "/api").as_deref(), Some("api"));
        assert_eq!(at("other.org", "/static/x.css").as_deref(), Some("any"));
        assert_eq!(at("other.org", "/"), None);
        // The exact host's routes come first, `*` only when none matches.
        assert_eq!(at("example.com", "/static").as_deref(), Some("root"));
    }

    #[test]
    fn a_set_with_two_routes_at_one_place_is_refused_naming_both() {
        let a = route("a.com", "/x", "one");
        let b = route("a.com", "/x/", "two");
        let e = HttpRouteSet {
            revision: 1,
            routes: vec![a.clone(), b],
        }
        .validate()
        .unwrap_err();
        assert!(
            e.to_string().contains(&a.id.to_string()) && e.to_string().contains("a.com/x"),
            "{e}"
        );
    }

    proptest! {
        /// The OpenAPI patterns take exactly what the parsers take: hosts
        /// and prefixes built from the characters that matter (case, dots,
        /// hyphens, slashes, a query mark, white space, a control).
        #[test]
        fn host_and_prefix_patterns_are_exactly_their_parsers(
            host in "[aZ09*.-]{0,8}",
            prefix in "[/a.?# \u{1}]{0,8}",
        ) {
            let input = regex::Regex::new(HOST_INPUT_PATTERN).unwrap();
            let normal = regex::Regex::new(HOST_PATTERN).unwrap();
            let parsed = normalize_host(&host);
            prop_assert_eq!(parsed.is_ok(), input.is_match(&host), "{:?}", host);
            prop_assert_eq!(parsed.is_ok_and(|h| h == host), normal.is_match(&host), "{:?}", host);
            let input = regex::Regex::new(PATH_PREFIX_INPUT_PATTERN).unwrap();
            let normal = regex::Regex::new(PATH_PREFIX_PATTERN).unwrap();
            let parsed = normalize_prefix(&prefix);
            prop_assert_eq!(parsed.is_ok(), input.is_match(&prefix), "{:?}", prefix);
            prop_assert_eq!(parsed.is_ok_and(|p| p == prefix), normal.is_match(&prefix), "{:?}", prefix);
        }

        /// Lookup agrees with the definition: of the routes whose prefix
        /// matches, the longest of the exact host's, else of `*`'s.
        #[test]
        fn lookup_is_the_longest_matching_prefix(
            prefixes in proptest::collection::btree_set("(/[ab]{1,2}){0,3}", 1..8),
            any in proptest::collection::btree_set("(/[ab]{1,2}){0,2}", 0..3),
            path in "(/[ab]{1,3}){0,4}",
        ) {
            let mut routes: Vec<HttpRoute> = prefixes.iter().enumerate()
                .map(|(i, p)| route("h.com", if p.is_empty() { "/" } else { p }, &format!("m{i}")))
                .collect();
            routes.extend(any.iter().enumerate()
                .map(|(i, p)| route("*", if p.is_empty() { "/" } else { p }, &format!("any{i}"))));
            let path = if path.is_empty() { "/".to_owned() } else { path };
            let t = table(routes.clone());
            let best = |host: &str| routes.iter()
                .filter(|r| r.host == host && r.matches_path(&path))
                .max_by_key(|r| r.path_prefix.len());
            let want = best("h.com").or_else(|| best("*"));
            prop_assert_eq!(t.lookup("h.com", &path), want);
        }
    }
}

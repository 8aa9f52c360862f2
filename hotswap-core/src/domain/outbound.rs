//! Outbound HTTP grants of a module version: the destinations it may call
//! through `wasi:http/outgoing-handler`, and limits per invocation. With no
//! rule, nothing is reachable.
//!
//! A rule is `scheme://host[:port]`:
//! - scheme `http`, `https` or `*` (either);
//! - host a DNS name (`api.example.com`), `*.` and a name for its
//!   subdomains only (`*.example.com` matches `a.example.com` and
//!   `a.b.example.com`, never `example.com`), an IPv4 address, or an IPv6
//!   address in brackets;
//! - port a number or `*`; without one, the scheme's default (80 or 443).
//!
//! A destination matches only in its plain form: a host that is neither a
//! DNS name nor an IP address in its usual notation (`2130706433`,
//! `0x7f.1`, `127.1`), an authority with userinfo (`a@b`), or another
//! scheme is denied whatever the rules say.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most rules one version may hold.
pub const MAX_OUTBOUND_RULES: usize = 64;

/// Which scheme a rule admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RuleScheme {
    Http,
    Https,
    Any,
}

/// Which hosts a rule admits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RuleHost {
    /// This DNS name.
    Name(String),
    /// Names ending in `.` and this name.
    Subdomains(String),
    /// This address.
    Ip(IpAddr),
}

/// Which ports a rule admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RulePort {
    /// The destination scheme's default port.
    Default,
    /// This port.
    Exact(u16),
    /// Every port.
    Any,
}

/// One allowed destination pattern, written `scheme://host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OutboundRule {
    scheme: RuleScheme,
    host: RuleHost,
    port: RulePort,
}

/// A destination the guest asked for, in its checked plain form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// `http` or `https`.
    pub https: bool,
    /// The host, lowercase, without a trailing dot.
    host: DestHost,
    /// The port (the scheme's default when none was given).
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DestHost {
    Name(String),
    Ip(IpAddr),
}

/// Why a destination is denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The destination is not a plain `http(s)://host[:port]`.
    Malformed(String),
    /// No rule admits it.
    NotGranted,
    /// The invocation sent as many requests as it may.
    TooManyRequests(u32),
}

impl Denial {
    /// A short label for metrics: `malformed`, `not_granted`, `too_many`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::NotGranted => "not_granted",
            Self::TooManyRequests(_) => "too_many",
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a plain http(s) destination: {why}"),
            Self::NotGranted => f.write_str("no outbound rule of the module version allows it"),
            Self::TooManyRequests(n) => write!(f, "the invocation already sent {n} requests"),
        }
    }
}

/// What a module version may reach over HTTP, and limits per invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct OutboundGrants {
    /// Allowed destinations; none by default.
    pub allow: Vec<OutboundRule>,
    /// Outbound requests one invocation may send.
    pub max_requests: u32,
    /// The most connecting may take, milliseconds.
    pub connect_timeout_ms: u64,
    /// The most the first byte of a response, and then each next one, may
    /// take, milliseconds.
    pub timeout_ms: u64,
    /// The largest response body, bytes.
    pub max_response_bytes: u64,
}

impl Default for OutboundGrants {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            max_requests: 16,
            connect_timeout_ms: 5_000,
            timeout_ms: 30_000,
            max_response_bytes: 16 * 1024 * 1024,
        }
    }
}

impl OutboundGrants {
    /// Grants allowing `rules` with the default limits.
    pub fn allowing<I, S>(rules: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allow = rules
            .into_iter()
            .map(|r| r.as_ref().parse())
            .collect::<Result<Vec<OutboundRule>>>()?;
        let grants = Self {
            allow,
            ..Self::default()
        };
        grants.validate()?;
        Ok(grants)
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
    }

    /// Check the limits; a bad one names its field.
    pub fn validate(&self) -> Result<()> {
        if self.allow.len() > MAX_OUTBOUND_RULES {
            return Err(Error::invalid(
                "outbound.allow",
                format!("at most {MAX_OUTBOUND_RULES} rules"),
            ));
        }
        let positive = |field: &str, v: u64| {
            if v == 0 {
                Err(Error::invalid(
                    format!("outbound.{field}"),
                    "must be at least 1",
                ))
            } else {
                Ok(())
            }
        };
        positive("max_requests", u64::from(self.max_requests))?;
        positive("connect_timeout_ms", self.connect_timeout_ms)?;
        positive("timeout_ms", self.timeout_ms)?;
        positive("max_response_bytes", self.max_response_bytes)
    }

    /// Whether a request to `scheme://authority` may go out.
    pub fn check(&self, scheme: &str, authority: &str) -> std::result::Result<Destination, Denial> {
        let dest = Destination::parse(scheme, authority)?;
        if self.allow.iter().any(|r| r.admits(&dest)) {
            Ok(dest)
        } else {
            Err(Denial::NotGranted)
        }
    }
}

impl OutboundRule {
    fn admits(&self, d: &Destination) -> bool {
        let scheme = match self.scheme {
            RuleScheme::Any => true,
            RuleScheme::Https => d.https,
            RuleScheme::Http => !d.https,
        };
        let port = match self.port {
            RulePort::Any => true,
            RulePort::Exact(p) => p == d.port,
            RulePort::Default => d.port == default_port(d.https),
        };
        let host = match (&self.host, &d.host) {
            (RuleHost::Name(n), DestHost::Name(h)) => n == h,
            (RuleHost::Subdomains(n), DestHost::Name(h)) => h
                .strip_suffix(n.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            (RuleHost::Ip(a), DestHost::Ip(b)) => a == b,
            _ => false,
        };
        scheme && port && host
    }
}

fn default_port(https: bool) -> u16 {
    if https { 443 } else { 80 }
}

impl Destination {
    /// The plain form of `scheme://authority`, or why it has none.
    pub fn parse(scheme: &str, authority: &str) -> std::result::Result<Self, Denial> {
        let bad = |why: String| Err(Denial::Malformed(why));
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => return bad(format!("scheme {other:?}")),
        };
        if authority.contains('@') {
            return bad("an authority with userinfo".into());
        }
        let (host, port) = match split_host_port(authority) {
            Some(parts) => parts,
            None => return bad(format!("authority {authority:?}")),
        };
        let port = match port {
            None => default_port(https),
            Some(p) => match port_number(p) {
                Some(p) => p,
                None => return bad(format!("port {p:?}")),
            },
        };
        let host = if let Some(v6) = host.strip_prefix('[') {
            match v6
                .strip_suffix(']')
                .and_then(|a| Ipv6Addr::from_str(a).ok())
            {
                Some(a) => DestHost::Ip(IpAddr::V6(a)),
                None => return bad(format!("host {host:?}")),
            }
        } else if let Ok(a) = Ipv4Addr::from_str(host) {
            DestHost::Ip(IpAddr::V4(a))
        } else {
            let name = host.to_ascii_lowercase();
            let name = name.strip_suffix('.').unwrap_or(&name).to_owned();
            if !is_dns_name(&name) {
                return bad(format!("host {host:?}"));
            }
            DestHost::Name(name)
        };
        Ok(Self { https, host, port })
    }
}

/// A port in plain decimal, 1 to 65535 (no sign, no leading zero).
fn port_number(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.starts_with('0') {
        return None;
    }
    p.parse().ok().filter(|n| *n > 0)
}

/// `host` and an optional port text; `None` when malformed.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            r => Some((host, Some(r.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((h, p)) if !p.contains(':') && !h.is_empty() => Some((h, Some(p))),
        Some(_) => None,
        None if authority.is_empty() => None,
        None => Some((authority, None)),
    }
}

/// A DNS name in its usual form: dot-separated labels of letters, digits
/// and inner hyphens, the last not all digits (so no number is a name).
fn is_dns_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()) && !l.starts_with("0x"))
}

impl FromStr for OutboundRule {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            Err(Error::invalid(
                "outbound.allow",
                format!("{text:?}: {why}; write scheme://host[:port], e.g. https://*.example.com"),
            ))
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return bad("no scheme");
        };
        let scheme = match scheme {
            "http" => RuleScheme::Http,
            "https" => RuleScheme::Https,
            "*" => RuleScheme::Any,
            _ => return bad("the scheme is http, https or *"),
        };
        if rest.contains(['/', '?', '#', '@']) {
            return bad("a rule has no path, query, fragment or userinfo");
        }
        let Some((host, port)) = split_host_port(rest) else {
            return bad("no host");
        };
        let port = match port {
            None => RulePort::Default,
            Some("*") => RulePort::Any,
            Some(p) => match port_number(p) {
                Some(n) => RulePort::Exact(n),
                None => return bad("the port is 1 to 65535 or *"),
            },
        };
        let host = if let Some(v6) = host.strip_prefix('[') {
            match v6
                .strip_suffix(']')
                .and_then(|a| Ipv6Addr::from_str(a).ok())
            {
                Some(a) => RuleHost::Ip(IpAddr::V6(a)),
                None => return bad("not an IPv6 address in brackets"),
            }
        } else if let Ok(a) = Ipv4Addr::from_str(host) {
            RuleHost::Ip(IpAddr::V4(a))
        } else if let Some(suffix) = host.strip_prefix("*.") {
            if !is_dns_name(suffix) || !suffix.contains('.') {
                return bad(
                    "`*.` needs a name of at least two labels after it, e.g. *.example.com",
                );
            }
            RuleHost::Subdomains(suffix.to_owned())
        } else if host.contains('*') {
            return bad("`*` may only stand for the leading labels: *.example.com");
        } else if !is_dns_name(host) {
            return bad("the host is a lowercase DNS name or an IP address");
        } else {
            RuleHost::Name(host.to_owned())
        };
        Ok(Self { scheme, host, port })
    }
}

impl TryFrom<String> for OutboundRule {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<OutboundRule> for String {
    fn from(r: OutboundRule) -> Self {
        r.to_string()
    }
}

impl fmt::Display for OutboundRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            RuleScheme::Http => "http",
            RuleScheme::Https => "https",
            RuleScheme::Any => "*",
        };
        write!(f, "{scheme}://")?;
        match &self.host {
            RuleHost::Name(n) => f.write_str(n)?,
            RuleHost::Subdomains(n) => write!(f, "*.{n}")?,
            RuleHost::Ip(IpAddr::V4(a)) => write!(f, "{a}")?,
            RuleHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]")?,
        }
        match self.port {
            RulePort::Default => Ok(()),
            RulePort::Exact(p) => write!(f, ":{p}"),
            RulePort::Any => f.write_str(":*"),
        }
    }
}

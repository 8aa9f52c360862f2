//! Errors over HTTP: RFC 9457 `application/problem+json` bodies with the
//! status each [`Error`] variant means, and the way back from a problem to
//! the [`Error`] for clients.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_core::domain::Digest;
use hotswap_core::{Error, LimitKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of every problem `type`.
pub const PROBLEM_TYPE_BASE: &str = "https://hotswap.dev/problems/";

/// An RFC 9457 problem; the body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct Problem {
    /// `https://hotswap.dev/problems/<slug>`, e.g. `.../invalid`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// The offending input, for `invalid`: a dotted path such as
    /// `limits.timeout_ms`, or `query.limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What kind of thing, for `not-found` and `already-exists`: `module`,
    /// `module version`, `node`, ... (`hotswap_core::ResourceKind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Which thing: its id for `not-found` and `already-exists`, what was
    /// contended for `conflict`, what was checked for `incompatible`, what
    /// is damaged for `corrupt`, the backend for `unavailable`, the action
    /// for `forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why, without the rest of `detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which limit, for `limit-exceeded` and `payload-too-large`
    /// (`hotswap_core::LimitKind`: `max_module_bytes`, `max_instances`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// The timeout a call ran past, for `timeout`, in milliseconds; the
    /// fuel budget for `fuel-exhausted`; the memory limit in bytes for
    /// `memory-limit-exceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    /// The digest asked for and the one found, for `digest-mismatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<DigestPair>,
    /// One line per broken rule, for `incompatible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<String>>,
    /// The role the action needs, for `forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether trying again later may succeed, for `unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
    /// Seconds to wait before trying again, for `unavailable` and
    /// `limit-exceeded` (also sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    /// A problem of type `slug` with `status` and `detail`.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            kind: None,
            id: None,
            reason: None,
            limit: None,
            amount: None,
            digests: None,
            findings: None,
            role: None,
            temporary: None,
            retry_after_secs: None,
        }
    }

    /// `400 invalid` naming `field`.
    pub fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        let field = field.into();
        let mut p = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid {field}: {reason}"),
        );
        p.field = Some(field);
        p.reason = Some(reason.to_string());
        p
    }

    /// `401 unauthorized`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// `403 forbidden`: `action` needs `role`.
    pub fn forbidden(action: &str, role: &str) -> Self {
        let mut p = Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("forbidden: {action} needs the {role} role"),
        );
        p.role = Some(role.to_owned());
        p.id = Some(action.to_owned());
        p
    }

    /// `404 not-found` for a route or resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// `413 payload-too-large`.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail)
    }

    /// An `invalid` problem about a field inside `parent` (e.g. a JSON
    /// part of a form); other problems pass unchanged.
    #[must_use]
    pub fn within(self, parent: &str) -> Self {
        if self.slug() != "invalid" {
            return self;
        }
        let inner = self.field.clone().unwrap_or_default();
        let reason = self.reason.clone().unwrap_or_else(|| self.detail.clone());
        let field = match inner.as_str() {
            "" | "body" => parent.to_owned(),
            f => format!("{parent}.{f}"),
        };
        Self::invalid(field, reason)
    }

    /// The slug of `type_` (`invalid`, `not-found`, ...).
    pub fn slug(&self) -> &str {
        self.type_
            .strip_prefix(PROBLEM_TYPE_BASE)
            .unwrap_or(&self.type_)
    }

    /// The status code.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The [`Error`] this problem stands for, as a client sees it, read
    /// from the extension members (never from `detail`'s text); `service`
    /// names the server when the problem does not name a backend. A problem
    /// whose members are missing or unknown is `Internal`, naming the
    /// server and its status.
    pub fn into_error(self, service: &str) -> Error {
        let unknown = || Error::Internal {
            reason: format!("{service} answered {}: {}", self.status, self.detail),
            source: None,
        };
        let reason = || self.reason.clone().unwrap_or_else(|| self.detail.clone());
        let id = || self.id.clone().unwrap_or_default();
        match self.slug() {
            "not-found" | "already-exists" => {
                let Some(kind) = self.kind.as_deref().and_then(|k| k.parse().ok()) else {
                    return unknown();
                };
                match self.slug() {
                    "not-found" => Error::NotFound { kind, id: id() },
                    _ => Error::AlreadyExists { kind, id: id() },
                }
            }
            "invalid" => Error::Invalid {
                field: self.field.clone().unwrap_or_default(),
                reason: reason(),
            },
            "conflict" => Error::Conflict {
                what: self.id.clone().unwrap_or_else(|| service.to_owned()),
                reason: reason(),
            },
            "incompatible" => Error::Incompatible {
                subject: id(),
                findings: self.findings.clone().unwrap_or_default(),
            },
            "forbidden" => Error::Forbidden {
                action: id(),
                role: self.role.clone().unwrap_or_default(),
            },
            "limit-exceeded" | "payload-too-large" => {
                let limit = match self.limit.as_deref() {
                    Some(l) => l.parse().ok(),
                    // The server's own body limit names no limit.
                    None => (self.slug() == "payload-too-large").then_some(LimitKind::RequestBytes),
                };
                match limit {
                    Some(limit) => Error::LimitExceeded {
                        limit,
                        reason: reason(),
                    },
                    None => unknown(),
                }
            }
            "digest-mismatch" => match &self.digests {
                Some(d) => Error::DigestMismatch {
                    expected: d.expected,
                    actual: d.actual,
                },
                None => unknown(),
            },
            "corrupt" => Error::Corrupt {
                what: id(),
                reason: reason(),
            },
            "trap" => Error::trap(reason(), None),
            "timeout" => Error::Timeout {
                after: Duration::from_millis(self.amount.unwrap_or(0)),
            },
            "fuel-exhausted" => Error::FuelExhausted {
                budget: self.amount.unwrap_or(0),
            },
            "memory-limit-exceeded" => Error::MemoryLimitExceeded {
                limit_bytes: self.amount.unwrap_or(0),
            },
            "unavailable" => Error::Unavailable {
                service: self.id.clone().unwrap_or_else(|| service.to_owned()),
                temporary: self.temporary.unwrap_or(true),
                reason: reason(),
                source: None,
            },
            "internal" => Error::Internal {
                reason: reason(),
                source: None,
            },
            _ => unknown(),
        }
    }
}

/// The digest asked for and the one found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DigestPair {
    /// The digest that was asked for.
    #[schema(value_type = String)]
    pub expected: Digest,
    /// The digest of the bytes found.
    #[schema(value_type = String)]
    pub actual: Digest,
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let detail = e.to_string();
        let (status, slug) = match &e {
            Error::NotFound { .. } => (S::NOT_FOUND, "not-found"),
            Error::AlreadyExists { .. } => (S::CONFLICT, "already-exists"),
            Error::Invalid { .. } => (S::BAD_REQUEST, "invalid"),
            Error::Conflict { .. } => (S::CONFLICT, "conflict"),
            Error::Incompatible { .. } => (S::UNPROCESSABLE_ENTITY, "incompatible"),
            Error::Forbidden { .. } => (S::FORBIDDEN, "forbidden"),
            Error::LimitExceeded { limit, .. } if limit.is_size() => {
                (S::PAYLOAD_TOO_LARGE, "payload-too-large")
            }
            Error::LimitExceeded { .. } => (S::TOO_MANY_REQUESTS, "limit-exceeded"),
            Error::DigestMismatch { .. } => (S::UNPROCESSABLE_ENTITY, "digest-mismatch"),
            Error::Trap { .. } => (S::UNPROCESSABLE_ENTITY, "trap"),
            Error::FuelExhausted { .. } => (S::UNPROCESSABLE_ENTITY, "fuel-exhausted"),
            Error::MemoryLimitExceeded { .. } => (S::UNPROCESSABLE_ENTITY, "memory-limit-exceeded"),
            Error::Timeout { .. } => (S::GATEWAY_TIMEOUT, "timeout"),
            Error::Unavailable { .. } => (S::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Corrupt { .. } => (S::INTERNAL_SERVER_ERROR, "corrupt"),
            _ => (S::INTERNAL_SERVER_ERROR, "internal"),
        };
        let mut p = Problem::new(status, slug, detail);
        match &e {
            Error::NotFound { kind, id } | Error::AlreadyExists { kind, id } => {
                p.kind = Some(kind.to_string());
                p.id = Some(id.clone());
            }
            Error::Invalid { field, reason } => {
                p.field = Some(field.clone());
                p.reason = Some(reason.clone());
            }
            Error::Conflict { what, reason } | Error::Corrupt { what, reason } => {
                p.id = Some(what.clone());
                p.reason = Some(reason.clone());
            }
            Error::Incompatible { subject, findings } => {
                p.id = Some(subject.clone());
                p.findings = Some(findings.clone());
            }
            Error::Forbidden { action, role } => {
                p.id = Some(action.clone());
                p.role = Some(role.clone());
            }
            Error::LimitExceeded { limit, reason } => {
                p.limit = Some(limit.to_string());
                p.reason = Some(reason.clone());
                if !limit.is_size() {
                    p.retry_after_secs = Some(1);
                }
            }
            Error::DigestMismatch { expected, actual } => {
                p.digests = Some(DigestPair {
                    expected: *expected,
                    actual: *actual,
                });
            }
            Error::Trap { message, .. } => p.reason = Some(message.clone()),
            Error::Timeout { after } => {
                p.amount = Some(u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
            }
            Error::FuelExhausted { budget } => p.amount = Some(*budget),
            Error::MemoryLimitExceeded { limit_bytes } => p.amount = Some(*limit_bytes),
            Error::Unavailable {
                service,
                temporary,
                reason,
                ..
            } => {
                p.id = Some(service.clone());
                p.temporary = Some(*temporary);
                p.reason = Some(reason.clone());
                if *temporary {
                    p.retry_after_secs = Some(1);
                }
            }
            Error::Internal { reason, .. } => p.reason = Some(reason.clone()),
            _ => {}
        }
        if p.status >= 500 {
            tracing::warn!(error = %e, source = ?std::error::Error::source(&e), "request failed");
        }
        p.title = title(p.slug()).to_owned();
        p
    }
}

fn title(slug: &str) -> &'static str {
    match slug {
        "not-found" => "Not found",
        "already-exists" => "Already exists",
        "invalid" => "Invalid input",
        "conflict" => "Conflict",
        "incompatible" => "Incompatible interface",
        "forbidden" => "Forbidden",
        "unauthorized" => "Unauthorized",
        "limit-exceeded" => "Limit exceeded",
        "payload-too-large" => "Payload too large",
        "digest-mismatch" => "Digest mismatch",
        "corrupt" => "Corrupt data",
        "trap" => "The function trapped",
        "fuel-exhausted" => "Fuel exhausted",
        "memory-limit-exceeded" => "Memory limit exceeded",
        "timeout" => "The call timed out",
        "unavailable" => "Unavailable",
        _ => "Internal error",
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry = self.retry_after_secs;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hotswap\""),
            );
        }
        response
    }
}

/// The result type of handlers.
pub type ApiResult<T> = std::result::Result<T, Problem>;

#[cfg(test)]
mod tests {
    use super::*;
    use hotswap_core::ResourceKind;

    #[test]
    fn each_variant_has_its_status_and_comes_back_as_itself() {
        let cases: Vec<(Error, u16, &str)> = vec![
            (
                Error::not_found(ResourceKind::Module, "echo@1.0.0"),
                404,
                "not-found",
            ),
            (
                Error::invalid("limits.timeout_ms", "must be positive"),
                400,
                "invalid",
            ),
            (Error::conflict("deployment x", "stale"), 409, "conflict"),
            (
                Error::Incompatible {
                    subject: "module echo@2.0.0".into(),
                    findings: vec!["removed_export at add".into()],
                },
                422,
                "incompatible",
            ),
            (
                Error::limit_exceeded(LimitKind::ModuleBytes, "too big"),
                413,
                "payload-too-large",
            ),
            (
                Error::limit_exceeded(LimitKind::Instances, "full"),
                429,
                "limit-exceeded",
            ),
            (
                Error::Unavailable {
                    service: "postgres".into(),
                    temporary: true,
                    reason: "down".into(),
                    source: None,
                },
                503,
                "unavailable",
            ),
        ];
        for (error, status, slug) in cases {
            let p = Problem::from(error);
            assert_eq!((p.status, p.slug()), (status, slug), "{p:?}");
        }
        let p = Problem::from(Error::invalid("limits.timeout_ms", "must be positive"));
        assert_eq!(p.field.as_deref(), Some("limits.timeout_ms"));
        match p.into_error("cp") {
            Error::Invalid { field, reason } => {
                assert_eq!(
                    (field.as_str(), reason.as_str()),
                    ("limits.timeout_ms", "must be positive")
                );
            }
            other => panic!("{other:?}"),
        }
        let p = Problem::from(Error::not_found(ResourceKind::ModuleBlob, "abc"));
        assert!(matches!(
            p.into_error("edge"),
            Error::NotFound {
                kind: ResourceKind::ModuleBlob,
                ..
            }
        ));
    }
}

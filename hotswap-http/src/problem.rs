//! Errors over HTTP: RFC 9457 `application/problem+json` bodies with the
//! status each [`Error`] variant means, and the way back from a problem to
//! the [`Error`] for clients.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hotswap_core::Error;
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
    /// What kind of thing, for `not-found`, `already-exists` and
    /// `conflict`: `module`, `node`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// One line per broken rule, for `incompatible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<String>>,
    /// The role the action needs, for `forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
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
            findings: None,
            role: None,
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
        let reason = self
            .detail
            .strip_prefix(&format!("invalid {inner}: "))
            .unwrap_or(&self.detail)
            .to_owned();
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

    /// The [`Error`] this problem stands for, as a client sees it;
    /// `service` names the server in `Unavailable` errors.
    pub fn into_error(self, service: &str) -> Error {
        let kind = known_kind(self.kind.as_deref().unwrap_or("resource"));
        // The detail is the core error's text; take its parts back out.
        let after = |prefix: String| match self.detail.strip_prefix(&prefix) {
            Some(rest) => rest.to_owned(),
            None => self.detail.clone(),
        };
        match self.slug() {
            "not-found" => Error::NotFound {
                kind,
                id: after(format!("{kind} not found: ")),
            },
            "already-exists" => Error::AlreadyExists {
                kind,
                id: after(format!("{kind} already exists: ")),
            },
            "invalid" => {
                let field = self.field.clone().unwrap_or_default();
                Error::Invalid {
                    reason: after(format!("invalid {field}: ")),
                    field,
                }
            }
            "conflict" => {
                let what = self.kind.clone().unwrap_or_else(|| service.to_owned());
                Error::Conflict {
                    reason: after(format!("conflict on {what}: ")),
                    what,
                }
            }
            "incompatible" => Error::Incompatible {
                subject: self.detail,
                findings: self.findings.unwrap_or_default(),
            },
            "forbidden" => Error::Forbidden {
                action: self.detail,
                role: self.role.unwrap_or_default(),
            },
            "limit-exceeded" | "payload-too-large" => Error::LimitExceeded {
                limit: self.kind.unwrap_or_else(|| "request".into()),
                reason: self.detail,
            },
            "trap" => Error::Trap {
                message: self.detail,
                backtrace: None,
            },
            "timeout" => Error::Timeout {
                after: Duration::from_millis(
                    after("call timed out after ".into())
                        .trim_end_matches(" ms")
                        .parse()
                        .unwrap_or(0),
                ),
            },
            "unavailable" => Error::Unavailable {
                service: service.to_owned(),
                temporary: true,
                reason: self.detail,
                source: None,
            },
            _ => Error::Internal {
                reason: format!("{service} answered {}: {}", self.status, self.detail),
                source: None,
            },
        }
    }
}

/// The kinds of thing the core names in errors, as static strings.
fn known_kind(kind: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "module",
        "module version",
        "module blob",
        "blob",
        "node",
        "deployment",
        "interface",
        "function",
        "routed module",
        "pinnable version",
        "route",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("resource")
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        let mut p = match &e {
            Error::NotFound { kind, .. } => {
                let mut p = Problem::new(StatusCode::NOT_FOUND, "not-found", detail);
                p.kind = Some((*kind).to_owned());
                p
            }
            Error::AlreadyExists { kind, .. } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "already-exists", detail);
                p.kind = Some((*kind).to_owned());
                p
            }
            Error::Invalid { field, reason } => Problem::invalid(field.clone(), reason),
            Error::Conflict { what, .. } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "conflict", detail);
                p.kind = Some(what.clone());
                p
            }
            Error::Incompatible { findings, .. } => {
                let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "incompatible", detail);
                p.findings = Some(findings.clone());
                p
            }
            Error::Forbidden { action, role } => Problem::forbidden(action, role),
            Error::LimitExceeded { limit, .. } => {
                let (status, slug) = if limit.contains("bytes") || limit.contains("size") {
                    (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large")
                } else {
                    (StatusCode::TOO_MANY_REQUESTS, "limit-exceeded")
                };
                let mut p = Problem::new(status, slug, detail);
                p.kind = Some(limit.clone());
                if status == StatusCode::TOO_MANY_REQUESTS {
                    p.retry_after_secs = Some(1);
                }
                p
            }
            Error::DigestMismatch { .. } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "digest-mismatch", detail)
            }
            Error::Trap { .. } => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "trap", detail),
            Error::FuelExhausted { .. } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "fuel-exhausted", detail)
            }
            Error::MemoryLimitExceeded { .. } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "memory-limit-exceeded",
                detail,
            ),
            Error::Timeout { .. } => Problem::new(StatusCode::GATEWAY_TIMEOUT, "timeout", detail),
            Error::Unavailable { temporary, .. } => {
                let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
                if *temporary {
                    p.retry_after_secs = Some(1);
                }
                p
            }
            Error::Corrupt { .. } | Error::Internal { .. } => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
            }
            _ => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail),
        };
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

    #[test]
    fn each_variant_has_its_status_and_comes_back_as_itself() {
        let cases: Vec<(Error, u16, &str)> = vec![
            (Error::not_found("module", "echo@1.0.0"), 404, "not-found"),
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
                Error::limit_exceeded("max_module_bytes", "too big"),
                413,
                "payload-too-large",
            ),
            (
                Error::limit_exceeded("queue", "full"),
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
        let p = Problem::from(Error::not_found("module blob", "abc"));
        assert!(matches!(
            p.into_error("edge"),
            Error::NotFound {
                kind: "module blob",
                ..
            }
        ));
    }
}

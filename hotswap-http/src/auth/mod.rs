//! Authentication and roles: JWT bearer tokens signed with an HS256 shared
//! secret or verified with RS256 / EdDSA public keys, carrying roles.
//!
//! Roles: `viewer` < `developer` < `admin` for people and tools, and two
//! service roles: `node` (edge agents calling the control plane) and
//! `control_plane` (the control plane calling edge agents). A higher
//! person role includes the lower ones; service roles include nothing else.

mod keys;
pub(crate) mod session;
mod signer;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

pub use keys::{AuthConfig, Authenticator, MIN_SECRET_BYTES, VerifyKey};
pub use session::{CSRF_HEADER, SESSION_COOKIE, SESSION_TTL_SECS, Session, SessionKey};
pub use signer::{Minted, TokenSigner, TokenSource};

use crate::problem::Problem;

/// What a token lets its holder do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read everything.
    Viewer,
    /// Push modules, create and drive deployments, register interfaces,
    /// execute functions; and what a viewer may.
    Developer,
    /// Delete modules, approve interfaces, drive production deployments;
    /// and what a developer may.
    Admin,
    /// An edge agent: register itself and send heartbeats.
    Node,
    /// The control plane: command edge agents.
    ControlPlane,
}

impl Role {
    /// Whether holding `self` grants `needed`.
    pub fn grants(self, needed: Role) -> bool {
        use Role::*;
        match self {
            Admin => matches!(needed, Viewer | Developer | Admin),
            Developer => matches!(needed, Viewer | Developer),
            Viewer => needed == Viewer,
            Node => needed == Node,
            ControlPlane => needed == ControlPlane,
        }
    }

    /// The role's name as in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Admin => "admin",
            Role::Node => "node",
            Role::ControlPlane => "control_plane",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!("{s:?} is not a role; use viewer, developer, admin, node or control_plane")
        })
    }
}

/// The claims hotswap reads from a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: a user, a tool, or a node's name.
    pub sub: String,
    /// What they may do.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject.
    pub subject: String,
    /// The token's roles.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether any role grants `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r.grants(role))
    }

    /// `403` unless a role grants `role`; `action` says what was refused.
    pub fn require(&self, role: Role, action: &str) -> Result<(), Problem> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Problem::forbidden(action, role.as_str()))
        }
    }

    /// `403` unless a role grants one of `roles`.
    pub fn require_any(&self, roles: &[Role], action: &str) -> Result<(), Problem> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(Problem::forbidden(action, &names.join(" or ")))
        }
    }

    /// The control plane's view of the caller.
    #[cfg(feature = "control-plane")]
    pub fn caller(&self) -> hotswap_control::interface::Caller {
        hotswap_control::interface::Caller {
            name: self.subject.clone(),
            admin: self.has(Role::Admin),
        }
    }
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return match session::cookie_value(&parts.headers) {
                Some(cookie) => from_session(&auth, cookie, parts),
                None => Err(Problem::unauthorized(
                    "missing bearer token: send Authorization: Bearer <token> (or sign in at /ui)",
                )),
            };
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header is not a bearer token")
            })?;
        auth.verify(token)
    }
}

/// The caller a session cookie names. A request that may change something
/// (anything but GET and HEAD) must carry the session's CSRF token too.
fn from_session(auth: &Authenticator, cookie: &str, parts: &Parts) -> Result<Principal, Problem> {
    let session = auth.session(cookie, chrono::Utc::now().timestamp())?;
    let reads = matches!(parts.method, http::Method::GET | http::Method::HEAD);
    let echoed = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !reads && echoed != Some(session.csrf.as_str()) {
        let mut p = Problem::new(
            http::StatusCode::FORBIDDEN,
            "forbidden",
            format!("a request made with the session cookie needs its {CSRF_HEADER} header"),
        );
        p.field = Some(CSRF_HEADER.to_owned());
        return Err(p);
    }
    Ok(Principal {
        subject: session.subject,
        roles: session.roles,
    })
}

//! Verifying tokens: the keys a server trusts, with optional key ids for
//! rotation, issuer and audience checks, and clock leeway.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::session::{SESSION_TTL_SECS, Session, SessionKey, csrf_token};
use super::{Claims, Principal, Role};
use crate::problem::Problem;
use hotswap_core::{Error, Result};

/// One key a server accepts tokens under.
#[derive(Clone)]
#[non_exhaustive]
pub enum VerifyKey {
    /// An HS256 shared secret.
    Hs256 {
        /// Key id (`kid`) tokens name it by, if any.
        kid: Option<String>,
        /// The secret (at least 32 bytes).
        secret: Vec<u8>,
    },
    /// An RS256 public key, PEM.
    Rs256 {
        /// Key id.
        kid: Option<String>,
        /// `-----BEGIN PUBLIC KEY-----` text.
        pem: String,
    },
    /// An Ed25519 (EdDSA) public key, PEM.
    EdDsa {
        /// Key id.
        kid: Option<String>,
        /// `-----BEGIN PUBLIC KEY-----` text.
        pem: String,
    },
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hs256 { kid, .. } => f
                .debug_struct("Hs256")
                .field("kid", kid)
                .field("secret", &"<redacted>")
                .finish(),
            Self::Rs256 { kid, .. } => f.debug_struct("Rs256").field("kid", kid).finish(),
            Self::EdDsa { kid, .. } => f.debug_struct("EdDsa").field("kid", kid).finish(),
        }
    }
}

/// The shortest HS256 secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Which tokens a server accepts.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Keys, any of which may have signed a token.
    pub keys: Vec<VerifyKey>,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// The secret that signs the console's session cookies (32 bytes at
    /// least). Replicas given the same one accept each other's sessions.
    /// Unset: derived from the first HS256 secret, else random for this
    /// process (then a session works only on the replica that made it).
    pub session_secret: Option<Vec<u8>>,
}

impl AuthConfig {
    /// No keys yet, no issuer or audience check, 30 s leeway.
    pub fn new() -> Self {
        Self {
            leeway_secs: 30,
            ..Self::default()
        }
    }

    /// Accept tokens under `key`.
    #[must_use]
    pub fn with_key(mut self, key: VerifyKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Require `iss` to be `issuer`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Require `aud` to be `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sign console sessions with `secret` (see
    /// [`session_secret`](Self::session_secret)).
    #[must_use]
    pub fn with_session_secret(mut self, secret: Vec<u8>) -> Self {
        self.session_secret = Some(secret);
        self
    }

    /// Allow `secs` of clock skew.
    #[must_use]
    pub fn with_leeway_secs(mut self, secs: u64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// Check the keys and build the verifier.
    pub fn build(self) -> Result<Authenticator> {
        if self.keys.is_empty() {
            return Err(Error::invalid(
                "auth.keys",
                "configure at least one HS256 secret or public key",
            ));
        }
        let mut keys = Vec::with_capacity(self.keys.len());
        for (i, key) in self.keys.iter().enumerate() {
            let field = format!("auth.keys[{i}]");
            let (alg, kid, decoding) = match key {
                VerifyKey::Hs256 { kid, secret } => {
                    if secret.len() < MIN_SECRET_BYTES {
                        return Err(Error::invalid(
                            field,
                            format!("an HS256 secret needs at least {MIN_SECRET_BYTES} bytes"),
                        ));
                    }
                    (Algorithm::HS256, kid, DecodingKey::from_secret(secret))
                }
                VerifyKey::Rs256 { kid, pem } => (
                    Algorithm::RS256,
                    kid,
                    DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                        Error::invalid(field, format!("not an RSA public key: {e}"))
                    })?,
                ),
                VerifyKey::EdDsa { kid, pem } => (
                    Algorithm::EdDSA,
                    kid,
                    DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| {
                        Error::invalid(field, format!("not an Ed25519 public key: {e}"))
                    })?,
                ),
            };
            keys.push(Key {
                alg,
                kid: kid.clone(),
                decoding,
            });
        }
        // Replicas sharing a session secret, or else an HS256 secret,
        // accept each other's sessions.
        let sessions = match &self.session_secret {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(Error::invalid(
                    "auth.session_secret",
                    format!("a session secret needs at least {MIN_SECRET_BYTES} bytes"),
                ));
            }
            Some(secret) => SessionKey::derived_from(secret),
            None => self
                .keys
                .iter()
                .find_map(|k| match k {
                    VerifyKey::Hs256 { secret, .. } => Some(SessionKey::derived_from(secret)),
                    _ => None,
                })
                .unwrap_or_else(SessionKey::random),
        };
        Ok(Authenticator {
            keys,
            issuer: self.issuer,
            audience: self.audience,
            leeway_secs: self.leeway_secs,
            verified: RwLock::default(),
            sessions,
        })
    }
}

struct Key {
    alg: Algorithm,
    kid: Option<String>,
    decoding: DecodingKey,
}

/// Verifies bearer tokens.
pub struct Authenticator {
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
    /// Tokens whose signature and claims were checked, until they expire:
    /// a client sending one token many times pays for the check once.
    verified: RwLock<HashMap<String, (Principal, i64)>>,
    /// Signs the console's session cookies.
    sessions: SessionKey,
}

/// The most tokens remembered as verified (then the memory starts over).
const VERIFIED_TOKENS: usize = 4096;

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Authenticator {
    /// The caller a token names, or `401` saying why it is refused.
    pub fn verify(&self, token: &str) -> Result<Principal, Problem> {
        let now = chrono::Utc::now().timestamp();
        if let Some((principal, exp)) = self
            .verified
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            && now < *exp
        {
            return Ok(principal.clone());
        }
        let claims = self.check(token)?;
        let principal = Principal {
            subject: claims.sub,
            roles: claims.roles,
        };
        if claims.nbf.is_none_or(|nbf| nbf <= now) && now < claims.exp {
            let mut verified = self.verified.write().unwrap_or_else(|p| p.into_inner());
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(token.to_owned(), (principal.clone(), claims.exp));
        }
        Ok(principal)
    }

    /// Exchange `token` for a console session: checked as a bearer token
    /// is, it must hold a person's role; the session lasts
    /// [`SESSION_TTL_SECS`] at most, and never beyond the token. Returns
    /// the session and its sealed cookie value.
    pub fn sign_in(&self, token: &str, now: i64) -> Result<(Session, String), Problem> {
        let claims = self.check(token)?;
        let person = claims
            .roles
            .iter()
            .any(|r| matches!(r, Role::Viewer | Role::Developer | Role::Admin));
        if !person {
            return Err(Problem::forbidden(
                "sign in to the console",
                "viewer, developer or admin",
            ));
        }
        let session = Session {
            subject: claims.sub,
            roles: claims.roles,
            expires_at: claims.exp.min(now + SESSION_TTL_SECS),
            csrf: csrf_token(),
        };
        let sealed = self.sessions.seal(&session);
        Ok((session, sealed))
    }

    /// The session a cookie holds at `now`, or 401 saying why not.
    pub fn session(&self, cookie: &str, now: i64) -> Result<Session, Problem> {
        self.sessions.open(cookie, now)
    }

    /// Check a token's signature and claims.
    fn check(&self, token: &str) -> Result<Claims, Problem> {
        let header = decode_header(token)
            .map_err(|e| Problem::unauthorized(format!("malformed token: {e}")))?;
        let candidates: Vec<&Key> = self
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
            .collect();
        if candidates.is_empty() {
            return Err(Problem::unauthorized(format!(
                "no trusted key for algorithm {:?}{}",
                header.alg,
                header
                    .kid
                    .as_deref()
                    .map(|k| format!(" and key id {k:?}"))
                    .unwrap_or_default()
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        let mut last = None;
        for key in candidates {
            match decode::<Claims>(token, &key.decoding, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = Some(e),
            }
        }
        let reason = match last.as_ref().map(|e| e.kind()) {
            Some(ErrorKind::ExpiredSignature) => "the token has expired".to_owned(),
            Some(ErrorKind::ImmatureSignature) => "the token is not valid yet (nbf)".to_owned(),
            Some(ErrorKind::InvalidSignature) => "the token's signature does not verify".to_owned(),
            Some(ErrorKind::InvalidIssuer) => "the token's issuer is not trusted".to_owned(),
            Some(ErrorKind::InvalidAudience) => "the token is for another audience".to_owned(),
            Some(ErrorKind::MissingRequiredClaim(c)) => format!("the token has no {c} claim"),
            _ => format!(
                "the token is refused: {}",
                last.map(|e| e.to_string()).unwrap_or_default()
            ),
        };
        Err(Problem::unauthorized(reason))
    }
}

//! Issuing tokens: a signer for an HS256 secret or an RS256 / EdDSA
//! private key, and the token a client sends, fixed or minted and renewed
//! before it expires.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::keys::MIN_SECRET_BYTES;
use super::{Claims, Role};
use hotswap_core::{Error, Result};

/// Signs tokens.
pub struct TokenSigner {
    alg: Algorithm,
    key: EncodingKey,
    kid: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl TokenSigner {
    fn new(alg: Algorithm, key: EncodingKey) -> Self {
        Self {
            alg,
            key,
            kid: None,
            issuer: None,
            audience: None,
        }
    }

    /// HS256 with a shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(
                "secret",
                format!("an HS256 secret needs at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Self::new(
            Algorithm::HS256,
            EncodingKey::from_secret(secret),
        ))
    }

    /// RS256 with a PEM private key.
    pub fn rs256_pem(pem: &[u8]) -> Result<Self> {
        let key = EncodingKey::from_rsa_pem(pem)
            .map_err(|e| Error::invalid("private_key", format!("not an RSA private key: {e}")))?;
        Ok(Self::new(Algorithm::RS256, key))
    }

    /// RS256 with a PKCS#1 DER private key.
    pub fn rs256_der(der: &[u8]) -> Self {
        Self::new(Algorithm::RS256, EncodingKey::from_rsa_der(der))
    }

    /// EdDSA with a PEM (PKCS#8) Ed25519 private key.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self> {
        let key = EncodingKey::from_ed_pem(pem).map_err(|e| {
            Error::invalid("private_key", format!("not an Ed25519 private key: {e}"))
        })?;
        Ok(Self::new(Algorithm::EdDSA, key))
    }

    /// EdDSA with a PKCS#8 DER Ed25519 private key.
    pub fn ed25519_der(der: &[u8]) -> Self {
        Self::new(Algorithm::EdDSA, EncodingKey::from_ed_der(der))
    }

    /// Name the key in the token header (`kid`), for rotation.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Set `iss`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Set `aud`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// A token for `subject` with `roles`, valid for `ttl`.
    pub fn issue(&self, subject: &str, roles: &[Role], ttl: Duration) -> Result<String> {
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.sign(&Claims {
            sub: subject.to_owned(),
            roles: roles.to_vec(),
            exp: now.saturating_add(ttl),
            iat: Some(now),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        })
    }

    /// Sign `claims` as they are (tests use this for expired tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        encode(&header, claims, &self.key)
            .map_err(|e| Error::internal(format!("signing a token failed: {e}")))
    }
}

/// The token a client sends.
#[derive(Clone, Debug)]
pub enum TokenSource {
    /// No token.
    None,
    /// This token, as given.
    Static(String),
    /// Tokens minted by a signer, renewed when half their life is gone.
    Minted(Arc<Minted>),
}

/// See [`TokenSource::Minted`].
#[derive(Debug)]
pub struct Minted {
    signer: TokenSigner,
    subject: String,
    roles: Vec<Role>,
    ttl: Duration,
    current: Mutex<Option<(String, i64)>>,
}

impl TokenSource {
    /// Mint tokens for `subject` with `roles`, each valid for `ttl`.
    pub fn minted(signer: TokenSigner, subject: &str, roles: &[Role], ttl: Duration) -> Self {
        Self::Minted(Arc::new(Minted {
            signer,
            subject: subject.to_owned(),
            roles: roles.to_vec(),
            ttl,
            current: Mutex::new(None),
        }))
    }

    /// The token to send now, if any.
    pub fn token(&self) -> Result<Option<String>> {
        match self {
            Self::None => Ok(None),
            Self::Static(t) => Ok(Some(t.clone())),
            Self::Minted(m) => {
                let now = Utc::now().timestamp();
                let mut current = m.current.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((token, renew_at)) = &*current
                    && now < *renew_at
                {
                    return Ok(Some(token.clone()));
                }
                let token = m.signer.issue(&m.subject, &m.roles, m.ttl)?;
                let half = i64::try_from(m.ttl.as_secs() / 2).unwrap_or(i64::MAX / 4);
                *current = Some((token.clone(), now.saturating_add(half)));
                Ok(Some(token))
            }
        }
    }
}

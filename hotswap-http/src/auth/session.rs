//! Browser sessions for the console: a token pasted once is exchanged for
//! a short-lived cookie (`HttpOnly`, `SameSite=Strict`) holding the
//! caller's subject, roles, expiry and a CSRF token, signed with
//! HMAC-SHA256. Requests that change something must echo the CSRF token
//! in [`CSRF_HEADER`]; a cookie alone never does more than read.
//!
//! The signing key is derived from the session secret when one is given
//! ([`AuthConfig::with_session_secret`](super::AuthConfig::with_session_secret)),
//! else from the HS256 secret, so every replica accepts the sessions of
//! the others; with neither, each process makes its own (sign in again
//! after a restart, or keep a browser on one replica).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::Role;
use crate::problem::Problem;

/// The cookie holding a session.
pub const SESSION_COOKIE: &str = "hotswap_session";

/// The header a request made with a session cookie must carry its CSRF
/// token in, unless it only reads (GET, HEAD).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a session lasts at most (less when its token expires sooner).
pub const SESSION_TTL_SECS: i64 = 15 * 60;

type HmacSha256 = Hmac<Sha256>;

/// What a session cookie says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The token's subject.
    pub subject: String,
    /// The token's roles.
    pub roles: Vec<Role>,
    /// When the session ends, seconds since the epoch.
    pub expires_at: i64,
    /// The value requests that change something send in `x-csrf-token`.
    pub csrf: String,
}

/// The key sessions are signed with.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A key of this process alone (244 bits from the system's random
    /// source, through two version-4 UUIDs).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(key)
    }

    /// A key derived from `secret`: every holder of the secret derives the
    /// same one, and it reveals nothing of the secret.
    pub fn derived_from(secret: &[u8]) -> Self {
        let mut mac = mac(secret);
        mac.update(b"hotswap console sessions v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// The cookie value of `session`: its JSON, base64url, and the tag.
    pub fn seal(&self, session: &Session) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(session).unwrap_or_default());
        let mut mac = mac(&self.0);
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The session `cookie` holds at `now`, or 401 saying why not.
    pub fn open(&self, cookie: &str, now: i64) -> Result<Session, Problem> {
        let refused = |why: &str| Problem::unauthorized(format!("{why}: sign in again at /ui"));
        let (payload, tag) = cookie
            .split_once('.')
            .ok_or_else(|| refused("the session cookie is malformed"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| refused("the session cookie is malformed"))?;
        let mut mac = mac(&self.0);
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| refused("the session cookie's signature does not verify"))?;
        let session: Session = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| refused("the session cookie is malformed"))?;
        if session.expires_at <= now {
            return Err(refused("the session has ended"));
        }
        Ok(session)
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// A new CSRF token.
pub(crate) fn csrf_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The session cookie among a request's `Cookie` headers.
pub(crate) fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use proptest::arbitrary::Arbitrary as _;

    use super::*;

    fn session(expires_at: i64) -> Session {
        Session {
            subject: "ana".into(),
            roles: vec![Role::Developer],
            expires_at,
            csrf: csrf_token(),
        }
    }

    #[test]
    fn a_sealed_session_opens_until_it_ends() {
        let key = SessionKey::random();
        let s = session(1_000);
        let sealed = key.seal(&s);
        assert_eq!(key.open(&sealed, 999).unwrap(), s);
        let e = key.open(&sealed, 1_000).unwrap_err();
        assert!(e.detail.contains("ended"), "{}", e.detail);
    }

    #[test]
    fn a_changed_or_foreign_cookie_is_refused() {
        let key = SessionKey::random();
        let sealed = key.seal(&session(1_000));
        // Roles raised by hand: the tag no longer matches.
        let (payload, tag) = sealed.split_once('.').unwrap();
        let mut raised = session(1_000);
        raised.roles = vec![Role::Admin];
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&raised).unwrap())
        );
        assert_ne!(payload, forged.split_once('.').unwrap().0);
        for bad in [forged.as_str(), "garbage", "a.b"] {
            let e = key.open(bad, 0).unwrap_err();
            assert_eq!(e.status, 401, "{bad}");
        }
        let other = SessionKey::random();
        assert!(other.open(&sealed, 0).is_err());
        // Derived keys agree across processes.
        let a = SessionKey::derived_from(b"a shared secret of enough bytes!");
        let b = SessionKey::derived_from(b"a shared secret of enough bytes!");
        assert!(b.open(&a.seal(&session(10)), 0).is_ok());
    }

    proptest::proptest! {
        /// Any session opens as it was sealed, and a cookie with any one
        /// character changed is refused.
        #[test]
        fn a_session_opens_as_sealed_and_any_change_is_refused(
            subject in "[a-z0-9@._-]{1,24}",
            roles in proptest::sample::subsequence(
                vec![Role::Viewer, Role::Developer, Role::Admin], 0..=3),
            expires_at in 1i64..4_000_000_000,
            at in proptest::sample::Index::arbitrary(),
            to in proptest::sample::Index::arbitrary(),
        ) {
            let key = SessionKey::derived_from(b"a session secret of 32 bytes or more");
            let s = Session { subject, roles, expires_at, csrf: csrf_token() };
            let sealed = key.seal(&s);
            proptest::prop_assert_eq!(key.open(&sealed, expires_at - 1).unwrap(), s);
            let mut chars: Vec<char> = sealed.chars().collect();
            let i = at.index(chars.len());
            let alphabet: Vec<char> =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
                    .chars()
                    .filter(|c| *c != chars[i])
                    .collect();
            chars[i] = alphabet[to.index(alphabet.len())];
            let changed: String = chars.into_iter().collect();
            proptest::prop_assert!(key.open(&changed, 0).is_err(), "{changed} opened");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            "a=1; hotswap_session=xyz".parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers), Some("xyz"));
    }
}

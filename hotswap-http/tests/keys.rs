//! Tokens under public keys: RS256 and EdDSA, chosen by key id, with issuer
//! and audience checks, and a key rotated in beside the old one.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use hotswap_http::auth::{AuthConfig, Role, TokenSigner, VerifyKey};
use hotswap_http::server::ServerLimits;
use support::start_full;

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// (private PEM, public PEM) of a new key pair.
fn rsa() -> (String, String) {
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let private: Pkcs8V1Der<'_> = key.as_der().unwrap();
    let public: PublicKeyX509Der<'_> = key.public_key().as_der().unwrap();
    (
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

fn ed25519() -> (String, String) {
    let doc = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new()).unwrap();
    let key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    let public: PublicKeyX509Der<'_> = key.public_key().as_der().unwrap();
    (
        pem("PRIVATE KEY", doc.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

async fn status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/wasm/modules"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn rs256_and_eddsa_tokens_verify_under_their_public_keys() {
    let (rsa_private, rsa_public) = rsa();
    let (ed_private, ed_public) = ed25519();
    let (stranger_private, _) = ed25519();
    let auth = AuthConfig::new()
        .with_key(VerifyKey::Rs256 {
            kid: Some("rsa-1".into()),
            pem: rsa_public,
        })
        .with_key(VerifyKey::EdDsa {
            kid: Some("ed-1".into()),
            pem: ed_public,
        });
    let s = start_full(None, ServerLimits::default(), auth).await;
    let rs = TokenSigner::rs256_pem(rsa_private.as_bytes())
        .unwrap()
        .with_kid("rsa-1");
    let ed = TokenSigner::ed25519_pem(ed_private.as_bytes())
        .unwrap()
        .with_kid("ed-1");
    assert_eq!(
        status(&s.base, &rs.issue("ann", &[Role::Viewer], HOUR).unwrap()).await,
        200
    );
    assert_eq!(
        status(&s.base, &ed.issue("ann", &[Role::Viewer], HOUR).unwrap()).await,
        200
    );
    // Without a key id, every key of the algorithm is tried.
    let ed_no_kid = TokenSigner::ed25519_pem(ed_private.as_bytes()).unwrap();
    assert_eq!(
        status(
            &s.base,
            &ed_no_kid.issue("ann", &[Role::Viewer], HOUR).unwrap()
        )
        .await,
        200
    );
    // A key the server does not know, and a key id naming the wrong key.
    let stranger = TokenSigner::ed25519_pem(stranger_private.as_bytes()).unwrap();
    assert_eq!(
        status(
            &s.base,
            &stranger.issue("eve", &[Role::Admin], HOUR).unwrap()
        )
        .await,
        401
    );
    let misnamed = TokenSigner::ed25519_pem(ed_private.as_bytes())
        .unwrap()
        .with_kid("rsa-1");
    assert_eq!(
        status(
            &s.base,
            &misnamed.issue("ann", &[Role::Viewer], HOUR).unwrap()
        )
        .await,
        401
    );
    // HS256 tokens are refused where no secret is configured.
    let hs = TokenSigner::hs256(support::SECRET).unwrap();
    assert_eq!(
        status(&s.base, &hs.issue("ann", &[Role::Viewer], HOUR).unwrap()).await,
        401
    );
}

#[tokio::test]
async fn issuer_and_audience_are_checked_and_keys_rotate_beside_each_other() {
    let (old_private, old_public) = ed25519();
    let (new_private, new_public) = ed25519();
    let auth = AuthConfig::new()
        .with_key(VerifyKey::EdDsa {
            kid: Some("2026a".into()),
            pem: old_public,
        })
        .with_key(VerifyKey::EdDsa {
            kid: Some("2026b".into()),
            pem: new_public,
        })
        .with_issuer("https://idp.example")
        .with_audience("hotswap");
    let s = start_full(None, ServerLimits::default(), auth).await;
    let signer = |pem: &str, kid: &str| {
        TokenSigner::ed25519_pem(pem.as_bytes())
            .unwrap()
            .with_kid(kid)
            .with_issuer("https://idp.example")
            .with_audience("hotswap")
    };
    for (pem, kid) in [(&old_private, "2026a"), (&new_private, "2026b")] {
        let t = signer(pem, kid)
            .issue("ann", &[Role::Viewer], HOUR)
            .unwrap();
        assert_eq!(status(&s.base, &t).await, 200, "key {kid}");
    }
    let wrong_aud = TokenSigner::ed25519_pem(new_private.as_bytes())
        .unwrap()
        .with_kid("2026b")
        .with_issuer("https://idp.example")
        .with_audience("someone-else");
    assert_eq!(
        status(
            &s.base,
            &wrong_aud.issue("ann", &[Role::Viewer], HOUR).unwrap()
        )
        .await,
        401
    );
    let wrong_iss = TokenSigner::ed25519_pem(new_private.as_bytes())
        .unwrap()
        .with_kid("2026b")
        .with_issuer("https://evil.example")
        .with_audience("hotswap");
    assert_eq!(
        status(
            &s.base,
            &wrong_iss.issue("ann", &[Role::Viewer], HOUR).unwrap()
        )
        .await,
        401
    );
}

#[test]
fn bad_keys_are_refused_naming_the_key() {
    let e = AuthConfig::new()
        .with_key(VerifyKey::Hs256 {
            kid: None,
            secret: b"short".to_vec(),
        })
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("auth.keys[0]") && e.to_string().contains("32 bytes"),
        "{e}"
    );
    let e = AuthConfig::new()
        .with_key(VerifyKey::Rs256 {
            kid: None,
            pem: "not a key".into(),
        })
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not an RSA public key"), "{e}");
    let e = AuthConfig::new().build().unwrap_err();
    assert!(e.to_string().contains("at least one"), "{e}");
}

#[test]
fn a_remembered_token_still_expires() {
    let auth = AuthConfig::new()
        .with_key(VerifyKey::Hs256 {
            kid: None,
            secret: support::SECRET.to_vec(),
        })
        .with_leeway_secs(0)
        .build()
        .unwrap();
    let t = TokenSigner::hs256(support::SECRET)
        .unwrap()
        .issue("ann", &[Role::Viewer], Duration::from_secs(1))
        .unwrap();
    assert_eq!(auth.verify(&t).unwrap().subject, "ann");
    assert_eq!(auth.verify(&t).unwrap().subject, "ann", "from memory");
    std::thread::sleep(Duration::from_millis(2100));
    let p = auth.verify(&t).unwrap_err();
    assert_eq!(p.status, 401);
    assert!(p.detail.contains("expired"), "{}", p.detail);
}

/// Two replicas verifying tokens under public keys: with one session
/// secret each opens the other's console sessions; without one, each
/// keeps its own. A short session secret is refused by name.
#[test]
fn replicas_sharing_a_session_secret_share_console_sessions() {
    let (private, public) = ed25519();
    let replica = |session: Option<&[u8]>| {
        let mut config = AuthConfig::new().with_key(VerifyKey::EdDsa {
            kid: None,
            pem: public.clone(),
        });
        if let Some(s) = session {
            config = config.with_session_secret(s.to_vec());
        }
        config.build().unwrap()
    };
    let token = TokenSigner::ed25519_pem(private.as_bytes())
        .unwrap()
        .issue("ann", &[Role::Developer], Duration::from_secs(60))
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let shared = b"a session secret of 32 bytes or more";
    let (a, b) = (replica(Some(shared)), replica(Some(shared)));
    let (session, cookie) = a.sign_in(&token, now).unwrap();
    assert_eq!(b.session(&cookie, now).unwrap(), session);
    let (c, d) = (replica(None), replica(None));
    let (_, cookie) = c.sign_in(&token, now).unwrap();
    assert!(c.session(&cookie, now).is_ok());
    assert_eq!(d.session(&cookie, now).unwrap_err().status, 401);
    let e = AuthConfig::new()
        .with_key(VerifyKey::EdDsa {
            kid: None,
            pem: public,
        })
        .with_session_secret(b"short".to_vec())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("auth.session_secret"), "{e}");
}

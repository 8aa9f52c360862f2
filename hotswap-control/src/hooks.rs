//! Calling webhooks: a JSON payload POSTed with an HMAC-SHA256 signature
//! over a timestamp and the body (`x-hotswap-signature: t=<unix
//! seconds>,v1=<hex>`), a delivery id, each attempt bounded by the hook's
//! timeout, retried when it cannot connect, times out or meets a 5xx.
//! [`verify`] is what a receiver runs: it checks the signature and refuses
//! a timestamp outside its replay window.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use hotswap_core::domain::Webhook;
use hotswap_core::retry::RetryPolicy;
use hotswap_core::{Error, Result};
use serde_json::Value as Json;
use sha2::Sha256;

/// The header holding `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-hotswap-signature";

/// The header holding a delivery's id, the same on each of its attempts.
pub const DELIVERY_HEADER: &str = "x-hotswap-delivery";

/// How far a signature's time may be from the receiver's clock by default.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// The fewest bytes a webhook secret may have.
pub const MIN_SECRET_BYTES: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The secret webhook payloads are signed with. `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl Drop for WebhookSecret {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl WebhookSecret {
    /// A secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(
                "webhook_secret",
                format!(
                    "is {} bytes, at least {MIN_SECRET_BYTES} are needed",
                    bytes.len()
                ),
            ));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The signature header's value for `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(timestamp, body).finalize().into_bytes();
        format!("t={timestamp},v1={}", hex::encode(tag))
    }
}

/// Check `header` (the signature header's value) over `body` at `now`:
/// well formed, signed by `secret`, and sent within `window` of `now`.
/// The error says which of them failed.
pub fn verify(
    secret: &WebhookSecret,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    window: Duration,
) -> Result<()> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => tags.push(v),
            _ => {}
        }
    }
    let malformed = || {
        Error::invalid(
            SIGNATURE_HEADER,
            format!("{header:?} is not t=<seconds>,v1=<hex>"),
        )
    };
    let timestamp = timestamp.ok_or_else(malformed)?;
    if tags.is_empty() {
        return Err(malformed());
    }
    let age = (now.timestamp() - timestamp).unsigned_abs();
    if age > window.as_secs() {
        return Err(Error::invalid(
            SIGNATURE_HEADER,
            format!(
                "signed {age} s away from now, outside the {} s replay window",
                window.as_secs()
            ),
        ));
    }
    let signed = tags.iter().any(|tag| {
        hex::decode(tag).is_ok_and(|tag| secret.mac(timestamp, body).verify_slice(&tag).is_ok())
    });
    if signed {
        Ok(())
    } else {
        Err(Error::invalid(
            SIGNATURE_HEADER,
            "the signature does not match",
        ))
    }
}

/// What a hook answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookAnswer {
    /// The last answer's status, if one came.
    pub status: Option<u16>,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed, when it got no answer or a 5xx.
    pub error: Option<String>,
    /// What the hook asked for with `Retry-After` (seconds).
    pub retry_after: Option<Duration>,
}

impl HookAnswer {
    /// Whether it allows what it was asked about: a 2xx.
    pub fn allows(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The answer in words (`answered 503: closed`, `timed out after 3 attempts`).
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), Some(e)) => format!("answered {s}: {e}"),
            (Some(s), None) => format!("answered {s}"),
            (None, Some(e)) => format!("{e} ({} attempts)", self.attempts),
            (None, None) => "no answer".into(),
        }
    }
}

/// The wait before a webhook's first retry (doubling, with jitter).
const HOOK_BACKOFF: Duration = Duration::from_millis(400);

/// Calls webhooks with signed payloads.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    client: reqwest::Client,
    secret: WebhookSecret,
}

impl WebhookSender {
    /// A sender signing with `secret`.
    pub fn new(secret: WebhookSecret) -> Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("building the webhook client failed: {e}")))?;
        Ok(Self { client, secret })
    }

    /// POST `payload` to `hook`, retrying per its settings.
    pub async fn call(&self, hook: &Webhook, payload: &Json) -> HookAnswer {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let delivery = uuid::Uuid::now_v7().to_string();
        let mut answer = HookAnswer {
            status: None,
            attempts: 0,
            error: None,
            retry_after: None,
        };
        let mut waits = RetryPolicy::new(hook.retries + 1, HOOK_BACKOFF, HOOK_BACKOFF * 8).waits();
        for attempt in 0..=hook.retries {
            if attempt > 0
                && let Some(wait) = waits.next()
            {
                tokio::time::sleep(wait).await;
            }
            answer.attempts = attempt + 1;
            let signature = self.secret.sign(Utc::now().timestamp(), &body);
            let sent = self
                .client
                .post(&hook.url)
                .timeout(Duration::from_secs(hook.timeout_secs))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .header(DELIVERY_HEADER, &delivery)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(resp) => {
                    let status = resp.status();
                    answer.status = Some(status.as_u16());
                    answer.retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()?.trim().parse().ok())
                        .map(Duration::from_secs);
                    let text = resp.text().await.unwrap_or_default();
                    let text: String = text.trim().chars().take(200).collect();
                    answer.error = (!status.is_success() && !text.is_empty()).then_some(text);
                    if !status.is_server_error() {
                        return answer;
                    }
                }
                Err(e) => {
                    answer.status = None;
                    answer.error = Some(if e.is_timeout() {
                        format!("timed out after {} s", hook.timeout_secs)
                    } else {
                        format!("could not reach {}: {e}", hook.url)
                    });
                }
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let secret = WebhookSecret::new("a webhook secret of some length").unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let header = secret.sign(now.timestamp(), b"{\"a\":1}");
        verify(&secret, &header, b"{\"a\":1}", now, REPLAY_WINDOW).unwrap();
        let e = verify(&secret, &header, b"{\"a\":2}", now, REPLAY_WINDOW).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        let other = WebhookSecret::new("another secret, as long").unwrap();
        assert!(verify(&other, &header, b"{\"a\":1}", now, REPLAY_WINDOW).is_err());
        let later = now + chrono::Duration::seconds(301);
        let e = verify(&secret, &header, b"{\"a\":1}", later, REPLAY_WINDOW).unwrap_err();
        assert!(e.to_string().contains("replay window"), "{e}");
        let e = verify(&secret, "v1=00", b"", now, REPLAY_WINDOW).unwrap_err();
        assert!(e.to_string().contains("is not t="), "{e}");
        assert!(WebhookSecret::new("short").is_err());
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }
}

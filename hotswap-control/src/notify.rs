//! Notification sinks: generic webhooks (the notification as JSON, signed
//! when the control plane has a webhook secret) and Slack-compatible
//! incoming webhooks (`{"text": ...}`). Each sink has its own event
//! filter and its own queue and worker, so a failing sink delays nothing
//! but itself; what it sent, failed or had to drop is counted in
//! `wasm_notifications_total{sink,outcome}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hotswap_core::domain::{EdgeNode, NodeStatus, ShortName};
use hotswap_core::notify::{Notification, NotificationEvent, Notifier};
use hotswap_core::observe::NOTIFICATIONS;
use hotswap_core::retry::RetryPolicy;
use hotswap_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;

use crate::hooks::{SIGNATURE_HEADER, WebhookSecret};
use crate::nodes::AlertHook;

/// How a sink wants its notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// The notification as JSON.
    Webhook,
    /// A Slack-compatible incoming webhook: `{"text": "..."}`.
    Slack,
}

/// One place notifications go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SinkConfig {
    /// Its name, in metrics and logs.
    pub name: ShortName,
    /// Its kind.
    pub kind: SinkKind,
    /// Where notifications are POSTed.
    pub url: String,
    /// The events it wants (every event when empty).
    #[serde(default)]
    pub events: Vec<NotificationEvent>,
}

impl SinkConfig {
    /// A sink `name` of `kind` at `url`, taking every event.
    pub fn new(name: ShortName, kind: SinkKind, url: impl Into<String>) -> Self {
        Self {
            name,
            kind,
            url: url.into(),
            events: Vec::new(),
        }
    }

    /// Only these events.
    #[must_use]
    pub fn with_events(mut self, events: Vec<NotificationEvent>) -> Self {
        self.events = events;
        self
    }

    fn wants(&self, event: NotificationEvent) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }

    fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::invalid(
                "url",
                format!("{:?} must be an http:// or https:// URL", self.url),
            ));
        }
        Ok(())
    }
}

/// Notifications each sink keeps waiting at most; more are dropped (and
/// counted).
const QUEUE: usize = 1024;

/// How long one delivery attempt may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How deliveries are retried: 3 attempts, waiting 0.5 s then 1 s (with
/// jitter).
fn retry() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(500), Duration::from_secs(1))
}

/// Delivers notifications to sinks.
#[derive(Debug)]
pub struct Sinks {
    sinks: Vec<(SinkConfig, mpsc::Sender<Notification>)>,
}

impl Sinks {
    /// Start one worker per sink (on the current Tokio runtime); generic
    /// webhooks are signed with `secret` when there is one. A bad sink is
    /// refused naming it.
    pub fn start(sinks: Vec<SinkConfig>, secret: Option<WebhookSecret>) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::internal(format!("building the notification client failed: {e}"))
            })?;
        let mut out = Vec::with_capacity(sinks.len());
        for (i, sink) in sinks.into_iter().enumerate() {
            sink.validate()
                .map_err(|e| e.within(&format!("sink[{i}]")))?;
            if out
                .iter()
                .any(|(s, _): &(SinkConfig, _)| s.name == sink.name)
            {
                return Err(Error::invalid(
                    format!("sink[{i}].name"),
                    format!("{} is the name of an earlier sink", sink.name),
                ));
            }
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(deliver(sink.clone(), client.clone(), secret.clone(), rx));
            out.push((sink, tx));
        }
        Ok(Self { sinks: out })
    }
}

impl Notifier for Sinks {
    fn notify(&self, notification: Notification) {
        for (sink, tx) in &self.sinks {
            if !sink.wants(notification.event) {
                continue;
            }
            if tx.try_send(notification.clone()).is_err() {
                count(sink, "dropped");
                tracing::warn!(sink = %sink.name, event = %notification.event, "notification dropped: the sink's queue is full");
            }
        }
    }
}

fn count(sink: &SinkConfig, outcome: &'static str) {
    metrics::counter!(NOTIFICATIONS, "sink" => sink.name.to_string(), "outcome" => outcome)
        .increment(1);
}

/// The body `sink` is sent for `n`.
fn body(sink: &SinkConfig, n: &Notification) -> serde_json::Value {
    match sink.kind {
        SinkKind::Webhook => json!(n),
        SinkKind::Slack => json!({
            "text": format!("*{}* `{}`: {}", n.event, n.subject, n.message),
        }),
    }
}

/// Deliver what arrives on `queue` to `sink`, one at a time.
async fn deliver(
    sink: SinkConfig,
    client: reqwest::Client,
    secret: Option<WebhookSecret>,
    mut queue: mpsc::Receiver<Notification>,
) {
    while let Some(n) = queue.recv().await {
        let payload = serde_json::to_vec(&body(&sink, &n)).unwrap_or_default();
        let mut last = String::new();
        let mut sent = false;
        let retry = retry();
        let mut waits = retry.waits();
        for attempt in 0..retry.attempts {
            if attempt > 0
                && let Some(wait) = waits.next()
            {
                tokio::time::sleep(wait).await;
            }
            let mut request = client
                .post(&sink.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(payload.clone());
            if let (SinkKind::Webhook, Some(secret)) = (sink.kind, &secret) {
                request = request.header(
                    SIGNATURE_HEADER,
                    secret.sign(Utc::now().timestamp(), &payload),
                );
            }
            match request.send().await {
                Ok(resp) if resp.status().is_success() => {
                    sent = true;
                    break;
                }
                Ok(resp) => last = format!("answered {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
        }
        if sent {
            count(&sink, "sent");
        } else {
            count(&sink, "failed");
            tracing::warn!(sink = %sink.name, event = %n.event, error = %last, "notification not delivered");
        }
    }
}

/// Node status changes as notifications: unhealthy and offline.
#[derive(Debug, Clone)]
pub struct NodeAlerts(pub Arc<dyn Notifier>);

impl AlertHook for NodeAlerts {
    fn node_status_changed(&self, node: &EdgeNode, from: NodeStatus, at: DateTime<Utc>) {
        let event = match node.status {
            NodeStatus::Unhealthy => NotificationEvent::NodeUnhealthy,
            NodeStatus::Offline => NotificationEvent::NodeOffline,
            _ => return,
        };
        self.0.notify(Notification::new(
            event,
            at,
            node.name.clone(),
            format!(
                "node {} in {} went from {from:?} to {:?}: no heartbeat since {}",
                node.name,
                node.region,
                node.status,
                node.last_heartbeat
                    .map_or_else(|| "it registered".to_owned(), |t| t.to_rfc3339()),
            ),
            json!({"node": node.id, "name": node.name, "region": node.region, "from": from, "to": node.status}),
        ));
    }
}

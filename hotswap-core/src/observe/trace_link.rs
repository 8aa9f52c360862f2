//! Carrying a trace context across time: a deployment stores the W3C
//! `traceparent` of the request that created it, and each later evaluation
//! (on any replica, after any restart) becomes a child of it. The core only
//! handles the text; an implementation that knows the tracing exporter
//! (hotswap-http's, over OpenTelemetry) reads and applies it.

use std::fmt;

/// Reads and applies trace contexts.
pub trait TraceLink: Send + Sync + fmt::Debug + 'static {
    /// The W3C `traceparent` of the current span, if it is traced.
    fn current(&self) -> Option<String>;

    /// Make `span` a child of the context `traceparent` names.
    fn set_parent(&self, span: &tracing::Span, traceparent: &str);
}

/// Links nothing: spans keep their own parents.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTraceLink;

impl TraceLink for NoTraceLink {
    fn current(&self) -> Option<String> {
        None
    }

    fn set_parent(&self, _: &tracing::Span, _: &str) {}
}

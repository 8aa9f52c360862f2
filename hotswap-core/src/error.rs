//! The one error type of hotswap.
//!
//! Every fallible operation in the core and in every adapter returns
//! [`Error`]. Variants are semantic (what went wrong for the caller), not
//! technical (which library failed): adapters map their own errors into them
//! and keep the original as the [`std::error::Error::source`].

use std::fmt;
use std::time::Duration;

use crate::domain::Digest;

/// A boxed error kept as the source of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type used across hotswap.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares a closed set of names with their stable text: `as_str`,
/// `Display` and `FromStr` agree, so the text can cross a wire and come
/// back as the same value.
macro_rules! named_kinds {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The stable text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|k| k.as_str() == s)
                    .ok_or_else(|| Error::invalid(stringify!($name), format!("unknown: {s:?}")))
            }
        }
    };
}

named_kinds! {
    /// What a `NotFound` or `AlreadyExists` error is about.
    ResourceKind {
        /// A module (any version).
        Module => "module",
        /// One version of a module.
        ModuleVersion => "module version",
        /// A module version's bytes on an edge node.
        ModuleBlob => "module blob",
        /// Bytes in storage.
        Blob => "blob",
        /// An edge node.
        Node => "node",
        /// A deployment.
        Deployment => "deployment",
        /// A WIT interface version.
        Interface => "interface",
        /// A function a module exports.
        Function => "function",
        /// A module with a routing table on a node.
        RoutedModule => "routed module",
        /// A version a call may pin.
        PinnableVersion => "pinnable version",
        /// An HTTP route or resource.
        Route => "route",
        /// An HTTP route of the ingress (a host and path prefix to a module).
        HttpRoute => "http route",
        /// One revision of a module's configuration.
        ConfigRevision => "configuration revision",
        /// A module's deployment policy in an environment.
        DeploymentPolicy => "deployment policy",
        /// A position in a list, named by a `cursor` the list did not hand
        /// out (or one from another list).
        PageCursor => "page cursor",
    }
}

named_kinds! {
    /// Which limit a `LimitExceeded` error reached.
    LimitKind {
        /// The size of a module binary.
        ModuleBytes => "max_module_bytes",
        /// The bytes an edge node keeps staged for loading.
        StagingBytes => "staging_bytes",
        /// The size of a request body.
        RequestBytes => "request_bytes",
        /// Instances a runtime runs at once.
        Instances => "max_instances",
        /// Instances one module version runs at once.
        ConcurrentInstances => "max_concurrent_instances",
    }
}

impl LimitKind {
    /// Whether this limit is on a size (what was sent is too large) rather
    /// than on capacity (try again later).
    pub fn is_size(self) -> bool {
        matches!(
            self,
            Self::ModuleBytes | Self::StagingBytes | Self::RequestBytes
        )
    }
}

/// Everything that can go wrong in hotswap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked for.
        kind: ResourceKind,
        /// How it was looked for (id, name@version, digest, ...).
        id: String,
    },

    /// The thing exists already and may not be overwritten.
    #[error("{kind} already exists: {id}")]
    AlreadyExists {
        /// What was created.
        kind: ResourceKind,
        /// Its identity.
        id: String,
    },

    /// Input was refused; `field` names which part of it and `reason` why.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Dotted path of the offending field, e.g. `limits.timeout_ms`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The operation lost a race or does not fit the current state, e.g. a
    /// compare-and-set on a stale revision, or a lease held by another owner.
    #[error("conflict on {what}: {reason}")]
    Conflict {
        /// What was contended, e.g. `deployment 0193...`.
        what: String,
        /// Why the change was refused.
        reason: String,
    },

    /// A module version breaks the interface its callers depend on.
    #[error("{subject} is incompatible: {}", findings.join("; "))]
    Incompatible {
        /// What was checked, e.g. `module echo@2.0.0`.
        subject: String,
        /// One line per broken rule.
        findings: Vec<String>,
    },

    /// The caller lacks the role an action needs.
    #[error("forbidden: {action} needs the {role} role")]
    Forbidden {
        /// What was attempted, e.g. `approve interface`.
        action: String,
        /// The role it needs.
        role: String,
    },

    /// A size, count, rate or capacity limit was reached.
    #[error("limit exceeded: {limit}: {reason}")]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// What exceeded it.
        reason: String,
    },

    /// Stored bytes do not hash to the digest they were stored under.
    #[error("integrity check failed: expected sha256 {expected}, got {actual}")]
    DigestMismatch {
        /// The digest that was asked for.
        expected: Digest,
        /// The digest of the bytes actually found.
        actual: Digest,
    },

    /// Stored data is damaged: it cannot be decoded, or it decodes to more
    /// than the size cap.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// What is damaged, e.g. `blob 9f86...`.
        what: String,
        /// How.
        reason: String,
    },

    /// A wasm function trapped.
    #[error("wasm trap: {message}")]
    Trap {
        /// The trap message.
        message: String,
        /// The wasm backtrace, when the runtime provides one.
        backtrace: Option<String>,
    },

    /// A call ran past its wall-clock timeout and was interrupted.
    #[error("call timed out after {} ms", after.as_millis())]
    Timeout {
        /// The timeout that was exceeded.
        after: Duration,
    },

    /// A call used up its fuel (CPU) budget.
    #[error("fuel exhausted: the call used its budget of {budget} units")]
    FuelExhausted {
        /// The budget that was exhausted.
        budget: u64,
    },

    /// A call tried to grow memory past its limit.
    #[error("memory limit exceeded: limit is {limit_bytes} bytes")]
    MemoryLimitExceeded {
        /// The configured limit.
        limit_bytes: u64,
    },

    /// A backend (database, object store, node) could not be reached or
    /// refused service.
    #[error("{service} unavailable{}: {reason}", if *temporary { " (temporary)" } else { "" })]
    Unavailable {
        /// Which backend, e.g. `postgres`, `s3`, `node eu-1a`.
        service: String,
        /// Whether retrying later may succeed.
        temporary: bool,
        /// What happened.
        reason: String,
        /// The backend's own error.
        #[source]
        source: Option<BoxError>,
    },

    /// A bug or an unexpected state; never caused by input alone.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// `NotFound` for `kind` identified by `id`.
    pub fn not_found(kind: ResourceKind, id: impl fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// `AlreadyExists` for `kind` identified by `id`.
    pub fn already_exists(kind: ResourceKind, id: impl fmt::Display) -> Self {
        Self::AlreadyExists {
            kind,
            id: id.to_string(),
        }
    }

    /// `Invalid` naming `field` and the `reason` (without the
    /// `invalid {field}: ` a wrapped error's text may already start with).
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = strip_prefix(reason.into(), &format!("invalid {field}: "));
        Self::Invalid { field, reason }
    }

    /// `Trap` with the runtime's `message` (without the `wasm trap: ` a
    /// runtime's own text may start with) and its wasm backtrace.
    pub fn trap(message: impl Into<String>, backtrace: Option<String>) -> Self {
        Self::Trap {
            message: strip_prefix(message.into(), "wasm trap: "),
            backtrace,
        }
    }

    /// `Conflict` on `what` with the `reason`.
    pub fn conflict(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Conflict {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// `LimitExceeded` for `limit` with the `reason`.
    pub fn limit_exceeded(limit: LimitKind, reason: impl Into<String>) -> Self {
        Self::LimitExceeded {
            limit,
            reason: reason.into(),
        }
    }

    /// `Unavailable` for `service`, keeping `source`.
    pub fn unavailable(
        service: impl Into<String>,
        temporary: bool,
        source: impl Into<BoxError>,
    ) -> Self {
        let source = source.into();
        let service = service.into();
        let mut reason = source.to_string();
        for head in [
            format!("{service} unavailable (temporary): "),
            format!("{service} unavailable: "),
        ] {
            reason = strip_prefix(reason, &head);
        }
        Self::Unavailable {
            service,
            temporary,
            reason,
            source: Some(source),
        }
    }

    /// `Internal` with the `reason`.
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::Internal {
            reason: strip_prefix(reason.into(), "internal error: "),
            source: None,
        }
    }

    /// Prefix the field of an `Invalid` error with `parent.`; other errors
    /// pass through unchanged. Used when validating nested structures.
    #[must_use]
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::Invalid { field, reason } => Self::Invalid {
                field: if field.is_empty() {
                    parent.to_owned()
                } else if field.starts_with('[') {
                    format!("{parent}{field}")
                } else {
                    format!("{parent}.{field}")
                },
                reason,
            },
            other => other,
        }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Self::Unavailable {
                temporary: true,
                ..
            } | Self::Conflict { .. }
        )
    }
}

/// `text` without any number of leading `prefix`es.
fn strip_prefix(text: String, prefix: &str) -> String {
    let mut rest = text.as_str();
    while let Some(r) = rest.strip_prefix(prefix) {
        rest = r;
    }
    if rest.len() == text.len() {
        text
    } else {
        rest.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No `: `-separated part of a message appears twice.
    fn assert_no_stutter(e: &Error) {
        let text = e.to_string();
        let parts: Vec<&str> = text.split(": ").collect();
        for (i, p) in parts.iter().enumerate() {
            assert!(
                !parts[i + 1..].contains(p),
                "{p:?} appears twice in {text:?}"
            );
        }
    }

    /// Every variant, built the way adapters build them, including from the
    /// texts of errors they wrap.
    #[test]
    fn no_message_repeats_its_prefix() {
        let io = std::io::Error::other("connection refused");
        let wrapped = Error::unavailable("node a", true, io);
        let errors = vec![
            Error::not_found(ResourceKind::Module, "m"),
            Error::already_exists(ResourceKind::ModuleVersion, "m@1.0.0"),
            Error::invalid("wasm", "invalid wasm: cannot compile"),
            Error::invalid("wasm", Error::invalid("wasm", "bad magic").to_string()),
            Error::conflict("deployment d", "a deployment is running"),
            Error::Incompatible {
                subject: "m@2.0.0".into(),
                findings: vec!["removed export f".into()],
            },
            Error::Forbidden {
                action: "deploy".into(),
                role: "operator".into(),
            },
            Error::limit_exceeded(LimitKind::ModuleBytes, "the module has 9 bytes"),
            Error::DigestMismatch {
                expected: crate::domain::Digest::of(b"a"),
                actual: crate::domain::Digest::of(b"b"),
            },
            Error::Corrupt {
                what: "artifact".into(),
                reason: "truncated".into(),
            },
            Error::trap("wasm trap: integer divide by zero", None),
            Error::trap("wasm trap: wasm trap: unreachable", None),
            Error::Timeout {
                after: std::time::Duration::from_millis(5),
            },
            Error::FuelExhausted { budget: 10 },
            Error::MemoryLimitExceeded { limit_bytes: 65536 },
            Error::unavailable("node a", true, wrapped.to_string()),
            wrapped,
            Error::internal("internal error: the pool is gone"),
        ];
        for e in &errors {
            assert_no_stutter(e);
        }
        assert_eq!(
            Error::trap("wasm trap: integer divide by zero", None).to_string(),
            "wasm trap: integer divide by zero"
        );
    }

    #[test]
    fn within_prefixes_invalid_fields() {
        let e = Error::invalid("timeout_ms", "must be positive").within("limits");
        assert_eq!(e.to_string(), "invalid limits.timeout_ms: must be positive");
        let e = Error::invalid("[2]", "bad").within("steps");
        assert!(matches!(e, Error::Invalid { ref field, .. } if field == "steps[2]"));
        let e = Error::not_found(ResourceKind::Module, "x").within("limits");
        assert!(matches!(e, Error::NotFound { .. }));
    }

    #[test]
    fn unavailable_keeps_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::unavailable("postgres", true, io);
        assert!(e.is_temporary());
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.to_string(), "postgres unavailable (temporary): refused");
    }

    #[test]
    fn kinds_read_back_from_their_text() {
        for k in ResourceKind::ALL {
            assert_eq!(k.as_str().parse::<ResourceKind>().unwrap(), *k);
        }
        for k in LimitKind::ALL {
            assert_eq!(k.to_string().parse::<LimitKind>().unwrap(), *k);
        }
        let e = "gizmo".parse::<ResourceKind>().unwrap_err();
        assert!(
            matches!(e, Error::Invalid { ref field, .. } if field == "ResourceKind"),
            "{e}"
        );
    }
}

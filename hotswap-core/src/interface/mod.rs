//! The interface registry: WIT interfaces, their approval, and the
//! compatibility mode each package is held to. Parsing WIT, extracting a
//! component's interface and checking compatibility live in
//! `hotswap-control`.

mod memory;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

pub use memory::MemoryInterfaceRegistry;

use crate::domain::{InterfaceId, validate_actor};
use crate::error::{Error, Result};
use crate::repository::{Page, PageRequest};

/// The largest WIT source accepted: 1 MiB.
pub const MAX_WIT_BYTES: usize = 1024 * 1024;

/// A WIT package name, `namespace:name`, each part kebab-case
/// (`[a-z][a-z0-9]*` words joined by `-`), e.g. `hotswap:image-resize`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

/// The longest package name, `namespace:name` together.
pub const MAX_PACKAGE_NAME_LEN: usize = 128;

/// The pattern of a package name (with [`MAX_PACKAGE_NAME_LEN`]): two words
/// of lowercase letters and digits joined by single `-`, each starting with
/// a letter, separated by `:`.
pub const PACKAGE_NAME_PATTERN: &str = "^[a-z][a-z0-9]*(-[a-z0-9]+)*:[a-z][a-z0-9]*(-[a-z0-9]+)*$";

impl PackageName {
    /// Validate and wrap `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let Some((ns, pkg)) = name.split_once(':') else {
            return Err(Error::invalid(
                "package",
                format!("{name:?} must have the form namespace:name"),
            ));
        };
        if name.len() > MAX_PACKAGE_NAME_LEN {
            return Err(Error::invalid(
                "package",
                format!(
                    "is {} characters long, at most {MAX_PACKAGE_NAME_LEN} are allowed",
                    name.len()
                ),
            ));
        }
        for part in [ns, pkg] {
            crate::domain::names::check_word_pattern("package", part, usize::MAX, &['-'], true)?;
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TryFrom<String> for PackageName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<PackageName> for String {
    fn from(p: PackageName) -> String {
        p.0
    }
}

/// Who approved an interface, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// The approving admin.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Approval {
    /// Refuse an empty or malformed approver name.
    pub fn validate(&self) -> Result<()> {
        validate_actor("approval.by", &self.by)
    }
}

/// One registered version of a WIT package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WitInterface {
    /// Identity.
    pub id: InterfaceId,
    /// The package.
    pub package: PackageName,
    /// The package version (`None` for unversioned packages).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub version: Option<Version>,
    /// The WIT source text.
    pub wit: String,
    /// Who registered it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Set once an admin approves it.
    #[serde(default)]
    pub approval: Option<Approval>,
}

impl WitInterface {
    /// A new, unapproved interface version.
    pub fn new(
        package: PackageName,
        version: Option<Version>,
        wit: impl Into<String>,
        created_by: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: InterfaceId::new(),
            package,
            version,
            wit: wit.into(),
            created_by: created_by.into(),
            created_at,
            approval: None,
        }
    }

    /// `package@version` or just `package`.
    pub fn reference(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.package),
            None => self.package.to_string(),
        }
    }

    /// Refuse empty or oversized WIT text and a bad actor.
    pub fn validate(&self) -> Result<()> {
        if self.wit.trim().is_empty() {
            return Err(Error::invalid("wit", "the WIT source is empty"));
        }
        if self.wit.len() > MAX_WIT_BYTES {
            return Err(Error::invalid(
                "wit",
                format!(
                    "the WIT source has {} bytes, at most {MAX_WIT_BYTES} are allowed",
                    self.wit.len()
                ),
            ));
        }
        validate_actor("created_by", &self.created_by)?;
        if let Some(a) = &self.approval {
            validate_actor("approval.by", &a.by)?;
        }
        Ok(())
    }
}

/// How new versions of a package must relate to earlier ones, and so who
/// they protect ([`CompatibilityMode::protects`]; docs/COMPATIBILITY.md
/// has an example per rule).
///
/// For releases of a WIT package, `backward` protects the components that
/// use the package (built against an earlier release, they keep working on
/// hosts of the new one: a minor release may add functions hosts provide),
/// and `forward` protects the hosts that provide it (built for an earlier
/// release, they keep working with components built against the new one).
/// For a module version's own world, `backward` protects the hosts and
/// callers of the earlier version (the new one needs no more imports and
/// keeps every export), and `forward` the other way round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CompatibilityMode {
    /// No check: every release registers.
    None,
    /// Protects components: a component built against the latest version
    /// keeps working on a host of the new one (a host may add what it
    /// provides; nothing a component may use goes away or changes).
    #[default]
    Backward,
    /// Protects components built against any earlier version.
    BackwardTransitive,
    /// Protects hosts: a host built for the latest version still serves a
    /// component built against the new one (a component may not start to
    /// need what the host does not provide).
    Forward,
    /// Protects hosts built for any earlier version.
    ForwardTransitive,
    /// Backward and forward against the latest version: both sides.
    Full,
    /// Backward and forward against every earlier version.
    FullTransitive,
}

impl CompatibilityMode {
    /// The mode's name as the API spells it (`backward_transitive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Backward => "backward",
            Self::BackwardTransitive => "backward_transitive",
            Self::Forward => "forward",
            Self::ForwardTransitive => "forward_transitive",
            Self::Full => "full",
            Self::FullTransitive => "full_transitive",
        }
    }
}

impl fmt::Display for CompatibilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CompatibilityMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim().replace('-', "_"))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.as_str()).collect();
                Error::invalid(
                    "mode",
                    format!("{s:?} is not a mode; one of {}", names.join(", ")),
                )
            })
    }
}

/// Who a compatibility direction protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Protects {
    /// Components that use the package (import what hosts provide, export
    /// what hosts call).
    Components,
    /// Hosts that provide the package.
    Hosts,
}

impl fmt::Display for Protects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Components => "components",
            Self::Hosts => "hosts",
        })
    }
}

impl CompatibilityMode {
    /// Every mode, from the laxest to the strictest.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// Who this mode protects when it judges releases of a WIT package:
    /// components for the backward modes, hosts for the forward ones, both
    /// for the full ones, no one for `None`.
    pub fn protects(self) -> &'static [Protects] {
        match self {
            Self::None => &[],
            Self::Backward | Self::BackwardTransitive => &[Protects::Components],
            Self::Forward | Self::ForwardTransitive => &[Protects::Hosts],
            Self::Full | Self::FullTransitive => &[Protects::Components, Protects::Hosts],
        }
    }
}

/// One incompatibility: the rule, where, and the old and new shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// The rule broken, e.g. `removed_export`, `record_fields`.
    pub rule: String,
    /// Where: `package/interface#function.param`, `world/export`, ...
    pub path: String,
    /// The shape before (absent for an addition).
    pub old: Option<String>,
    /// The shape after (absent for a removal).
    pub new: Option<String>,
    /// Which direction broke: `backward` or `forward`.
    pub direction: String,
    /// Who it breaks: components built against the old version, or hosts
    /// built for it.
    pub protects: Protects,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, breaks {}) at {}: {} -> {}",
            self.rule,
            self.direction,
            self.protects,
            self.path,
            self.old.as_deref().unwrap_or("(none)"),
            self.new.as_deref().unwrap_or("(none)")
        )
    }
}

/// Which interfaces to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct InterfaceFilter {
    /// Only this package.
    pub package: Option<PackageName>,
    /// Only approved (true) or unapproved (false) ones.
    pub approved: Option<bool>,
}

impl InterfaceFilter {
    /// Whether `i` passes.
    pub fn matches(&self, i: &WitInterface) -> bool {
        self.package.as_ref().is_none_or(|p| p == &i.package)
            && self.approved.is_none_or(|a| a == i.approval.is_some())
    }
}

/// Convenience methods over [`InterfaceRegistry`].
#[async_trait]
pub trait InterfaceRegistryExt: InterfaceRegistry {
    /// Every interface version matching `filter`, in list order.
    async fn all_interfaces(&self, filter: &InterfaceFilter) -> Result<Vec<WitInterface>> {
        crate::repository::all_items(|page| async move { self.list(filter, &page).await }).await
    }
}

impl<T: InterfaceRegistry + ?Sized> InterfaceRegistryExt for T {}

/// Stores WIT interfaces. `id` and `(package, version)` are each unique;
/// lists are ordered by `(package, id)`. The repository contract of
/// [`crate::repository`] applies.
#[async_trait]
pub trait InterfaceRegistry: Send + Sync + fmt::Debug + 'static {
    /// Store a new interface version (validated first).
    async fn register(&self, interface: &WitInterface) -> Result<()>;

    /// An interface by id.
    async fn get(&self, id: InterfaceId) -> Result<WitInterface>;

    /// An interface by package and version.
    async fn get_version(
        &self,
        package: &PackageName,
        version: Option<&Version>,
    ) -> Result<WitInterface>;

    /// A page of interfaces matching `filter`.
    async fn list(
        &self,
        filter: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Page<WitInterface>>;

    /// Record an approval. Idempotent: approving an approved interface
    /// keeps the first approval and returns it.
    async fn approve(&self, id: InterfaceId, approval: &Approval) -> Result<WitInterface>;

    /// Remove an interface version.
    async fn delete(&self, id: InterfaceId) -> Result<()>;

    /// The package's mode; [`CompatibilityMode::Backward`] until set.
    async fn compatibility_mode(&self, package: &PackageName) -> Result<CompatibilityMode>;

    /// Set the package's mode.
    async fn set_compatibility_mode(
        &self,
        package: &PackageName,
        mode: CompatibilityMode,
    ) -> Result<()>;
}

//! WIT tooling of the control plane: parsing packages, extracting a
//! component's interface, uploads with their dependencies, the compatibility checker and the registry
//! service that applies each package's mode. The registry's types and trait
//! are in [`hotswap_core::interface`].

pub mod compat;
mod package;
mod service;
mod wit;

pub use package::{WitFile, WitUpload};
pub use service::{Caller, InterfaceService, Override, Registered, Validation};
pub use wit::{ParsedWit, extract_wit, parse_wit};

use hotswap_core::interface::{
    Approval, CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, WitInterface,
};

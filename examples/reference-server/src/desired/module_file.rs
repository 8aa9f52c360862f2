//! Files a desired-state file names, read while it is parsed so that a
//! missing or malformed one is reported at its key and line: a module's
//! binary (`.wat` assembled) and a WIT package (a file or a directory).

use std::path::PathBuf;

use hotswap_core::domain::Digest;
use hotswap_http::wit_payload::WitPayload;
use serde::{Deserialize, Deserializer, de::Error as _};

use super::load::resolve;

/// A module's binary, read.
#[derive(Debug)]
pub(crate) struct ModuleFile {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    /// The binary (assembled from text for `.wat`).
    pub(crate) bytes: Vec<u8>,
    /// SHA-256 of the binary.
    pub(crate) digest: Digest,
}

impl<'de> Deserialize<'de> for ModuleFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let path = resolve(&String::deserialize(d)?);
        let read = std::fs::read(&path)
            .map_err(|e| D::Error::custom(format!("cannot read {}: {e}", path.display())))?;
        let bytes = if path.extension().is_some_and(|e| e == "wat") {
            wat::parse_bytes(&read)
                .map_err(|e| D::Error::custom(format!("{}: {e}", path.display())))?
                .into_owned()
        } else {
            read
        };
        if !bytes.starts_with(b"\0asm") {
            return Err(D::Error::custom(format!(
                "{} is not WebAssembly (a .wasm binary or .wat text)",
                path.display()
            )));
        }
        Ok(Self {
            digest: Digest::of(&bytes),
            path,
            bytes,
        })
    }
}

/// A WIT package, read: one `.wit` file, a package encoded as `.wasm`, or
/// a directory with its `deps/`.
#[derive(Debug)]
pub(crate) struct WitSource {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    pub(super) payload: WitPayload,
}

impl<'de> Deserialize<'de> for WitSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let path = resolve(&String::deserialize(d)?);
        let payload = WitPayload::read(&path).map_err(|e| match e {
            hotswap_core::Error::Invalid { reason, .. } => D::Error::custom(reason),
            e => D::Error::custom(e),
        })?;
        Ok(Self { path, payload })
    }
}

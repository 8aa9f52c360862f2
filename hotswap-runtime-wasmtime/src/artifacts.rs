//! The precompiled-artifact cache.
//!
//! An artifact is stored as `<dir>/<module digest>-<engine key>.cwasm` with a
//! header binding it to the module digest, the engine key (a hash of the
//! engine's precompile-compatibility hash) and a CRC-32 of the payload.
//! The CRC catches damage (a torn write, disk rot) at memory speed; a
//! deliberate writer of this folder could forge anything, so the folder must
//! be as trusted as the binary itself.
//! A file whose header does not match, or that wasmtime refuses to
//! deserialize, is deleted and the module is recompiled: a stale, damaged
//! or foreign artifact is never loaded.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hotswap_core::domain::Digest;
use sha2::{Digest as _, Sha256};
use wasmtime::Engine;

const MAGIC: &[u8; 8] = b"HSWART01";
/// Magic, module digest, engine key, CRC-32 of the payload.
pub(crate) const HEADER: usize = 8 + 32 + 32 + 4;

/// Feeds `Hash` input into SHA-256, so the engine key is stable across
/// processes (std's hashers promise no such thing).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The engine key: SHA-256 of wasmtime's precompile-compatibility hash.
pub(crate) fn engine_key(engine: &Engine) -> [u8; 32] {
    let mut h = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().into()
}

#[derive(Debug)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    key: [u8; 32],
}

impl ArtifactCache {
    pub(crate) fn new(dir: Option<PathBuf>, engine: &Engine) -> std::io::Result<Self> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Self {
            dir,
            key: engine_key(engine),
        })
    }

    /// Where the artifact of `digest` lives for this engine.
    pub(crate) fn path(&self, digest: &Digest) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{digest}-{}.cwasm", &hex::encode(self.key)[..16])))
    }

    /// The verified payload of `digest`'s artifact, if a good one exists.
    /// A bad one is removed (and reported through `rejected`).
    pub(crate) fn load(&self, digest: &Digest, rejected: &mut bool) -> Option<Vec<u8>> {
        let path = self.path(digest)?;
        let bytes = std::fs::read(&path).ok()?;
        match self.verify(digest, &bytes) {
            Some(()) => Some(bytes[HEADER..].to_vec()),
            None => {
                tracing::warn!(path = %path.display(), "discarding an artifact that does not match its module or engine");
                *rejected = true;
                self.discard(digest);
                None
            }
        }
    }

    fn verify(&self, digest: &Digest, bytes: &[u8]) -> Option<()> {
        if bytes.len() <= HEADER || &bytes[..8] != MAGIC {
            return None;
        }
        let payload = &bytes[HEADER..];
        let ok = bytes[8..40] == digest.as_bytes()[..]
            && bytes[40..72] == self.key[..]
            && bytes[72..76] == crc32fast::hash(payload).to_le_bytes();
        ok.then_some(())
    }

    /// Write `payload` for `digest` atomically (temp file, then rename).
    pub(crate) fn store(&self, digest: &Digest, payload: &[u8]) -> std::io::Result<()> {
        let Some(path) = self.path(digest) else {
            return Ok(());
        };
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(digest.as_bytes())?;
        f.write_all(&self.key)?;
        f.write_all(&crc32fast::hash(payload).to_le_bytes())?;
        f.write_all(payload)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    }

    /// Remove `digest`'s artifact, if any.
    pub(crate) fn discard(&self, digest: &Digest) {
        if let Some(path) = self.path(digest) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The cache folder.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

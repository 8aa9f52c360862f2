//! The precompiled-artifact cache.
//!
//! An artifact is two files: `<module digest>-<engine key>.<extension>`,
//! exactly what the runtime serialized (so it can be memory-mapped), and a
//! `.meta` sidecar binding it to the module digest, the engine key (a hash
//! the runtime derives from everything that makes its artifacts
//! compatible), its length and a CRC-32 of its bytes. The `.cwasm` is written
//! first and the `.meta` last, each by rename, so a `.meta` always describes
//! a complete file. A pair that does not verify, or that the runtime refuses,
//! is deleted and the module recompiled by the runtime: a stale, damaged or foreign
//! artifact is never loaded. The CRC catches damage (a torn write, disk
//! rot) at memory speed; the folder must be as trusted as the binary.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::Digest;

const MAGIC: &[u8; 8] = b"HSWART02";
/// Magic, module digest, engine key, CRC-32, length.
pub const META_LEN: usize = 8 + 32 + 32 + 4 + 8;

/// A folder of precompiled artifacts, each verified before it is used.
#[derive(Debug)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
    key: [u8; 32],
    extension: &'static str,
}

impl ArtifactCache {
    /// A cache in `dir` (created when missing; `None` caches nothing) for
    /// an engine whose artifacts are compatible exactly when their `key`s
    /// are equal, naming its files `*.extension`.
    pub fn new(
        dir: Option<PathBuf>,
        key: [u8; 32],
        extension: &'static str,
    ) -> std::io::Result<Self> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Self {
            dir,
            key,
            extension,
        })
    }

    /// Where the artifact of `digest` lives for this engine (its `.meta`
    /// sidecar sits beside it).
    pub fn path(&self, digest: &Digest) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!(
            "{digest}-{}.{}",
            &hex::encode(self.key)[..16],
            self.extension
        )))
    }

    fn meta(&self, digest: &Digest, artifact: &[u8]) -> [u8; META_LEN] {
        let mut meta = [0u8; META_LEN];
        meta[..8].copy_from_slice(MAGIC);
        meta[8..40].copy_from_slice(digest.as_bytes());
        meta[40..72].copy_from_slice(&self.key);
        meta[72..76].copy_from_slice(&crc32fast::hash(artifact).to_le_bytes());
        meta[76..].copy_from_slice(&(artifact.len() as u64).to_le_bytes());
        meta
    }

    /// The path of `digest`'s artifact if a verified one exists. A bad one
    /// is removed (and reported through `rejected`).
    pub fn load(&self, digest: &Digest, rejected: &mut bool) -> Option<PathBuf> {
        let path = self.path(digest)?;
        let meta = std::fs::read(path.with_extension("meta")).ok()?;
        let verified = std::fs::read(&path)
            .map(|artifact| meta == self.meta(digest, &artifact))
            .unwrap_or(false);
        if verified {
            return Some(path);
        }
        tracing::warn!(path = %path.display(), "discarding an artifact that does not match its module or engine");
        *rejected = true;
        self.discard(digest);
        None
    }

    /// Write `artifact` for `digest` (the artifact, then its sidecar, each
    /// to a temporary name and then renamed).
    pub fn store(&self, digest: &Digest, artifact: &[u8]) -> std::io::Result<()> {
        let Some(path) = self.path(digest) else {
            return Ok(());
        };
        write_atomically(&path, artifact)?;
        write_atomically(&path.with_extension("meta"), &self.meta(digest, artifact))
    }

    /// Remove `digest`'s artifact, if any.
    pub fn discard(&self, digest: &Digest) {
        if let Some(path) = self.path(digest) {
            let _ = std::fs::remove_file(path.with_extension("meta"));
            let _ = std::fs::remove_file(path);
        }
    }

    /// The cache folder.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

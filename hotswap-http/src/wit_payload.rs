//! WIT packages on the wire: one text, a directory with its `deps/` (sent
//! as a tar.gz archive, or received as multipart), or a package encoded as
//! wasm. Clients read them from disk; the API unpacks them within bounds.

use std::io::Read as _;
use std::path::Path;

use hotswap_core::{Error, Result};

/// The most files an uploaded directory may hold.
pub const MAX_WIT_FILES: usize = 4096;
/// The most bytes an uploaded directory's files may hold together, unpacked.
pub const MAX_WIT_BYTES: u64 = 16 * 1024 * 1024;

/// The media type of a gzip-compressed tar archive.
pub const TAR_GZIP: &str = "application/gzip";

/// A WIT package as a client sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitPayload {
    /// One WIT text.
    Text(String),
    /// A directory's files by relative `/`-separated path.
    Files(Vec<(String, Vec<u8>)>),
    /// A WIT package encoded as wasm.
    Wasm(Vec<u8>),
}

impl WitPayload {
    /// Read `path`: a directory (its `*.wit` files and its `deps/`, every
    /// `.wit` and `.wasm` file below it), a `.wasm` file, or a WIT file.
    pub fn read(path: &Path) -> Result<Self> {
        let unreadable = |e: std::io::Error| {
            Error::invalid("path", format!("cannot read {}: {e}", path.display()))
        };
        if path.is_dir() {
            let mut files = Vec::new();
            collect(path, "", &mut files).map_err(unreadable)?;
            files.sort();
            return Ok(Self::Files(files));
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        if bytes.starts_with(b"\0asm") {
            return Ok(Self::Wasm(bytes));
        }
        String::from_utf8(bytes)
            .map(Self::Text)
            .map_err(|_| Error::invalid("path", format!("{} is not UTF-8 text", path.display())))
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            collect(&path, &format!("{relative}/"), out)?;
        } else if name.ends_with(".wit") || name.ends_with(".wasm") {
            out.push((relative, std::fs::read(&path)?));
        }
    }
    Ok(())
}

/// `files` as a gzip-compressed tar archive.
pub fn pack(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let failed = |e: std::io::Error| Error::internal(format!("packing the WIT files failed: {e}"));
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(gz);
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, path, contents.as_slice())
            .map_err(failed)?;
    }
    archive
        .into_inner()
        .and_then(flate2::write::GzEncoder::finish)
        .map_err(failed)
}

/// The regular files of a tar archive (gzip-compressed or not), by path;
/// directories are skipped, links and devices refused, and the archive
/// held within [`MAX_WIT_FILES`] and [`MAX_WIT_BYTES`].
pub fn unpack(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let reader: Box<dyn std::io::Read + '_> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let bad =
        |e: std::io::Error| Error::invalid("body", format!("not a readable tar archive: {e}"));
    let mut archive = tar::Archive::new(reader.take(MAX_WIT_BYTES + 1024 * 1024));
    let mut files = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // pax and GNU long-name records are read by `entries` itself.
            t if t.is_pax_global_extensions() => continue,
            other => {
                return Err(Error::invalid(
                    path,
                    format!("is a {other:?} entry; the archive may hold only files and folders"),
                ));
            }
        }
        total += entry.size();
        if files.len() == MAX_WIT_FILES || total > MAX_WIT_BYTES {
            return Err(Error::invalid(
                "body",
                format!(
                    "the archive holds more than {MAX_WIT_FILES} files or {MAX_WIT_BYTES} bytes"
                ),
            ));
        }
        let mut contents = Vec::new();
        let mut entry = entry;
        entry.read_to_end(&mut contents).map_err(bad)?;
        files.push((path, contents));
    }
    Ok(files)
}

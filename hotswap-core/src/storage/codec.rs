//! The blob codec every [`ModuleStorage`](super::ModuleStorage) uses:
//! SHA-256 content addressing and Brotli compression, with a cap on decoded
//! size so a damaged or hostile blob can never expand without bound.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::domain::Digest;
use crate::error::LimitKind;
use crate::error::{Error, Result};
use crate::inspect::DEFAULT_MAX_MODULE_BYTES;

/// Brotli window (log2 bytes): 4 MiB.
const LG_WINDOW: u32 = 22;
const BUFFER: usize = 64 * 1024;

/// Compresses, addresses and verifies module blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Codec {
    /// Brotli quality, 0 (fast) to 11 (small).
    pub quality: u32,
    /// Largest raw module accepted on encode and produced on decode.
    pub max_raw_bytes: usize,
}

impl Default for Codec {
    fn default() -> Self {
        Self {
            quality: 9,
            max_raw_bytes: DEFAULT_MAX_MODULE_BYTES,
        }
    }
}

/// A blob ready for storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBlob {
    /// SHA-256 of the raw bytes: the blob's address.
    pub digest: Digest,
    /// Raw size.
    pub raw_size: u64,
    /// Brotli-compressed bytes.
    pub compressed: Bytes,
}

impl Codec {
    /// A codec with `quality` and a cap of `max_raw_bytes`.
    pub fn new(quality: u32, max_raw_bytes: usize) -> Result<Self> {
        if quality > 11 {
            return Err(Error::invalid(
                "quality",
                format!("{quality} is outside 0..=11"),
            ));
        }
        if max_raw_bytes == 0 {
            return Err(Error::invalid("max_raw_bytes", "must not be zero"));
        }
        Ok(Self {
            quality,
            max_raw_bytes,
        })
    }

    /// Address and compress `raw`; refuses it when over the cap.
    pub fn encode(&self, raw: &[u8]) -> Result<EncodedBlob> {
        if raw.len() > self.max_raw_bytes {
            return Err(Error::limit_exceeded(
                LimitKind::ModuleBytes,
                format!(
                    "the module has {} bytes, the limit is {}",
                    raw.len(),
                    self.max_raw_bytes
                ),
            ));
        }
        let mut out = Vec::with_capacity(raw.len() / 2 + 64);
        {
            let mut w = brotli::CompressorWriter::new(&mut out, BUFFER, self.quality, LG_WINDOW);
            w.write_all(raw)
                .map_err(|e| Error::internal(format!("brotli compression failed: {e}")))?;
        }
        Ok(EncodedBlob {
            digest: Digest::of(raw),
            raw_size: raw.len() as u64,
            compressed: Bytes::from(out),
        })
    }

    /// Decompress `compressed` and check that it hashes to `expected`.
    ///
    /// Output beyond the cap is `Corrupt` (nothing beyond cap + 1 bytes is
    /// ever produced); undecodable input is `Corrupt`; a wrong hash is
    /// `DigestMismatch`. Never returns unverified bytes.
    pub fn decode(&self, compressed: &[u8], expected: &Digest) -> Result<Bytes> {
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("blob {expected}"),
            reason,
        };
        let cap = self.max_raw_bytes as u64;
        let mut out = Vec::new();
        brotli::Decompressor::new(compressed, BUFFER)
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| corrupt(format!("brotli stream cannot be decoded: {e}")))?;
        if out.len() as u64 > cap {
            return Err(corrupt(format!(
                "decompresses to more than the cap of {cap} bytes"
            )));
        }
        let actual = Digest::of(&out);
        if &actual != expected {
            return Err(Error::DigestMismatch {
                expected: *expected,
                actual,
            });
        }
        Ok(Bytes::from(out))
    }
}

/// The object key of a blob: `sha256/<first two hex>/<hex>`, so file-system
/// backends never hold too many entries in one folder.
pub fn blob_key(digest: &Digest) -> String {
    let hex = digest.to_hex();
    format!("sha256/{}/{hex}", &hex[..2])
}

/// The digest a [`blob_key`] names, if it is one.
pub fn digest_from_key(key: &str) -> Option<Digest> {
    let rest = key.strip_prefix("sha256/")?;
    let (prefix, hex) = rest.split_once('/')?;
    let digest: Digest = hex.parse().ok()?;
    (digest.to_hex()[..2] == *prefix).then_some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_dedup_key() {
        let codec = Codec::default();
        let raw = b"\0asm\x01\0\0\0".repeat(1000);
        let blob = codec.encode(&raw).unwrap();
        assert!(blob.compressed.len() < raw.len() / 10);
        assert_eq!(codec.decode(&blob.compressed, &blob.digest).unwrap(), raw);
        let key = blob_key(&blob.digest);
        assert_eq!(digest_from_key(&key), Some(blob.digest));
        assert_eq!(digest_from_key("sha256/00/nothex"), None);
    }

    #[test]
    fn refuses_bombs_damage_and_mismatch() {
        let small = Codec::new(5, 1024).unwrap();
        let big = Codec::default()
            .encode(&vec![0u8; 10 * 1024 * 1024])
            .unwrap();
        assert!(
            big.compressed.len() < 64 * 1024,
            "a bomb: tiny in, huge out"
        );
        let e = small.decode(&big.compressed, &big.digest).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("more than the cap of 1024 bytes"));

        let e = small.encode(&[0u8; 2048]).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{e}");

        let blob = small.encode(b"hello").unwrap();
        let e = small
            .decode(&blob.compressed, &Digest::of(b"other"))
            .unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        let e = small
            .decode(b"\xff\xff\xff garbage", &blob.digest)
            .unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "{e}");
        let truncated = &blob.compressed[..blob.compressed.len() - 1];
        assert!(small.decode(truncated, &blob.digest).is_err());
        assert!(Codec::new(12, 1).is_err());
    }
}

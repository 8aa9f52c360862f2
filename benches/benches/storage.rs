//! Module blobs through the codec: put (Brotli encode + SHA-256 + store)
//! and get (fetch + decode + verify) of 1 MiB and 10 MiB modules at three
//! Brotli levels, on the in-memory object store so the codec is what is
//! measured. See benches/README.md for figures and the chosen default.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotswap_benches::{big_module, selected};
use hotswap_core::storage::{Codec, ModuleStorage};
use hotswap_store_s3::{Backend, ObjectStorageConfig};

const LEVELS: [u32; 3] = [1, 5, 9];

fn codec(c: &mut Criterion) {
    if !selected("module_blobs") {
        return;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Generated modules of about 1 MiB and 10 MiB (code compresses like
    // real modules do; noise would not compress at all).
    let modules = [("1MiB", big_module(19_000)), ("10MiB", big_module(190_000))];
    let mut g = c.benchmark_group("module_blobs");
    g.sample_size(10);
    for (size, bytes) in &modules {
        let bytes = Bytes::from(bytes.clone());
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        for level in LEVELS {
            let storage = ObjectStorageConfig::new(Backend::Memory)
                .with_codec(Codec::new(level, 64 << 20).unwrap())
                .build()
                .unwrap();
            let start = Instant::now();
            let stored = tokio.block_on(storage.put(bytes.clone())).unwrap();
            println!(
                "STORED {size} at level {level}: {} -> {} bytes ({:.1}%), first put {:?}",
                stored.size_bytes,
                stored.compressed_size_bytes,
                100.0 * stored.compressed_size_bytes as f64 / stored.size_bytes as f64,
                start.elapsed()
            );
            g.bench_function(format!("put_{size}_level_{level}"), |b| {
                b.iter(|| tokio.block_on(storage.put(bytes.clone())).unwrap())
            });
            g.bench_function(format!("get_{size}_level_{level}"), |b| {
                b.iter(|| tokio.block_on(storage.get(&stored.digest)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);

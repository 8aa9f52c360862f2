//! The object storage passes the storage conformance suite on a real
//! S3-compatible server, on a local folder, and in memory.

mod support;

mod s3 {
    use super::support;
    use hotswap_testkit::storage::StorageHarness;

    async fn storage() -> Option<StorageHarness> {
        Some(support::harness(support::s3()?))
    }

    hotswap_testkit::storage_suite!(storage);
}

mod local {
    use super::support;
    use hotswap_testkit::storage::StorageHarness;

    async fn storage() -> StorageHarness {
        support::harness(support::local())
    }

    hotswap_testkit::storage_suite!(storage);
}

mod memory {
    use super::support;
    use hotswap_store_s3::{Backend, ObjectStorageConfig};
    use hotswap_testkit::storage::StorageHarness;

    async fn storage() -> StorageHarness {
        let codec = hotswap_core::storage::Codec::new(5, support::MAX_BYTES).expect("codec");
        support::harness(
            ObjectStorageConfig::new(Backend::Memory)
                .with_codec(codec)
                .build()
                .expect("memory"),
        )
    }

    hotswap_testkit::storage_suite!(storage);
}

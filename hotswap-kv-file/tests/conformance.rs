//! The file store passes the key-value conformance suite, keeps what it
//! wrote across a reopen, and refuses a file that is not a store.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_core::domain::BucketName;
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_kv_file::FileKeyValue;

async fn store() -> Arc<dyn KeyValueStore> {
    // The folder outlives the test process's use of it; the OS cleans /tmp.
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(FileKeyValue::open(dir.join("kv.redb")).unwrap())
}

hotswap_testkit::keyvalue_suite!(store);

#[tokio::test]
async fn values_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    let bucket = BucketName::new("counters").unwrap();
    {
        let s = FileKeyValue::open(&path).unwrap();
        s.set(&bucket, "name", b"value").await.unwrap();
        assert_eq!(s.increment(&bucket, "hits", 3).await.unwrap(), 3);
    }
    let s = FileKeyValue::open(&path).unwrap();
    assert_eq!(
        s.get(&bucket, "name").await.unwrap().as_deref(),
        Some(&b"value"[..])
    );
    assert_eq!(s.increment(&bucket, "hits", 1).await.unwrap(), 4);
}

#[test]
fn a_file_that_is_not_a_store_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-store");
    std::fs::write(&path, b"plain text, not redb").unwrap();
    let e = FileKeyValue::open(&path).unwrap_err().to_string();
    assert!(
        e.contains("keyvalue.path") && e.contains("not-a-store"),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"plain text, not redb");
}

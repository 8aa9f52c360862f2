//! The Redis store passes the key-value conformance suite on a real
//! redis-server, and a server that goes away is `Unavailable`.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hotswap_core::Error;
use hotswap_core::domain::BucketName;
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_kv_redis::{RedisConfig, RedisKeyValue};

async fn store() -> Option<Arc<dyn KeyValueStore>> {
    let url = hotswap_testkit::service_env("HOTSWAP_TEST_REDIS_URL")?;
    Some(Arc::new(RedisKeyValue::connect(&url).await.unwrap()))
}

hotswap_testkit::keyvalue_suite!(store);

#[tokio::test]
async fn prefixes_keep_stores_apart_on_one_server() {
    let Some(url) = hotswap_testkit::service_env("HOTSWAP_TEST_REDIS_URL") else {
        return;
    };
    let bucket = hotswap_testkit::keyvalue::fresh_bucket("prefix");
    let a = RedisKeyValue::with_config(RedisConfig::new(&url).with_prefix("a:"))
        .await
        .unwrap();
    let b = RedisKeyValue::with_config(RedisConfig::new(&url).with_prefix("b:"))
        .await
        .unwrap();
    a.set(&bucket, "k", b"from a").await.unwrap();
    assert_eq!(b.get(&bucket, "k").await.unwrap(), None);
    assert_eq!(
        a.get(&bucket, "k").await.unwrap().as_deref(),
        Some(&b"from a"[..])
    );
}

#[tokio::test]
async fn a_bad_url_is_refused_without_its_password() {
    let e = RedisKeyValue::connect("http://user:s3cret@127.0.0.1:6379")
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, Error::Invalid { ref field, .. } if field == "keyvalue.redis_url"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}

/// A redis-server of this test's own, on a free port.
struct OwnServer {
    child: tokio::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

async fn own_server() -> Option<OwnServer> {
    // The same binary .ci/run starts; needed only where the shared one is.
    hotswap_testkit::service_env("HOTSWAP_TEST_REDIS_URL")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is installed where HOTSWAP_TEST_REDIS_URL is set");
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(OwnServer {
                child,
                url,
                _dir: dir,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not listen on {port}");
}

#[tokio::test]
async fn a_server_that_goes_away_is_unavailable() {
    let Some(mut server) = own_server().await else {
        return;
    };
    let store = RedisKeyValue::connect(&server.url).await.unwrap();
    let bucket = BucketName::new("gone").unwrap();
    store.set(&bucket, "k", b"v").await.unwrap();
    server.child.kill().await.unwrap();
    for op in [
        store.get(&bucket, "k").await.map(|_| ()),
        store.increment(&bucket, "n", 1).await.map(|_| ()),
    ] {
        let e = op.unwrap_err();
        assert!(
            matches!(&e, Error::Unavailable { service, .. } if service.starts_with("redis ")),
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unavailable_at_connect() {
    if hotswap_testkit::service_env("HOTSWAP_TEST_REDIS_URL").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = RedisKeyValue::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
}

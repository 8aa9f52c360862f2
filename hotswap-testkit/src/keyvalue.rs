//! Conformance suite for [`KeyValueStore`]: every adapter runs it with
//! [`keyvalue_suite!`](crate::keyvalue_suite).
//!
//! Each behaviour works in buckets of its own (a random suffix), so the
//! suite can share one server with other tests running at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use hotswap_core::Error;
use hotswap_core::domain::BucketName;
use hotswap_core::keyvalue::{KeyValueStore, MAX_COUNTER};

/// A bucket no other test uses.
pub fn fresh_bucket(prefix: &str) -> BucketName {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    BucketName::new(format!("{prefix}-{}", &suffix[..12])).unwrap()
}

/// Every key of `bucket`, walking the pages; no key may come twice.
pub async fn all_keys(s: &dyn KeyValueStore, bucket: &BucketName) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s
            .list_keys(bucket, cursor.as_deref())
            .await
            .expect("list_keys");
        for key in page.keys {
            assert!(keys.insert(key.clone()), "{key:?} listed twice");
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return keys,
        }
    }
}

/// A missing key reads as `None`, does not exist, and deletes fine.
pub async fn missing_keys_are_absent(s: &dyn KeyValueStore) {
    let b = fresh_bucket("missing");
    assert_eq!(s.get(&b, "nothing").await.unwrap(), None);
    assert!(!s.exists(&b, "nothing").await.unwrap());
    s.delete(&b, "nothing").await.unwrap();
    assert!(all_keys(s, &b).await.is_empty());
}

/// `set` then `get` gives the same bytes, including empty and non-UTF-8
/// values and keys with separators, spaces and non-ASCII text; `set`
/// replaces, `delete` removes.
pub async fn values_round_trip_and_replace(s: &dyn KeyValueStore) {
    let b = fresh_bucket("round-trip");
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    let cases: [(&str, &[u8]); 6] = [
        ("plain", b"value"),
        ("empty", b""),
        ("binary", &binary),
        ("with:colons/and slashes", b"sep"),
        ("ключ-🙂", b"unicode"),
        ("", b"empty key"),
    ];
    for (key, value) in cases {
        s.set(&b, key, value).await.unwrap();
    }
    for (key, value) in cases {
        assert_eq!(
            s.get(&b, key).await.unwrap().as_deref(),
            Some(value),
            "{key:?}"
        );
        assert!(s.exists(&b, key).await.unwrap(), "{key:?}");
    }
    s.set(&b, "plain", b"replaced").await.unwrap();
    assert_eq!(
        s.get(&b, "plain").await.unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
    s.delete(&b, "plain").await.unwrap();
    assert_eq!(s.get(&b, "plain").await.unwrap(), None);
    assert!(!s.exists(&b, "plain").await.unwrap());
    let keys = all_keys(s, &b).await;
    let expected: BTreeSet<String> = cases[1..].iter().map(|(k, _)| (*k).to_owned()).collect();
    assert_eq!(keys, expected);
}

/// A key in one bucket is not seen in another, whatever the names.
pub async fn buckets_are_disjoint(s: &dyn KeyValueStore) {
    let a = fresh_bucket("a");
    let b = BucketName::new(format!("{a}.b")).unwrap();
    s.set(&a, "b:k", b"in a").await.unwrap();
    s.set(&b, "k", b"in a.b").await.unwrap();
    assert_eq!(s.get(&a, "k").await.unwrap(), None);
    assert_eq!(s.get(&b, "b:k").await.unwrap(), None);
    assert_eq!(
        s.get(&a, "b:k").await.unwrap().as_deref(),
        Some(&b"in a"[..])
    );
    assert_eq!(all_keys(s, &a).await, BTreeSet::from(["b:k".to_owned()]));
    assert_eq!(all_keys(s, &b).await, BTreeSet::from(["k".to_owned()]));
    s.delete(&a, "k").await.unwrap();
    assert!(s.exists(&b, "k").await.unwrap());
}

/// Listing 2,500 keys takes several pages and gives each key once.
pub async fn listing_pages_through_every_key(s: &dyn KeyValueStore) {
    let b = fresh_bucket("list");
    let entries: Vec<(String, Vec<u8>)> = (0..2500)
        .map(|i| (format!("key-{i:05}"), vec![b'v']))
        .collect();
    s.set_many(&b, &entries).await.unwrap();
    let first = s.list_keys(&b, None).await.unwrap();
    assert!(first.cursor.is_some(), "2,500 keys fit one page");
    assert!(!first.keys.is_empty());
    let keys = all_keys(s, &b).await;
    let expected: BTreeSet<String> = entries.into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, expected);
}

/// Keys present for a whole listing are all listed while other keys are
/// written and deleted meanwhile.
pub async fn listing_survives_concurrent_writes(s: Arc<dyn KeyValueStore>) {
    let b = fresh_bucket("list-busy");
    let stable: Vec<(String, Vec<u8>)> = (0..1500).map(|i| (format!("s{i:04}"), vec![1])).collect();
    s.set_many(&b, &stable).await.unwrap();
    let writer = {
        let (s, b) = (s.clone(), b.clone());
        tokio::spawn(async move {
            for i in 0..300 {
                s.set(&b, &format!("t{i:04}"), b"x").await.unwrap();
                if i % 3 == 0 {
                    s.delete(&b, &format!("t{:04}", i / 2)).await.unwrap();
                }
            }
        })
    };
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.list_keys(&b, cursor.as_deref()).await.unwrap();
        seen.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    writer.await.unwrap();
    for (key, _) in &stable {
        assert!(seen.contains(key), "{key} missing from the listing");
    }
}

/// Batches read, write and delete like their single forms.
pub async fn batches_match_single_operations(s: &dyn KeyValueStore) {
    let b = fresh_bucket("batch");
    let entries = vec![
        ("one".to_owned(), b"1".to_vec()),
        ("two".to_owned(), b"2".to_vec()),
    ];
    s.set_many(&b, &entries).await.unwrap();
    let keys = vec!["two".to_owned(), "none".to_owned(), "one".to_owned()];
    assert_eq!(
        s.get_many(&b, &keys).await.unwrap(),
        vec![Some(b"2".to_vec()), None, Some(b"1".to_vec())]
    );
    s.delete_many(&b, &keys).await.unwrap();
    assert!(all_keys(s, &b).await.is_empty());
}

/// A counter starts at 0, adds, and is stored as its decimal text.
pub async fn counters_add_from_zero(s: &dyn KeyValueStore) {
    let b = fresh_bucket("counter");
    assert_eq!(s.increment(&b, "hits", 1).await.unwrap(), 1);
    assert_eq!(s.increment(&b, "hits", 41).await.unwrap(), 42);
    assert_eq!(s.increment(&b, "hits", 0).await.unwrap(), 42);
    assert_eq!(
        s.get(&b, "hits").await.unwrap().as_deref(),
        Some(&b"42"[..])
    );
    s.set(&b, "set", b"7").await.unwrap();
    assert_eq!(s.increment(&b, "set", 3).await.unwrap(), 10);
}

/// A value that is not a counter, or a sum past the largest counter, is
/// refused naming the key, and the value stays as it was.
pub async fn counters_refuse_bad_values_and_overflow(s: &dyn KeyValueStore) {
    let b = fresh_bucket("counter-bad");
    for (i, bad) in [&b"text"[..], b"", b"-3", b"007", b"1.5"]
        .into_iter()
        .enumerate()
    {
        let key = format!("bad{i}");
        s.set(&b, &key, bad).await.unwrap();
        let e = s.increment(&b, &key, 1).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { reason, .. } if reason.contains(&format!("{key:?}")) && reason.contains("not a counter")),
            "{bad:?}: {e}"
        );
        assert_eq!(s.get(&b, &key).await.unwrap().as_deref(), Some(bad));
    }
    s.set(&b, "max", MAX_COUNTER.to_string().as_bytes())
        .await
        .unwrap();
    let e = s.increment(&b, "max", 1).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { reason, .. } if reason.contains("would pass")),
        "{e}"
    );
    let e = s.increment(&b, "fresh", u64::MAX).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid { .. }), "{e}");
    assert_eq!(s.get(&b, "fresh").await.unwrap(), None);
    assert_eq!(
        s.get(&b, "max").await.unwrap(),
        Some(MAX_COUNTER.to_string().into_bytes())
    );
}

/// 8 tasks adding 1 to one counter 50 times each leave it at 400: no
/// increment is lost.
pub async fn concurrent_increments_lose_nothing(s: Arc<dyn KeyValueStore>) {
    let b = fresh_bucket("counter-busy");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, b) = (s.clone(), b.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    s.increment(&b, "hits", 1).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.increment(&b, "hits", 0).await.unwrap(), 400);
}

/// One `#[test]` per behaviour of the key-value contract; `$make` is an
/// async factory returning `Arc<dyn KeyValueStore>`, or an `Option` of one
/// (`None` skips, see [`service_env`](crate::service_env)).
#[macro_export]
macro_rules! keyvalue_suite {
    ($make:expr) => {
        mod keyvalue_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dyn_tests!(
                $make,
                keyvalue,
                [],
                [
                    missing_keys_are_absent,
                    values_round_trip_and_replace,
                    buckets_are_disjoint,
                    listing_pages_through_every_key,
                    batches_match_single_operations,
                    counters_add_from_zero,
                    counters_refuse_bad_values_and_overflow,
                ]
            );
            $crate::__arc_tests!(
                $make,
                keyvalue,
                [],
                [
                    listing_survives_concurrent_writes,
                    concurrent_increments_lose_nothing,
                ]
            );
        }
    };
}

//! Blob then row, and the orphan sweep, on real pairs: an S3-compatible
//! server with PostgreSQL (the control-plane setup), and a local folder
//! with SQLite (the embedded default).

mod support;

use std::sync::Arc;

use hotswap_testkit::orphans::OrphanHarness;

async fn s3_postgres() -> Option<OrphanHarness> {
    let storage = support::s3()?;
    let failing_storage = support::s3_refusing()?;
    let url = hotswap_testkit::service_env("HOTSWAP_TEST_POSTGRES_URL")?;
    let schema = format!("hs_test_{}", uuid::Uuid::now_v7().simple());
    let db = hotswap_store_postgres::PostgresConfig::new(url)
        .with_schema(schema)
        .connect()
        .await
        .expect("postgres");
    Some(OrphanHarness {
        storage: Arc::new(storage),
        modules: db.modules(),
        failing_storage: Arc::new(failing_storage),
    })
}

async fn local_sqlite() -> OrphanHarness {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hotswap-store-s3")
        .join(format!("{}.db", uuid::Uuid::now_v7()));
    let db = hotswap_store_sqlite::SqliteConfig::new(path)
        .open()
        .await
        .expect("sqlite");
    OrphanHarness {
        storage: Arc::new(support::local()),
        modules: db.modules(),
        failing_storage: Arc::new(support::local_failing()),
    }
}

mod s3_with_postgres {
    use super::*;
    hotswap_testkit::orphan_suite!(s3_postgres);
}

mod local_with_sqlite {
    use super::*;
    hotswap_testkit::orphan_suite!(local_sqlite);
}

//! The database file: created with its folder, in WAL mode, and its rows
//! survive closing and reopening.

use hotswap_core::repository::{DeploymentRepository, ModuleRepository};
use hotswap_store_sqlite::SqliteConfig;
use hotswap_testkit::sample;

#[test]
fn rows_survive_reopening_in_wal_mode() {
    hotswap_testkit::run(async {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hotswap-reopen-{}", uuid::Uuid::now_v7()))
            .join("nested")
            .join("hotswap.db");
        let store = SqliteConfig::new(&path).open().await.expect("opens");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
        let module = sample::module("reopen", "1.0.0");
        for m in [&module, &sample::module("reopen", "2.0.0")] {
            ModuleRepository::create(&store, m).await.expect("create");
        }
        let deployment = sample::deployment("reopen", "2.0.0");
        let events = [sample::event(&deployment, 1, "created")];
        DeploymentRepository::create(&store, &deployment, &events)
            .await
            .expect("deployment");
        store.close().await;

        let store = SqliteConfig::new(&path).open().await.expect("reopens");
        assert_eq!(
            ModuleRepository::get(&store, module.id).await.expect("get"),
            module
        );
        let log = store.events(deployment.id, 0, 10).await.expect("events");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].message, "created");
        store.close().await;
        std::fs::remove_dir_all(path.parent().and_then(|p| p.parent()).expect("dir"))
            .expect("cleanup");
    });
}

#[test]
fn an_unusable_path_is_a_clear_error() {
    hotswap_testkit::run(async {
        let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hotswap-file-{}", uuid::Uuid::now_v7()));
        std::fs::write(&file, b"not a folder").expect("write");
        let e = SqliteConfig::new(file.join("hotswap.db"))
            .open()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cannot create the folder"), "{e}");
        std::fs::remove_file(&file).expect("cleanup");
    });
}

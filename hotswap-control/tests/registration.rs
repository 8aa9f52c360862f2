//! Registering module versions: the binary is inspected, its interface
//! checked against the module's history, and a refused registration
//! leaves neither a row nor a blob.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_control::interface::{Caller, InterfaceService, Override};
use hotswap_control::{ModuleRegistrar, Registration};
use hotswap_core::Error;
use hotswap_core::clock::ManualClock;
use hotswap_core::domain::ModuleKind;
use hotswap_core::interface::MemoryInterfaceRegistry;
use hotswap_core::repository::ModuleRepository;
use hotswap_core::repository::memory::MemoryModuleRepository;
use hotswap_core::storage::{MemoryStorage, ModuleStorage};
use hotswap_testkit::{fixtures, sample};

fn caller(admin: bool) -> Caller {
    Caller {
        name: if admin { "root".into() } else { "dev".into() },
        admin,
    }
}

struct Setup {
    storage: Arc<MemoryStorage>,
    modules: Arc<MemoryModuleRepository>,
    registrar: ModuleRegistrar,
}

fn setup() -> Setup {
    let storage = Arc::new(MemoryStorage::new());
    let modules = Arc::new(MemoryModuleRepository::new());
    let registrar = ModuleRegistrar::new(
        storage.clone(),
        modules.clone(),
        Arc::new(ManualClock::new(sample::time(0))),
    )
    .with_interfaces(InterfaceService::new(Arc::new(
        MemoryInterfaceRegistry::new(),
    )));
    Setup {
        storage,
        modules,
        registrar,
    }
}

fn registration(version: &str, bytes: Vec<u8>) -> Registration {
    Registration::new(sample::name("calc"), sample::version(version), bytes)
}

#[tokio::test]
async fn a_version_is_inspected_and_stored() {
    let s = setup();
    let m = s
        .registrar
        .register(registration("1.0.0", fixtures::numeric(1)), &caller(false))
        .await
        .unwrap();
    assert_eq!(m.kind, ModuleKind::Core);
    assert!(m.exports.iter().any(|e| e.name == "add"));
    assert!(
        m.interface_wit.is_some(),
        "the interface is taken from the binary"
    );
    assert_eq!(m.created_by, "dev");
    assert_eq!(
        s.modules
            .get_version(&m.name, &m.version)
            .await
            .unwrap()
            .digest,
        m.digest
    );
    assert!(s.storage.exists(&m.digest).await.unwrap());
    // A compatible next version registers too.
    s.registrar
        .register(registration("1.1.0", fixtures::numeric(2)), &caller(false))
        .await
        .unwrap();
}

#[tokio::test]
async fn refused_registrations_leave_nothing_behind() {
    let s = setup();
    s.registrar
        .register(registration("1.0.0", fixtures::numeric(1)), &caller(false))
        .await
        .unwrap();
    let blobs = s.storage.list().await.unwrap();

    let e = s
        .registrar
        .register(registration("2.0.0", b"not wasm".to_vec()), &caller(false))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "wasm"),
        "{e}"
    );

    // Dropping `add` and friends breaks callers of 1.0.0.
    let e = s
        .registrar
        .register(registration("2.0.0", fixtures::trapping()), &caller(false))
        .await
        .unwrap_err();
    match &e {
        Error::Incompatible { findings, .. } => {
            assert!(findings.iter().any(|f| f.contains("add")), "{findings:?}")
        }
        other => panic!("expected incompatible, got {other}"),
    }
    let e = s
        .registrar
        .register(registration("1.0.0", fixtures::numeric(3)), &caller(false))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");

    assert!(matches!(
        s.modules
            .get_version(&sample::name("calc"), &sample::version("2.0.0"))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(s.storage.list().await.unwrap(), blobs, "no blob was added");
}

#[tokio::test]
async fn an_admin_override_is_recorded_on_the_version() {
    let s = setup();
    s.registrar
        .register(registration("1.0.0", fixtures::numeric(1)), &caller(false))
        .await
        .unwrap();
    let mut r = registration("2.0.0", fixtures::trapping());
    r.override_ = Some(Override {
        reason: "calc is retired".into(),
    });
    let e = s
        .registrar
        .register(r.clone(), &caller(false))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    let m = s.registrar.register(r, &caller(true)).await.unwrap();
    let o = m.interface_override.expect("recorded");
    assert_eq!(
        (o.by.as_str(), o.reason.as_str()),
        ("root", "calc is retired")
    );
}

/// A module using a feature no registered node accepts is refused before
/// anything is stored, naming the feature; a node that accepts it lets it in.
#[tokio::test]
async fn a_module_no_node_can_run_is_refused_naming_the_feature() {
    use hotswap_core::domain::WasmFeature;
    use hotswap_core::repository::NodeRepository;
    use hotswap_core::repository::memory::MemoryNodeRepository;

    let storage = Arc::new(MemoryStorage::new());
    let modules = Arc::new(MemoryModuleRepository::new());
    let nodes = Arc::new(MemoryNodeRepository::new());
    let registrar = ModuleRegistrar::new(
        storage.clone(),
        modules.clone(),
        Arc::new(ManualClock::new(sample::time(0))),
    )
    .with_nodes(nodes.clone());
    let two_memories = wat::parse_str(
        r#"(module (memory 1) (memory 1) (func (export "f") (result i32) i32.const 1))"#,
    )
    .unwrap();
    // No node yet: nothing to judge against, so node selection decides later.
    registrar
        .register(registration("0.1.0", two_memories.clone()), &caller(false))
        .await
        .unwrap();

    let wasm2 = nodes.create(&sample::node("old", "eu")).await.unwrap();
    assert!(
        !wasm2
            .capabilities
            .wasm_features
            .contains(&WasmFeature::MultiMemory)
    );
    let e = registrar
        .register(registration("1.0.0", two_memories.clone()), &caller(false))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Incompatible { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "module calc@1.0.0 is incompatible: the module uses the WebAssembly feature multi-memory, not accepted by any registered node"
    );
    assert!(
        modules
            .get_version(&sample::name("calc"), &sample::version("1.0.0"))
            .await
            .is_err()
    );
    assert_eq!(storage.list().await.unwrap().len(), 1, "only 0.1.0's blob");

    let mut modern = sample::node("new", "eu");
    modern
        .capabilities
        .wasm_features
        .push(WasmFeature::MultiMemory);
    nodes.create(&modern).await.unwrap();
    let m = registrar
        .register(registration("1.0.0", two_memories), &caller(false))
        .await
        .unwrap();
    assert_eq!(m.wasm_features, [WasmFeature::MultiMemory]);
}

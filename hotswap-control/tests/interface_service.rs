//! The interface registry service: registrations checked against the
//! package's mode, dry runs, admin-only approval, overrides and modes.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_control::interface::{Caller, InterfaceService, Override};
use hotswap_core::Error;
use hotswap_core::interface::{
    CompatibilityMode, InterfaceFilter, InterfaceRegistry, MemoryInterfaceRegistry, PackageName,
};
use hotswap_core::repository::PageRequest;
use hotswap_testkit::sample;

fn api(version: &str, body: &str) -> String {
    format!("package acme:greeter@{version};\ninterface api {{\n{body}\n}}\n")
}

const V1: &str = "  greet: func(name: string) -> string;\n  count: func() -> u32;";

fn user() -> Caller {
    Caller {
        name: "dev@acme".into(),
        admin: false,
    }
}

fn admin() -> Caller {
    Caller {
        name: "ops@acme".into(),
        admin: true,
    }
}

async fn stored(registry: &dyn InterfaceRegistry) -> usize {
    registry
        .list(&InterfaceFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .len()
}

#[test]
fn breaking_versions_are_refused_unless_an_admin_overrides() {
    hotswap_testkit::run(async {
        let registry = Arc::new(MemoryInterfaceRegistry::new());
        let service = InterfaceService::new(registry.clone());
        let now = sample::time(100);
        let v1 = service
            .register(api("1.0.0", V1).into(), &user(), None, now)
            .await
            .unwrap();
        assert_eq!(v1.created_by, "dev@acme");
        assert!(v1.approval.is_none());

        // Adding a function is backward compatible.
        let more = format!("{V1}\n  wave: func();");
        service
            .register(api("1.1.0", &more).into(), &user(), None, now)
            .await
            .unwrap();

        // Dropping `count` (from an interface hosts provide) breaks the
        // components that call it: the dry run says why, stores nothing.
        let breaking = api(
            "1.2.0",
            "  greet: func(name: string) -> string;\n  wave: func();",
        );
        let findings = service
            .validate(breaking.as_str().into())
            .await
            .unwrap()
            .findings;
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "removed_import");
        assert!(findings[0].path.ends_with("api#count"), "{}", findings[0]);
        match service
            .register(breaking.as_str().into(), &user(), None, now)
            .await
            .unwrap_err()
        {
            Error::Incompatible { subject, findings } => {
                assert!(subject.contains("acme:greeter@1.2.0"), "{subject}");
                assert!(findings[0].contains("removed_import"), "{findings:?}");
            }
            e => panic!("expected Incompatible, got {e}"),
        }
        assert_eq!(stored(&*registry).await, 2);

        let why = Override {
            reason: "count moved to the stats package".into(),
        };
        let e = service
            .register(breaking.as_str().into(), &user(), Some(&why), now)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden { .. }), "{e}");
        let forced = service
            .register(breaking.as_str().into(), &admin(), Some(&why), now)
            .await
            .unwrap();
        let approval = forced.approval.unwrap();
        assert!(approval.by.contains("ops@acme") && approval.by.contains("stats package"));
        assert_eq!(stored(&*registry).await, 3);
    });
}

#[test]
fn a_version_registered_again_already_exists_whatever_its_text() {
    hotswap_testkit::run(async {
        let registry = Arc::new(MemoryInterfaceRegistry::new());
        let service = InterfaceService::new(registry.clone());
        let now = sample::time(100);
        service
            .register(api("1.0.0", V1).into(), &user(), None, now)
            .await
            .unwrap();
        // The same text, and a text that would break 1.0.0's callers: both
        // are 409 naming the version, not a compatibility verdict.
        for text in [api("1.0.0", V1), api("1.0.0", "  wave: func();")] {
            let e = service
                .register(text.as_str().into(), &user(), None, now)
                .await
                .unwrap_err();
            match e {
                Error::AlreadyExists { id, .. } => assert_eq!(id, "acme:greeter@1.0.0"),
                e => panic!("expected AlreadyExists, got {e}"),
            }
        }
        // Not even an admin's override registers it twice.
        let why = Override {
            reason: "replace it".into(),
        };
        let e = service
            .register(
                api("1.0.0", "  wave: func();").into(),
                &admin(),
                Some(&why),
                now,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e}");
        assert_eq!(stored(&*registry).await, 1);
    });
}

#[test]
fn approvals_and_modes_are_for_admins() {
    hotswap_testkit::run(async {
        let registry = Arc::new(MemoryInterfaceRegistry::new());
        let service = InterfaceService::new(registry.clone());
        let v1 = service
            .register(api("1.0.0", V1).into(), &user(), None, sample::time(1))
            .await
            .unwrap();
        let e = service
            .approve(v1.id, &user(), sample::time(2))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden { .. }), "{e}");
        let approved = service
            .approve(v1.id, &admin(), sample::time(2))
            .await
            .unwrap();
        let approval = approved.approval.unwrap();
        assert_eq!(
            (approval.by.as_str(), approval.at),
            ("ops@acme", sample::time(2))
        );

        let package = PackageName::new("acme:greeter").unwrap();
        let e = service
            .set_mode(&package, CompatibilityMode::None, &user())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden { .. }), "{e}");
        service
            .set_mode(&package, CompatibilityMode::None, &admin())
            .await
            .unwrap();
        // With no check, a breaking version registers.
        service
            .register(
                api("2.0.0", "  greet: func();").into(),
                &user(),
                None,
                sample::time(3),
            )
            .await
            .unwrap();
    });
}

#[test]
fn bad_wit_stores_nothing_and_says_where() {
    hotswap_testkit::run(async {
        let registry = Arc::new(MemoryInterfaceRegistry::new());
        let service = InterfaceService::new(registry.clone());
        let e = service
            .register(
                "package acme:x@1.0.0;\ninterface i {\n  f: func(;\n}\n".into(),
                &user(),
                None,
                sample::time(1),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("line 3, column"), "{e}");
        assert_eq!(stored(&*registry).await, 0);
    });
}

#[test]
fn module_versions_whose_interface_breaks_are_refused() {
    use hotswap_control::interface::extract_wit;
    use hotswap_testkit::fixtures;
    hotswap_testkit::run(async {
        let registry = Arc::new(MemoryInterfaceRegistry::new());
        let service = InterfaceService::new(registry.clone());
        let module = |v: &str, wat: &str| {
            let mut m = sample::module("calc", v);
            m.interface_wit = Some(extract_wit(&fixtures::wat(wat)).unwrap());
            m
        };
        let v1 = module(
            "1.0.0",
            r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0)
                       (func (export "neg") (param i32) (result i32) local.get 0))"#,
        );
        let v2 = module(
            "1.1.0",
            r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0))"#,
        );
        let e = service
            .check_module_version(&v2, std::slice::from_ref(&v1), &user(), None)
            .await
            .unwrap_err();
        match e {
            Error::Incompatible { subject, findings } => {
                assert!(subject.contains("calc@1.1.0"), "{subject}");
                assert!(
                    findings
                        .iter()
                        .any(|f| f.contains("removed_export") && f.contains("neg")),
                    "{findings:?}"
                );
            }
            e => panic!("expected Incompatible, got {e}"),
        }
        let why = Override {
            reason: "neg was unused".into(),
        };
        let overridden = service
            .check_module_version(&v2, std::slice::from_ref(&v1), &admin(), Some(&why))
            .await
            .unwrap();
        assert_eq!(overridden.len(), 1);
        // Adding an export is fine.
        let v3 = module(
            "1.2.0",
            r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0)
                       (func (export "neg") (param i32) (result i32) local.get 0)
                       (func (export "sub") (param i32 i32) (result i32) local.get 0))"#,
        );
        assert!(
            service
                .check_module_version(&v3, &[v1], &user(), None)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn registration_extracts_the_interface_and_refuses_breaking_versions() {
    use bytes::Bytes;
    use hotswap_core::domain::Digest;
    use hotswap_core::repository::memory::MemoryModuleRepository;
    use hotswap_core::repository::{ModuleRepository, ModuleRepositoryExt};
    use hotswap_core::storage::{MemoryStorage, ModuleStorage};
    use hotswap_testkit::fixtures;
    hotswap_testkit::run(async {
        let service = InterfaceService::new(Arc::new(MemoryInterfaceRegistry::new()));
        let (storage, modules) = (MemoryStorage::new(), MemoryModuleRepository::new());
        let version = |v: &str, greeting: &str| {
            let bytes = fixtures::component(greeting);
            let mut m = sample::module("greeter", v);
            m.kind = hotswap_core::domain::ModuleKind::Component;
            m.digest = Digest::of(&bytes);
            (m, Bytes::from(bytes))
        };
        let (m1, b1) = version("1.0.0", "hello, ");
        let stored = service
            .register_module_version(&storage, &modules, m1, b1, &user(), None)
            .await
            .unwrap();
        let wit = stored.interface_wit.clone().unwrap();
        assert!(wit.contains("greet: func(name: string) -> string"), "{wit}");
        assert_eq!(
            modules.get(stored.id).await.unwrap().interface_wit,
            Some(wit)
        );

        // A same-interface version registers; one whose interface lost a
        // function is refused before anything is stored.
        let (m2, b2) = version("1.1.0", "hi, ");
        service
            .register_module_version(&storage, &modules, m2, b2, &user(), None)
            .await
            .unwrap();
        let core = fixtures::numeric(9);
        let mut m3 = sample::module("greeter", "1.2.0");
        m3.digest = Digest::of(&core);
        let e = service
            .register_module_version(
                &storage,
                &modules,
                m3,
                Bytes::from(core.clone()),
                &user(),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Incompatible { .. }), "{e}");
        assert_eq!(modules.versions(&stored.name).await.unwrap().len(), 2);
        assert!(
            !storage.exists(&Digest::of(&core)).await.unwrap(),
            "no blob either"
        );
    });
}

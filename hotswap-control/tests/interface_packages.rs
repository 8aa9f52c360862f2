//! Uploads of WIT packages with their dependencies: a directory with
//! `deps/` (folders, single files, wasm-encoded packages), a package
//! encoded as wasm, dependencies taken from registered versions, and the
//! refusals that name what is wrong and store nothing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hotswap_control::interface::{Caller, InterfaceService, WitFile, WitUpload, parse_wit};
use hotswap_core::Error;
use hotswap_core::interface::{InterfaceFilter, InterfaceRegistry, MemoryInterfaceRegistry};
use hotswap_core::repository::PageRequest;
use hotswap_testkit::sample;

const IO: &str = "package acme:io@0.2.0;\n\
    interface streams {\n  resource input-stream {\n    read: func(len: u64) -> list<u8>;\n  }\n}\n";
const CLOCKS: &str = "package acme:clocks@0.2.0;\n\
    interface wall {\n  record datetime { seconds: u64, nanoseconds: u32 }\n  now: func() -> datetime;\n}\n";
const HTTP_TYPES: &str = "package acme:http@1.0.0;\n\
    interface types {\n  use acme:io/streams@0.2.0.{input-stream};\n  \
    use acme:clocks/wall@0.2.0.{datetime};\n  \
    record request { body: option<input-stream>, sent: datetime }\n}\n";
const HTTP_WORLD: &str = "package acme:http@1.0.0;\n\
    world proxy {\n  import acme:clocks/wall@0.2.0;\n  export handler: interface {\n    \
    use types.{request};\n    handle: func(r: request);\n  }\n}\n";

fn caller() -> Caller {
    Caller {
        name: "dev@acme".into(),
        admin: false,
    }
}

fn file(path: &str, text: &str) -> WitFile {
    WitFile {
        path: path.into(),
        contents: text.as_bytes().to_vec(),
    }
}

/// acme:clocks encoded as wasm, as `wasm-tools component wit --wasm` writes.
fn clocks_wasm() -> Vec<u8> {
    let parsed = parse_wit(CLOCKS).unwrap();
    wit_component::encode(&parsed.resolve, parsed.package).unwrap()
}

fn service() -> (Arc<MemoryInterfaceRegistry>, InterfaceService) {
    let registry = Arc::new(MemoryInterfaceRegistry::new());
    let service = InterfaceService::new(registry.clone());
    (registry, service)
}

async fn stored(registry: &dyn InterfaceRegistry) -> Vec<String> {
    registry
        .list(&InterfaceFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.reference())
        .collect()
}

/// The packages a stored text resolves to, by name.
fn packages(wit: &str) -> Vec<String> {
    let parsed = parse_wit(wit).unwrap();
    let mut names: Vec<String> = parsed
        .resolve
        .packages
        .iter()
        .map(|(_, p)| p.name.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_with_deps_of_every_kind_registers_as_one_text() {
    hotswap_testkit::run(async {
        let (registry, service) = service();
        let upload = WitUpload::Directory(vec![
            file("types.wit", HTTP_TYPES),
            file("world.wit", HTTP_WORLD),
            // A dependency folder of two files, a wasm-encoded one, and a
            // file that is not WIT (ignored, as wit-parser does).
            file("deps/io/streams.wit", IO),
            file("deps/io/README.md", "not WIT"),
            WitFile {
                path: "deps/clocks.wasm".into(),
                contents: clocks_wasm(),
            },
        ]);
        let i = service
            .register(upload, &caller(), None, sample::time(1))
            .await
            .unwrap();
        assert_eq!(i.reference(), "acme:http@1.0.0");
        assert_eq!(
            packages(&i.wit),
            ["acme:clocks@0.2.0", "acme:http@1.0.0", "acme:io@0.2.0"]
        );
        let parsed = parse_wit(&i.wit).unwrap();
        assert_eq!(parsed.name().unwrap().0.as_str(), "acme:http");
        assert_eq!(parsed.interfaces(), ["types"]);
        assert_eq!(parsed.worlds(), ["proxy"]);
        assert_eq!(stored(&*registry).await, ["acme:http@1.0.0"]);
    });
}

#[test]
fn an_archive_of_a_wit_folder_is_read_from_that_folder() {
    hotswap_testkit::run(async {
        let (_, service) = service();
        let upload = WitUpload::Directory(vec![
            file("wit/types.wit", HTTP_TYPES),
            file("wit/world.wit", HTTP_WORLD),
            file("./wit/deps/io.wit", IO),
            file("wit/deps/clocks/wall.wit", CLOCKS),
        ]);
        let wit = service.flatten(upload).await.unwrap();
        assert_eq!(
            packages(&wit),
            ["acme:clocks@0.2.0", "acme:http@1.0.0", "acme:io@0.2.0"]
        );
    });
}

#[test]
fn missing_dependencies_come_from_registered_versions_even_transitively() {
    hotswap_testkit::run(async {
        let (registry, service) = service();
        for dep in [IO, CLOCKS] {
            service
                .register(dep.into(), &caller(), None, sample::time(1))
                .await
                .unwrap();
        }
        // One text that uses both without holding them.
        let text = format!("{HTTP_TYPES}\n");
        let http = service
            .register(text.as_str().into(), &caller(), None, sample::time(2))
            .await
            .unwrap();
        assert_eq!(
            packages(&http.wit),
            ["acme:clocks@0.2.0", "acme:http@1.0.0", "acme:io@0.2.0"]
        );
        // A package of acme:http's users needs acme:io through it: the
        // registered acme:http text brings it along.
        let app = "package acme:app@1.0.0;\n\
            world app {\n  import acme:http/types@1.0.0;\n}\n";
        let app = service
            .register(app.into(), &caller(), None, sample::time(3))
            .await
            .unwrap();
        assert_eq!(
            packages(&app.wit),
            [
                "acme:app@1.0.0",
                "acme:clocks@0.2.0",
                "acme:http@1.0.0",
                "acme:io@0.2.0"
            ]
        );
        assert_eq!(stored(&*registry).await.len(), 4);
    });
}

#[test]
fn what_the_upload_holds_wins_over_what_is_registered() {
    hotswap_testkit::run(async {
        let (_, service) = service();
        service
            .register(IO.into(), &caller(), None, sample::time(1))
            .await
            .unwrap();
        // The same package is both registered and in deps/: no conflict.
        let upload = WitUpload::Directory(vec![
            file("types.wit", HTTP_TYPES),
            file("deps/io.wit", IO),
            file("deps/clocks.wit", CLOCKS),
        ]);
        let wit = service.flatten(upload).await.unwrap();
        assert_eq!(packages(&wit).len(), 3);
    });
}

#[test]
fn an_unresolved_use_names_the_package_and_version_and_stores_nothing() {
    hotswap_testkit::run(async {
        let (registry, service) = service();
        // acme:io is registered, but at another version than the one used.
        service
            .register(
                IO.replace("0.2.0", "0.3.0").as_str().into(),
                &caller(),
                None,
                sample::time(1),
            )
            .await
            .unwrap();
        let upload = WitUpload::Directory(vec![
            file("types.wit", HTTP_TYPES),
            file("deps/clocks.wit", CLOCKS),
        ]);
        let e = service
            .register(upload, &caller(), None, sample::time(2))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
        assert!(text.contains("acme:io@0.2.0"), "{text}");
        assert!(text.contains("acme:http@1.0.0"), "{text}");
        assert_eq!(stored(&*registry).await, ["acme:io@0.3.0"]);
    });
}

#[test]
fn a_wasm_encoded_package_registers_and_a_component_is_refused() {
    hotswap_testkit::run(async {
        let (registry, service) = service();
        let i = service
            .register(
                WitUpload::Wasm(clocks_wasm()),
                &caller(),
                None,
                sample::time(1),
            )
            .await
            .unwrap();
        assert_eq!(i.reference(), "acme:clocks@0.2.0");
        assert!(i.wit.contains("now: func() -> datetime"), "{}", i.wit);

        let component = wat::parse_str("(component)").unwrap();
        let e = service
            .flatten(WitUpload::Wasm(component))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a WIT package"), "{e}");
        let e = service
            .flatten(WitUpload::Wasm(b"\0asm garbage".to_vec()))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("wasm"), "{e}");
        assert_eq!(stored(&*registry).await.len(), 1);
    });
}

#[test]
fn bad_directories_are_refused_naming_what_is_wrong() {
    hotswap_testkit::run(async {
        let (registry, service) = service();
        let refused = |files: Vec<WitFile>| {
            let service = service.clone();
            async move {
                service
                    .register(
                        WitUpload::Directory(files),
                        &caller(),
                        None,
                        sample::time(1),
                    )
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let e = refused(vec![file("../types.wit", HTTP_TYPES)]).await;
        assert!(e.contains("..") && e.contains("path"), "{e}");
        let e = refused(vec![file("/etc/types.wit", HTTP_TYPES)]).await;
        assert!(e.contains("relative"), "{e}");
        let e = refused(vec![file("deps/io.wit", IO)]).await;
        assert!(e.contains("no .wit file at its root"), "{e}");
        // A syntax error in a dependency names that file and the line.
        let e = refused(vec![
            file("types.wit", HTTP_TYPES),
            file(
                "deps/io.wit",
                "package acme:io@0.2.0;\ninterface streams {\n  f: func(;\n}\n",
            ),
        ])
        .await;
        assert!(e.contains("deps/io.wit") && e.contains("line 3"), "{e}");
        // One package twice.
        let e = refused(vec![
            file("types.wit", HTTP_TYPES),
            file("deps/io.wit", IO),
            file("deps/io-again/streams.wit", IO),
            file("deps/clocks.wit", CLOCKS),
        ])
        .await;
        assert!(e.contains("acme:io@0.2.0 is defined twice"), "{e}");
        assert!(
            e.contains("deps/io.wit") && e.contains("deps/io-again/"),
            "{e}"
        );
        let e = refused(vec![WitFile {
            path: "types.wit".into(),
            contents: vec![0xff, 0xfe],
        }])
        .await;
        assert!(e.contains("types.wit") && e.contains("UTF-8"), "{e}");
        assert!(stored(&*registry).await.is_empty());
    });
}

//! WIT packages uploaded over real HTTP in every form `POST /interfaces`
//! takes (a tar.gz of a directory with `deps/`, a multipart form of its
//! files, a wasm-encoded package, WIT text, JSON), dependencies from
//! registered versions, the refusals, a registered version validated
//! again, and a package's mode read and set.

#![allow(clippy::unwrap_used)]

mod support;

use hotswap_control::interface::parse_wit;
use hotswap_http::wit_payload::pack;
use serde_json::{Value, json};
use support::{Server, admin, start, token};

const IO: &str = "package acme:io@0.2.0;\n\
    interface streams {\n  resource input-stream {\n    read: func(len: u64) -> list<u8>;\n  }\n}\n";
const TYPES: &str = "package acme:http@1.0.0;\n\
    interface types {\n  use acme:io/streams@0.2.0.{input-stream};\n  \
    record request { body: option<input-stream> }\n}\n";
const HANDLER: &str = "package acme:http@1.0.0;\n\
    world proxy {\n  export handler: interface {\n    \
    use types.{request};\n    handle: func(r: request);\n  }\n}\n";

fn directory() -> Vec<(String, Vec<u8>)> {
    [
        ("wit/types.wit", TYPES),
        ("wit/world.wit", HANDLER),
        ("wit/deps/io/streams.wit", IO),
    ]
    .iter()
    .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
    .collect()
}

async fn post(s: &Server, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    s.http
        .post(s.url(path))
        .bearer_auth(admin())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn answer(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// The package names a stored text resolves to, sorted.
fn packages(wit: &Value) -> Vec<String> {
    let parsed = parse_wit(wit.as_str().unwrap()).unwrap();
    let mut names: Vec<String> = parsed
        .resolve
        .packages
        .iter()
        .map(|(_, p)| p.name.to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_tar_gz_of_a_wit_directory_registers_with_its_deps() {
    let s = start().await;
    let archive = pack(&directory()).unwrap();
    let resp = post(&s, "/api/v1/wasm/interfaces", "application/gzip", archive).await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let i = answer(resp, 201).await;
    assert_eq!(i["package"], "acme:http");
    assert_eq!(i["version"], "1.0.0");
    assert_eq!(packages(&i["wit"]), ["acme:http@1.0.0", "acme:io@0.2.0"]);
    assert!(location.ends_with(i["id"].as_str().unwrap()), "{location}");

    // The same version again is 409, whatever form it comes in.
    let again = pack(&directory()).unwrap();
    let resp = post(&s, "/api/v1/wasm/interfaces", "application/gzip", again).await;
    assert_eq!(
        answer(resp, 409).await["type"],
        "https://hotswap.dev/problems/already-exists"
    );
}

#[tokio::test]
async fn a_multipart_form_of_files_registers_and_carries_an_override() {
    let s = start().await;
    let form = directory()
        .into_iter()
        .fold(reqwest::multipart::Form::new(), |form, (path, bytes)| {
            form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(path),
            )
        })
        .text("override_reason", "not needed, but allowed");
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/interfaces"))
        .bearer_auth(admin())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let i = answer(resp, 201).await;
    assert_eq!(packages(&i["wit"]), ["acme:http@1.0.0", "acme:io@0.2.0"]);

    // Parts named by their paths, without file names, work too; 2.0.0
    // drops the world's export, which breaks under `backward`.
    let form = reqwest::multipart::Form::new()
        .text("types.wit", TYPES.replace("1.0.0", "2.0.0"))
        .text("deps/io.wit", IO)
        // Names as they are: the default would percent-encode the `/`.
        .percent_encode_noop();
    let resp = s
        .http
        .post(s.url("/api/v1/wasm/interfaces"))
        .bearer_auth(admin())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let p = answer(resp, 422).await;
    assert!(p.to_string().contains("removed_world"), "{p}");
}

#[tokio::test]
async fn a_wasm_encoded_package_and_plain_text_register() {
    let s = start().await;
    let parsed = parse_wit(IO).unwrap();
    let wasm = wit_component::encode(&parsed.resolve, parsed.package).unwrap();
    let resp = post(&s, "/api/v1/wasm/interfaces", "application/wasm", wasm).await;
    let io = answer(resp, 201).await;
    assert_eq!(io["package"], "acme:io");

    // The text uses acme:io without holding it: it comes from the registry.
    let resp = post(&s, "/api/v1/wasm/interfaces", "text/plain", TYPES.into()).await;
    let http = answer(resp, 201).await;
    assert_eq!(packages(&http["wit"]), ["acme:http@1.0.0", "acme:io@0.2.0"]);

    // Validating a registered version says so, and whether the text is
    // the registered one (as `hotswap apply` needs to know).
    let validate = "/api/v1/wasm/interfaces/validate";
    let resp = post(&s, validate, "text/plain", TYPES.into()).await;
    let same = answer(resp, 200).await;
    assert_eq!(same["registered"]["id"], http["id"]);
    assert_eq!(same["registered"]["same_text"], true);
    let changed = TYPES.replace("record request {", "record request { id: u32,");
    let resp = post(&s, validate, "text/plain", changed.into()).await;
    assert_eq!(answer(resp, 200).await["registered"]["same_text"], false);
    let next = TYPES.replace("@1.0.0;", "@1.1.0;");
    let resp = post(&s, validate, "text/plain", next.into()).await;
    assert!(answer(resp, 200).await.get("registered").is_none());
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_what_is_wrong_and_store_nothing() {
    let s = start().await;
    // A `use` of a package neither uploaded nor registered.
    let resp = post(&s, "/api/v1/wasm/interfaces", "text/plain", TYPES.into()).await;
    let p = answer(resp, 400).await;
    assert!(
        p["detail"].as_str().unwrap().contains("acme:io@0.2.0"),
        "{p}"
    );

    // An archive entry that is a link.
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    archive
        .append_link(&mut header, "deps/io.wit", "/etc/passwd")
        .unwrap();
    let bytes = archive.into_inner().unwrap();
    let resp = post(&s, "/api/v1/wasm/interfaces", "application/x-tar", bytes).await;
    let p = answer(resp, 400).await;
    assert_eq!(p["field"], "deps/io.wit", "{p}");

    // Not an archive at all.
    let resp = post(
        &s,
        "/api/v1/wasm/interfaces",
        "application/gzip",
        vec![0x1f, 0x8b, 1],
    )
    .await;
    assert!(
        answer(resp, 400).await["detail"]
            .as_str()
            .unwrap()
            .contains("tar")
    );

    // A media type the endpoint does not take.
    let resp = post(&s, "/api/v1/wasm/interfaces", "image/png", vec![1]).await;
    let p = answer(resp, 415).await;
    assert!(
        p["detail"].as_str().unwrap().contains("application/gzip"),
        "{p}"
    );

    // An override reason twice.
    let body = serde_json::to_vec(&json!({"wit": IO, "override_reason": "a"})).unwrap();
    let resp = post(
        &s,
        "/api/v1/wasm/interfaces?override_reason=b",
        "application/json",
        body,
    )
    .await;
    assert_eq!(answer(resp, 400).await["field"], "override_reason");

    let list: Value = s
        .http
        .get(s.url("/api/v1/wasm/interfaces"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn a_package_mode_says_who_it_protects_and_judges_releases_by_it() {
    let s = start().await;
    let mode = "/api/v1/wasm/interfaces/packages/acme:io/mode";
    let get = || async {
        let resp = s
            .http
            .get(s.url(mode))
            .bearer_auth(token("viewer", &[hotswap_http::auth::Role::Viewer]))
            .send()
            .await
            .unwrap();
        answer(resp, 200).await
    };
    assert_eq!(
        get().await,
        json!({"package": "acme:io", "mode": "backward", "protects": ["components"]})
    );
    let resp = post(&s, "/api/v1/wasm/interfaces", "text/plain", IO.into()).await;
    answer(resp, 201).await;

    // A release that adds a function to an interface a world imports:
    // components built against 0.2.0 keep working, hosts do not.
    let next = "package acme:io@0.2.1;\ninterface streams {\n  resource input-stream {\n    \
        read: func(len: u64) -> list<u8>;\n  }\n  flush: func();\n}\n\
        world app {\n  import streams;\n}\n";
    let validate = || async {
        let resp = post(
            &s,
            "/api/v1/wasm/interfaces/validate",
            "text/plain",
            next.into(),
        )
        .await;
        answer(resp, 200).await
    };
    let report = validate().await;
    assert_eq!(report["package"], "acme:io");
    assert_eq!(report["version"], "0.2.1");
    assert_eq!(report["compatible"], true, "{report}");
    assert_eq!(report["protects"], json!(["components"]));

    let resp = s
        .http
        .put(s.url(mode))
        .bearer_auth(admin())
        .json(&json!({"mode": "forward"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(resp, 200).await["protects"], json!(["hosts"]));
    assert_eq!(get().await["mode"], "forward");
    let report = validate().await;
    assert_eq!(report["compatible"], false, "{report}");
    assert_eq!(report["findings"][0]["protects"], "hosts", "{report}");

    // A mode that does not exist, or a package name that is not one.
    let resp = s
        .http
        .put(s.url(mode))
        .bearer_auth(admin())
        .json(&json!({"mode": "sideways"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(resp, 400).await["field"], "mode");
    let resp = s
        .http
        .get(s.url("/api/v1/wasm/interfaces/packages/NotAPackage/mode"))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(answer(resp, 400).await["field"], "package");
}

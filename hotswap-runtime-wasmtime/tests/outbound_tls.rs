//! Outbound HTTPS verifies servers against the system's roots: a local TLS
//! upstream whose certificate is signed by a test CA is reached when the
//! CA is in the roots (`SSL_CERT_FILE`, as OpenSSL reads it), and refused
//! with `TLS-certificate-error` when it is not. The certificates are made
//! by the `openssl` command at test time.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use hotswap_core::domain::OutboundGrants;
use hotswap_core::runtime::http::{HttpCall, empty_body};
use hotswap_core::runtime::{ModuleSource, RuntimeHost};
use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};
use hotswap_testkit::http_components::{Handler, handler};
use hotswap_testkit::http_serving::text;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA (`ca.pem`) and a certificate for 127.0.0.1 signed by it
/// (`server.pem`, `server.key`).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=hotswap test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(dir, &csr);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
}

/// An HTTPS upstream on 127.0.0.1 answering `tls upstream saw PATH`.
async fn tls_upstream(dir: &Path) -> u16 {
    let certs = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let body = format!("tls upstream saw {path}");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn fetch_https(grants: &OutboundGrants, port: u16) -> String {
    let runtime = WasmtimeRuntime::new(WasmtimeConfig::default()).unwrap();
    let module = runtime
        .compile(
            ModuleSource::new(handler(&Handler::Fetch)).with_outbound("tls@1.0.0", grants.clone()),
        )
        .await
        .unwrap();
    let request = http::Request::builder()
        .uri("/")
        .header("host", "edge.test")
        .header("x-scheme", "https")
        .header("x-authority", format!("127.0.0.1:{port}"))
        .header("x-path", "/secure")
        .body(empty_body())
        .unwrap();
    text(module.serve_http(HttpCall::new(request)).await.unwrap()).await
}

#[tokio::test]
async fn https_is_verified_against_the_system_roots() {
    // Like the suites that need a server: skipped without `openssl`,
    // except under CI=true, where .ci/run installs it.
    let have_openssl = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_openssl {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true needs the openssl command"
        );
        println!("skipped: the openssl command is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = tls_upstream(dir.path()).await;
    let grants = OutboundGrants::allowing([format!("https://127.0.0.1:{port}")]).unwrap();

    // Not among the roots: the certificate is refused.
    let refused = fetch_https(&grants, port).await;
    assert_eq!(refused, "error 13", "TLS-certificate-error");

    // The roots are read when a version is loaded; this test binary's only
    // test, so no other thread reads the environment meanwhile.
    #[allow(unsafe_code)]
    // SAFETY: see above.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", dir.path().join("ca.pem"));
    }
    let answer = fetch_https(&grants, port).await;
    assert_eq!(answer, "status 200 tls upstream saw /secure");
}

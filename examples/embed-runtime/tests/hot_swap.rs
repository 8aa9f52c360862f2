//! Runs the service as a child process, calls it without pause, and drops
//! newer plugins into its folder: every call succeeds and the version moves
//! forward.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotswap_testkit::fixtures;

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// POST `body` to `path`; the status code and body.
fn post(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).expect("response");
    let status = response[9..12].parse().expect("status code");
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Write atomically, as a deploy tool should: a temporary name, then rename.
fn drop_plugin(dir: &Path, version: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".plugin-{version}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(format!("plugin-{version}.wasm"))).unwrap();
}

fn served_version(body: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    v["result"].as_u64().expect("the plugin's version() result")
}

#[test]
fn plugins_swap_without_a_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    drop_plugin(dir.path(), "1.0.0", &fixtures::numeric(1));
    let mut child = Command::new(env!("CARGO_BIN_EXE_embed-runtime"))
        .arg(dir.path())
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the service");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let _service = Service(child);
    let addr = lines
        .by_ref()
        .map(|l| l.expect("service output"))
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
        .expect("the service prints its address");
    std::thread::spawn(move || lines.for_each(|l| println!("service: {}", l.unwrap_or_default())));

    let (status, body) = post(&addr, "/call/add", "[2, 3]");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"result":5,"version":"1.0.0"}"#)
    );
    let (status, body) = post(&addr, "/call/add", r#"["x"]"#);
    assert_eq!(status, 400, "{body}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let mut call = || {
        let (status, body) = post(&addr, "/call/version", "[]");
        assert_eq!(status, 200, "a call failed during a swap: {body}");
        let v = served_version(&body);
        seen.push(v);
        v
    };
    for v in 2..=4u64 {
        for _ in 0..20 {
            call();
        }
        drop_plugin(
            dir.path(),
            &format!("1.{}.0", v - 1),
            &fixtures::numeric(v as i32),
        );
        while call() != v {
            assert!(Instant::now() < deadline, "plugin {v} was never served");
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "versions only move forward: {seen:?}"
    );
}

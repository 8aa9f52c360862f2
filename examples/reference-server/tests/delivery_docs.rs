//! docs/DELIVERY.md runs as written: its files (the notifications file, a
//! TOML and a YAML desired state) are copied out of the page, the builds
//! they name are made, and the commands of its example are run in order
//! against the `hotswap serve` the page starts (on a free port, which is
//! all the test adds).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use hotswap_testkit::fixtures;
use support::{Api, Proc, free_port, try_cli};

/// The fenced blocks of `text`: (language, lines).
fn blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_owned(), Vec::new())),
            (Some(_), Some(_)) => out.push(open.take().unwrap()),
            (Some((_, lines)), None) => lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    out
}

/// The command of a line of the example, its comment left out.
fn command(line: &str) -> Vec<String> {
    let code = line
        .split(" #")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches('&');
    code.split_whitespace().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_guide_runs_as_written() {
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/DELIVERY.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut files = Vec::new();
    let mut script = None;
    for (lang, lines) in blocks(&text) {
        match lang.as_str() {
            "toml" | "yaml" => {
                let path = lines[0].strip_prefix("# ").unwrap().trim().to_owned();
                let target = d.join(&path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(&target, lines.join("\n")).unwrap();
                files.push(path);
            }
            "sh" if lines.iter().any(|l| l.starts_with("hotswap serve")) => script = Some(lines),
            _ => {}
        }
    }
    assert_eq!(
        files,
        [
            "notifications.toml",
            "desired/shop.toml",
            "desired/search.yaml"
        ]
    );
    // The builds the desired state names.
    std::fs::create_dir_all(d.join("build")).unwrap();
    for name in ["cart", "search"] {
        let wasm = fixtures::wat(&fixtures::numeric_wat(1));
        std::fs::write(d.join(format!("build/{name}.wasm")), wasm).unwrap();
    }

    // The script: its lines joined where they continue, run in order.
    let script = script.unwrap().join("\n").replace("\\\n", " ");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let env = [("HOTSWAP_URL", url.clone())];
    let mut serve: Option<Proc> = None;
    let mut outputs = Vec::new();
    for line in script.lines() {
        let args = command(line);
        match args.first().map(String::as_str) {
            Some("echo") => {
                let (value, file) = line.split_once(" > ").unwrap();
                let value = value.trim_start_matches("echo ").trim_matches('"');
                std::fs::write(d.join(file.trim()), format!("{value}\n")).unwrap();
            }
            Some("hotswap") if args[1] == "serve" => {
                let mut args = args[1..].to_vec();
                args.extend([
                    "--listen".into(),
                    format!("127.0.0.1:{port}"),
                    "--ingress".into(),
                    "127.0.0.1:0".into(),
                ]);
                let proc = Proc::spawn("serve", d, &args, &[]);
                Api::new(url.clone(), String::new()).wait_up(&proc).await;
                serve = Some(proc);
            }
            Some("hotswap") => {
                let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
                outputs.push((line.to_owned(), try_cli(d, &args, &env)));
            }
            other => panic!("the example runs {other:?}, which this test does not know"),
        }
    }
    assert!(serve.is_some(), "the example starts hotswap serve");

    let [diff, dry, apply, again] = &outputs[..] else {
        panic!("four client commands expected: {outputs:#?}");
    };
    let (ok, out, err) = &diff.1;
    assert!(!ok && err.contains("differs"), "{}: {out}{err}", diff.0);
    for want in [
        "+ policy cart/production",
        "+ policy cart/staging",
        "+ policy search/staging",
        "+ module cart@1.4.0",
        "+ module search@2.1.0",
        "+ route shop.example.com/cart -> cart",
        "+ route shop.example.com/search -> search",
        "> roll out cart 1.4.0 (its first version) in production (under its policy)",
        "> roll out search 2.1.0 (its first version) in staging (under its policy)",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    assert_eq!(dry.1, (true, out.clone(), String::new()), "{}", dry.0);
    let (ok, out, err) = &apply.1;
    assert!(
        *ok && out.contains("registered cart@1.4.0") && out.contains("registered search@2.1.0"),
        "{}: {out}{err}",
        apply.0
    );
    let (ok, out, err) = &again.1;
    assert!(
        *ok && out.starts_with("the fleet matches the files"),
        "{}: {out}{err}",
        again.0
    );
    assert!(d.join("webhook.secret").exists());
}

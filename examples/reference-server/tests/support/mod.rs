//! Running `hotswap` processes on loopback for tests: free ports, waiting
//! for readiness, tokens, and JSON calls; every child is killed on drop.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hotswap_http::auth::{Role, TokenSigner};
use serde_json::{Value, json};

pub const SECRET: &str = "an end-to-end secret, long enough for HS256";

/// The `hotswap` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hotswap")
}

/// A port free right now on 127.0.0.1, for a child process to listen on.
///
/// Taken below the kernel's ephemeral range (32768 and up here), which
/// outgoing connections and port-0 listeners draw from: a port handed out
/// there could be taken by another process's connection before the child
/// binds it ("Address already in use"). Picks spread by process id and a
/// counter, so the tests of one binary never pick the same port.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let base = std::process::id().wrapping_mul(7_919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + base.wrapping_add(n.wrapping_mul(97)) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub fn token(subject: &str, roles: &[Role]) -> String {
    TokenSigner::hs256(SECRET.as_bytes())
        .unwrap()
        .issue(subject, roles, Duration::from_secs(3600))
        .unwrap()
}

/// A child process, killed (SIGKILL) when dropped; its output goes to a
/// log file printed when a test fails.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: std::path::PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, dir: &Path, args: &[String], env: &[(&str, String)]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(dir)
            .env_remove("RUST_BACKTRACE")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Proc {
            name: name.into(),
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    /// Kill with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first, as an operator stops a service: it shuts down
        // gracefully (and an instrumented build writes its coverage).
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            for _ in 0..50 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.kill();
        if std::thread::panicking() {
            eprintln!("----- {} log -----\n{}", self.name, self.log_text());
        }
    }
}

/// `hotswap serve` in `dir` on free API and ingress ports with `extra`
/// options, once it answers: the process, its API's URL, its ingress port.
pub async fn serve(dir: &Path, extra: &[&str]) -> (Proc, String, u16) {
    let (port, ingress_port) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{port}");
    let mut args = vec![
        "serve".to_owned(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--ingress".into(),
        format!("127.0.0.1:{ingress_port}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let proc = Proc::spawn("serve", dir, &args, &[]);
    Api::new(url.clone(), String::new()).wait_up(&proc).await;
    (proc, url, ingress_port)
}

/// Run `hotswap args...` to completion; its stdout, or a panic with its
/// output when it fails.
pub fn run_cli(dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    let (ok, stdout, stderr) = try_cli(dir, args, env);
    assert!(ok, "hotswap {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Run `hotswap args...`; (success, stdout, stderr).
/// `hotswap module push FILE --name MODULE --version VERSION`; its output.
pub fn push_module(
    dir: &Path,
    file: &str,
    module: &str,
    version: &str,
    env: &[(&str, String)],
) -> String {
    run_cli(
        dir,
        &[
            "module",
            "push",
            file,
            "--name",
            module,
            "--version",
            version,
        ],
        env,
    )
}

pub fn try_cli(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (bool, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir).env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Wait until `check` returns `Some`, or panic naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A JSON client with a bearer token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String, token: String) -> Self {
        Self {
            base,
            token,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await;
        match resp {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    /// Wait for `GET /healthz` to answer.
    pub async fn wait_up(&self, who: &Proc) {
        let start = Instant::now();
        while self.get("/healthz").await.0 != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not come up:\n{}",
                who.name,
                who.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The WAT of a module with `numeric`'s exports whose `add` traps.
pub fn failing_wat(version: i32) -> String {
    hotswap_testkit::fixtures::numeric_wat(version).replacen(
        "local.get 0 local.get 1 i32.add)",
        "unreachable)",
        1,
    )
}

/// Calls through the control plane until stopped, counting outcomes.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    pub fn start(api: &Api, workers: usize) -> Self {
        Self::start_at(api, "/api/v1/wasm/execute", workers)
    }

    /// Calls to the execute endpoint at `path` (`/agent/v1/execute` on a
    /// node).
    pub fn start_at(api: &Api, path: &'static str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let tasks = (0..workers)
            .map(|i| {
                let (api, stop, ok, failed) =
                    (api.clone(), stop.clone(), ok.clone(), failed.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body = json!({"module": "calc", "function": "add", "args": [2, 3],
                                          "key": format!("user-{i}-{n}")});
                        match api.post(path, &body).await.0 {
                            200 => ok.fetch_add(1, Ordering::Relaxed),
                            _ => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failed,
            tasks,
        }
    }

    pub async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Wait up to 30 s for deployment `id` to send `percent` of the traffic
/// to its new version.
pub async fn wait_traffic(api: &Api, id: &str, percent: u64) {
    eventually(
        &format!("deployment {id} at {percent} % of the traffic"),
        Duration::from_secs(30),
        || async {
            let (_, v) = api.get(&format!("/api/v1/wasm/deployments/{id}")).await;
            (v["deployment"]["progress"]["traffic_percent"].as_u64() == Some(percent)).then_some(())
        },
    )
    .await;
}

pub async fn wait_phase(api: &Api, id: &str, want: &str, limit: Duration) -> Value {
    eventually(&format!("deployment {id} to be {want}"), limit, || async {
        let (_, view) = api.get(&format!("/api/v1/wasm/deployments/{id}")).await;
        let phase = view["deployment"]["phase"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if phase == want {
            return Some(view);
        }
        let terminal = ["succeeded", "rolled_back", "failed", "aborted"];
        assert!(
            !terminal.contains(&phase.as_str()),
            "deployment {id} ended {phase}, not {want}: {:#}",
            view["events"]
        );
        None
    })
    .await
}

/// A Prometheus server (Debian's package) on a free port, scraping
/// `targets` (`host:port`) every second; killed on drop.
pub struct Prometheus {
    pub url: String,
    child: Child,
}

impl Prometheus {
    /// Start it with its files in `dir`; `None` when the binary is missing
    /// (a skip, or a failure under `CI=true`).
    pub fn start(dir: &Path, targets: &[String]) -> Option<Prometheus> {
        let binary = tool("prometheus")?;
        let port = free_port();
        let config = dir.join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: hotswap\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Some(Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
        })
    }

    /// The value of instant query `query`, when it has one.
    pub async fn value(&self, query: &str) -> Option<f64> {
        let body: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name` on the PATH; missing is a skip, or a failure under `CI=true`.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is needed under CI=true (apt-get install prometheus)"
        );
        println!("skipped: {name} is not installed");
    }
    found
}

/// Run `promtool check metrics` on `exposition`; false when promtool is
/// missing (outside CI), a panic naming the problems when it fails.
pub fn promtool_check(exposition: &str) -> bool {
    use std::io::Write;
    let Some(promtool) = tool("promtool") else {
        return false;
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// Run `args` as the `postgres` user when this process is root (initdb
/// refuses root), else as ourselves.
fn as_postgres(args: &[&str]) -> std::process::Output {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]);
        c.args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    cmd.output().unwrap()
}

/// A PostgreSQL server of this test's own (initdb in a temporary folder,
/// trust authentication, a free port), so a test may stop and start it.
pub struct LocalPostgres {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl LocalPostgres {
    /// `None` (printing why) when PostgreSQL's binaries are not installed,
    /// outside CI.
    pub fn start() -> Option<LocalPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .find(|p| p.join("initdb").exists())
        });
        let Some(bin) = bin else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL's binaries are needed under CI=true"
            );
            println!("skipped: PostgreSQL's server binaries are not installed");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres", &dir.path().to_string_lossy()])
            .output();
        let initdb = bin.join("initdb");
        let out = as_postgres(&[
            &initdb.to_string_lossy(),
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "hotswap",
        ]);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = LocalPostgres {
            bin,
            dir,
            port: free_port(),
        };
        pg.up();
        Some(pg)
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let ctl = self.bin.join("pg_ctl");
        let data = self.dir.path().join("data");
        let mut all = vec![
            ctl.to_string_lossy().into_owned(),
            "-D".into(),
            data.to_string_lossy().into_owned(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        as_postgres(&refs)
    }

    /// Start (again) on the same port and data.
    pub fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log");
        let out = self.pg_ctl(&["-w", "-l", &log.to_string_lossy(), "-o", &opts, "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop at once (open connections are cut).
    pub fn down(&self) {
        let out = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!("postgres://hotswap@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

/// An s3s-fs server of this test's own, which it may stop and start.
pub struct LocalS3 {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

pub const S3_KEY: &str = "chaos";
pub const S3_SECRET: &str = "chaos-secret-key";

impl LocalS3 {
    /// `None` (printing why) when s3s-fs is not installed, outside CI.
    pub fn start() -> Option<LocalS3> {
        tool("s3s-fs")?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/wasm-modules")).unwrap();
        let mut s3 = LocalS3 {
            dir,
            port: free_port(),
            child: None,
        };
        s3.up();
        Some(s3)
    }

    pub fn up(&mut self) {
        let child = Command::new("s3s-fs")
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--access-key",
                S3_KEY,
                "--secret-key",
                S3_SECRET,
            ])
            .arg(self.dir.path().join("root"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("s3s-fs did not start");
    }

    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The environment that points hotswap at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOTSWAP_S3_BUCKET", "wasm-modules".into()),
            (
                "HOTSWAP_S3_ENDPOINT",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("HOTSWAP_S3_ACCESS_KEY_ID", S3_KEY.into()),
            ("HOTSWAP_S3_SECRET_ACCESS_KEY", S3_SECRET.into()),
        ]
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        self.down();
    }
}

/// GETs of `url` with `host` until stopped, counting 200s and 500s.
pub struct HttpTraffic {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HttpTraffic {
    pub fn start(url: &str, host: &str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let http = reqwest::Client::new();
        let tasks = (0..workers)
            .map(|_| {
                let (http, stop, ok, failed) =
                    (http.clone(), stop.clone(), ok.clone(), failed.clone());
                let (url, host) = (url.to_owned(), host.to_owned());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let r = http.get(&url).header("host", &host).send().await;
                        match r.map(|r| r.status().as_u16()) {
                            Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                            Ok(500) => failed.fetch_add(1, Ordering::Relaxed),
                            other => panic!("the ingress answered {other:?}"),
                        };
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failed,
            tasks,
        }
    }

    pub async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

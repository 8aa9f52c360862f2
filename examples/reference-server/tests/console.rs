//! The web console in a real browser: headless Chromium (Debian's
//! package) driven through chromedriver with fantoccini, against `hotswap
//! serve`. It signs in from the keyboard by pasting the admin token,
//! watches a canary go from 20 % to 100 % live without reloading, pauses
//! another (and reads why it paused) and aborts it as an admin, sees no
//! button as a viewer (and the server refuses the viewer's action
//! anyway), and stays within a 375 px wide window.
//! Screenshots land in `$CARGO_TARGET_TMPDIR/console-screenshots`.

#![allow(clippy::unwrap_used)]

mod support;
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use hotswap_testkit::fixtures;
use serde_json::{Value, json};
use support::{Api, Traffic, eventually, push_module, run_cli, serve};
use webdriver::{Browser, Driver, Key};

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

/// A canary of calc to `version` judged every `period` seconds.
fn canary(version: &str, period: u64) -> Value {
    json!({
        "module": "calc", "to_version": version, "start": true,
        "strategy": {"type": "canary", "steps": [20, 100], "evaluation_period_secs": period},
        "health": {"min_samples": 5, "max_p99_ratio": 1000.0},
    })
}

async fn create(api: &Api, body: &Value) -> String {
    let (status, d) = api.post("/api/v1/wasm/deployments", body).await;
    assert_eq!(status, 201, "{d}");
    d["id"].as_str().unwrap().to_owned()
}

/// Sign in from the keyboard: the page focuses the token field, the
/// token is typed and Enter submits.
async fn sign_in(b: &Browser, page: &str, token: &str) {
    b.goto(page).await;
    b.find("#token").await;
    eventually(
        "the sign-in page to focus its field",
        Duration::from_secs(5),
        || async {
            let id = b.eval("return document.activeElement.id;", vec![]).await;
            (id == "token").then_some(())
        },
    )
    .await;
    b.type_keys(token).await;
    b.press(Key::Enter).await;
    b.find("#subject").await;
}

/// Open deployment `id`'s page, once its canary is at 20 %.
async fn open_at_20(b: &Browser, id: &str) {
    b.eval(
        "location.hash = arguments[0];",
        vec![json!(format!("#/deployments/{id}"))],
    )
    .await;
    b.text_until("#live", Duration::from_secs(30), |t| t.contains("20 %"))
        .await;
}

/// Press Tab until the focus is on `css` (at most 20 times).
async fn tab_to(b: &Browser, css: &str) {
    for _ in 0..20 {
        b.press(Key::Tab).await;
        let on = b
            .eval(
                "return document.activeElement.matches(arguments[0]);",
                vec![json!(css)],
            )
            .await;
        if on == json!(true) {
            return;
        }
    }
    panic!("Tab never reached {css}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_watches_a_canary_live_and_acts_as_their_role_allows() {
    let Some(driver) = Driver::find().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs chromedriver (HOTSWAP_TEST_WEBDRIVER_URL or chromium-driver installed)"
        );
        eprintln!("skipped: no chromedriver");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url, _) = serve(d, &["--heartbeat-secs", "1", "--tick-ms", "200"]).await;
    let admin = std::fs::read_to_string(d.join("hotswap-data/admin-token")).unwrap();
    let api = Api::new(url.clone(), admin.clone());
    let env = [("HOTSWAP_URL", url.clone())];
    for v in 1..=4 {
        let file = format!("calc-{v}.wat");
        std::fs::write(d.join(&file), fixtures::numeric_wat(v)).unwrap();
        let version = format!("{v}.0.0");
        push_module(d, &file, "calc", &version, &env);
    }
    run_cli(d, &["deploy", "calc", "1.0.0", "--watch"], &env);
    let secret = d.join("hotswap-data/dev-secret");
    let viewer = run_cli(
        d,
        &[
            "token",
            "--subject",
            "vera",
            "--role",
            "viewer",
            "--jwt-secret-file",
            secret.to_str().unwrap(),
        ],
        &[],
    );

    let b = driver.browser(1280, 900).await;
    sign_in(&b, &format!("{url}/ui/"), admin.trim()).await;
    let who = b
        .text_until("#subject", Duration::from_secs(5), |t| !t.is_empty())
        .await;
    assert_eq!(who, "dev-admin (admin)");
    // A mark that a reload would wipe.
    b.eval("window.stayed = true;", vec![]).await;

    // A canary under traffic, watched from its page.
    let traffic = Traffic::start(&api, 2);
    let id = create(&api, &canary("2.0.0", 3)).await;
    b.text_until("#view", Duration::from_secs(10), |t| t.contains("2.0.0"))
        .await;
    b.find(&format!("a[href='#/deployments/{id}']"))
        .await
        .click()
        .await
        .unwrap();
    let percent = |p: &'static str| move |t: &str| t.contains(&format!("Traffic on 2.0.0: {p} %"));
    b.text_until("#live", Duration::from_secs(30), percent("20"))
        .await;
    b.screenshot(&shots().join("canary-20.png")).await;
    assert_eq!(b.count("#actions button[data-op='abort']").await, 1);
    b.text_until("#live", Duration::from_secs(60), percent("100"))
        .await;
    b.text_until("#view h1", Duration::from_secs(30), |t| {
        t.contains("succeeded")
    })
    .await;
    b.screenshot(&shots().join("canary-100.png")).await;
    assert_eq!(
        b.eval("return window.stayed === true;", vec![]).await,
        json!(true),
        "the page followed the canary without reloading"
    );
    let timeline = b.find("ol.timeline").await.text().await.unwrap();
    assert!(timeline.contains("20"), "{timeline}");
    assert_eq!(
        b.count("#actions button").await,
        0,
        "a finished rollout has no action"
    );

    // An admin aborts a canary from its page.
    let id = create(&api, &canary("3.0.0", 60)).await;
    open_at_20(&b, &id).await;
    // From the keyboard: Tab to a button, Enter to press it. Paused, the
    // page says why and offers to resume.
    tab_to(&b, "#actions button[data-op='pause']").await;
    b.press(Key::Enter).await;
    b.text_until("#reason", Duration::from_secs(15), |t| {
        t.contains("paused by dev-admin")
    })
    .await;
    b.find("#actions button[data-op='resume']").await;
    b.screenshot(&shots().join("paused.png")).await;
    tab_to(&b, "#actions button[data-op='abort']").await;
    b.press(Key::Enter).await;
    b.text_until("#view h1", Duration::from_secs(15), |t| {
        t.contains("aborted")
    })
    .await;
    b.screenshot(&shots().join("aborted.png")).await;
    let (_, view) = api.get(&format!("/api/v1/wasm/deployments/{id}")).await;
    assert_eq!(view["deployment"]["phase"], "aborted");
    let events = view["events"].to_string();
    assert!(
        events.contains("dev-admin"),
        "the abort names who pressed it: {events}"
    );

    // Signed out and in again as a viewer: no button, and the server
    // refuses the action the page does not offer.
    b.find("#signout").await.click().await.unwrap();
    b.find("#token").await;
    // Lists two items a page: the pages follow their cursors.
    sign_in(&b, &format!("{url}/ui/?page=2"), viewer.trim()).await;
    let id = create(&api, &canary("4.0.0", 60)).await;
    open_at_20(&b, &id).await;
    assert_eq!(
        b.count("#actions button").await,
        0,
        "a viewer sees no button"
    );
    b.screenshot(&shots().join("viewer.png")).await;
    let refused = b
        .eval(
            "const s = await (await fetch('/ui/session')).json();
             const r = await fetch(`/api/v1/wasm/deployments/${arguments[0]}/abort`,
                 {method: 'POST', headers: {'x-csrf-token': s.csrf}});
             return r.status;",
            vec![json!(id)],
        )
        .await;
    assert_eq!(refused, json!(403));
    // Without the CSRF token even an admin's cookie could not act.
    let no_csrf = b
        .eval(
            "const r = await fetch(`/api/v1/wasm/deployments/${arguments[0]}/pause`, {method: 'POST'});
             return r.status;",
            vec![json!(id)],
        )
        .await;
    assert_eq!(no_csrf, json!(403));

    // 375 px wide: nothing wider than the window, on every section.
    b.resize(375, 800).await;
    for section in [
        "#/deployments",
        "#/modules",
        "#/nodes",
        &format!("#/deployments/{id}"),
    ] {
        b.eval("location.hash = arguments[0];", vec![json!(section)])
            .await;
        b.text_until("#view", Duration::from_secs(10), |t| {
            !t.is_empty() && !t.contains("Loading")
        })
        .await;
        let fits = b
            .eval(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await;
        assert_eq!(fits, json!(true), "{section} is wider than 375 px");
    }
    b.screenshot(&shots().join("narrow-375.png")).await;

    // Two a page, every module version and deployment is still listed.
    for (section, title, rows) in [
        ("#/modules", "Modules", 4),
        ("#/deployments", "Deployments", 4),
    ] {
        b.eval("location.hash = arguments[0];", vec![json!(section)])
            .await;
        b.text_until("#view h1", Duration::from_secs(10), |t| t == title)
            .await;
        eventually(
            &format!("{rows} rows in {section}"),
            Duration::from_secs(10),
            || async { (b.count("#view tbody tr").await == rows).then_some(()) },
        )
        .await;
    }
    b.close().await;
    traffic.stop().await;
    eprintln!("screenshots in {}", shots().display());
}

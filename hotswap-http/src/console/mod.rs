//! The web console at `/ui`: a page, a script and a style sheet embedded
//! in the binary (no CDN, no framework), and the session endpoints that
//! exchange a pasted token for a cookie.
//!
//! - `GET /ui/`: the console; `GET /ui/app.js`, `GET /ui/style.css`.
//! - `POST /ui/session` with `{"token": "…"}` (JSON only, so no other site
//!   can post it from a form): sets the session cookie and answers the
//!   [`Session`], whose `csrf` the page sends back in `x-csrf-token`.
//! - `GET /ui/session`: the current session, or 401.
//! - `DELETE /ui/session`: signs out (the CSRF token is required).
//!
//! Every answer forbids framing and sniffing, and the page may load
//! nothing but its own files.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::api::ApiState;
use crate::auth::{Principal, SESSION_COOKIE, Session};
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};

const INDEX: &str = include_str!("assets/index.html");
const APP: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// The policy every console answer carries: its own files only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route(
            "/ui/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP) }),
        )
        .route(
            "/ui/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route("/ui/session", get(current).post(sign_in).delete(sign_out))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with the binary: always ask whether they did.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    protect(h);
    resp
}

fn protect(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// Whether the browser reached us over HTTPS (through a TLS terminator).
fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that stores `sealed` until `expires_at` (or, for
/// `None`, removes the session). `secure` when the browser reached us over
/// HTTPS.
fn set_cookie(sealed: Option<(&str, i64)>, now: i64, secure: bool) -> String {
    let (value, max_age) = match sealed {
        Some((value, expires_at)) => (value, (expires_at - now).max(0)),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

fn with_cookie(mut resp: Response, cookie: &str) -> ApiResult<Response> {
    let value = HeaderValue::from_str(cookie).map_err(|_| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the session cookie is not a header value",
        )
    })?;
    resp.headers_mut().insert(header::SET_COOKIE, value);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    protect(resp.headers_mut());
    Ok(resp)
}

async fn sign_in(
    State(s): State<ApiState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignIn>,
) -> ApiResult<Response> {
    let now = chrono::Utc::now().timestamp();
    let (session, sealed) = s.auth.sign_in(body.token.trim(), now)?;
    tracing::info!(subject = %session.subject, "console sign-in");
    let cookie = set_cookie(Some((&sealed, session.expires_at)), now, secure(&headers));
    with_cookie(Json(session).into_response(), &cookie)
}

async fn current(State(s): State<ApiState>, headers: HeaderMap) -> ApiResult<Json<Session>> {
    let cookie = crate::auth::session::cookie_value(&headers)
        .ok_or_else(|| Problem::unauthorized("no session: sign in at /ui"))?;
    Ok(Json(
        s.auth.session(cookie, chrono::Utc::now().timestamp())?,
    ))
}

async fn sign_out(who: Principal, headers: HeaderMap) -> ApiResult<Response> {
    tracing::info!(subject = %who.subject, "console sign-out");
    let cookie = set_cookie(None, 0, secure(&headers));
    with_cookie(StatusCode::NO_CONTENT.into_response(), &cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let set = set_cookie(Some(("v", 160)), 100, false);
        assert_eq!(
            set,
            "hotswap_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(set_cookie(None, 0, true).ends_with("Max-Age=0; Secure"));
    }
}

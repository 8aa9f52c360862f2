//! Request extractors whose refusals are problems naming what was wrong:
//! JSON bodies (with the path of the bad field), query strings and path
//! ids.

use std::str::FromStr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON request body; a bad one is `400 invalid` naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

/// Buffer a body, turning a refusal into a problem (`413` past the limit).
pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::too_large(format!("the request body is too large: {e}"))
            } else {
                Problem::invalid("body", e.body_text())
            }
        })
}

/// Parse `bytes` as JSON into `T`; an error names the path of the field.
///
/// An integer field also takes a number written with a fraction of zero
/// (`3.0`, `1e3`): JSON Schema counts it as an integer, so a client may
/// send it that way.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Parse plainly first; only a refused body pays for the second try.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut json: serde_json::Value = {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(invalid_at)?
    };
    if !integral_floats_to_integers(&mut json) {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        return serde_path_to_error::deserialize(de).map_err(invalid_at);
    }
    serde_path_to_error::deserialize(json).map_err(invalid_at)
}

fn invalid_at<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> Problem {
    let path = e.path().to_string();
    let field = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path
    };
    Problem::invalid(field, e.into_inner())
}

/// Rewrite every float with an integral value that fits `i64` or `u64` as
/// that integer (negative zero stays a float, keeping its sign); whether
/// any was rewritten.
fn integral_floats_to_integers(json: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match json {
        Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return false };
            if f.fract() != 0.0 || (f == 0.0 && f.is_sign_negative()) {
                return false;
            }
            // Exact: every f64 in these ranges is an integer that converts
            // without rounding.
            let integer = if (-9.223_372_036_854_776e18..0.0).contains(&f) {
                Some(serde_json::Number::from(f as i64))
            } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                Some(serde_json::Number::from(f as u64))
            } else {
                None
            };
            integer.map(|i| *n = i).is_some()
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        _ => false,
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v.starts_with("application/json") || v.contains("+json")
        })
}

fn not_json() -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "the body must be JSON: send content-type: application/json",
    )
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(&req) {
            return Err(not_json());
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out (an empty body or `null` is `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = is_json(&req);
        let bytes = body_bytes(req, state).await?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(not_json());
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// A query string; a bad one is `400 invalid` naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "query".to_owned()
                } else {
                    format!("query.{path}")
                };
                Problem::invalid(field, e.into_inner())
            })
    }
}

/// Parse a path segment named `field`, as `400 invalid` naming it.
pub fn path_param<T>(field: &str, raw: &str) -> Result<T, Problem>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|e| Problem::invalid(field, format!("{raw:?}: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Counts {
        small: u32,
        big: u64,
        signed: i64,
        ratio: f64,
    }

    #[test]
    fn integer_fields_take_integral_floats() {
        let c: Counts =
            parse_json(br#"{"small": 3.0, "big": 1e19, "signed": -2.0, "ratio": 0.5}"#).unwrap();
        assert_eq!(
            c,
            Counts {
                small: 3,
                big: 10_000_000_000_000_000_000,
                signed: -2,
                ratio: 0.5
            }
        );
    }

    #[test]
    fn fractions_and_out_of_range_values_name_their_field() {
        for (body, field) in [
            (
                r#"{"small": 3.5, "big": 1, "signed": 1, "ratio": 1}"#,
                "small",
            ),
            (
                r#"{"small": 1, "big": 2e19, "signed": 1, "ratio": 1}"#,
                "big",
            ),
            (
                r#"{"small": 1e10, "big": 1, "signed": 1, "ratio": 1}"#,
                "small",
            ),
            (
                r#"{"small": 1, "big": 1, "signed": "x", "ratio": 1}"#,
                "signed",
            ),
        ] {
            let problem = parse_json::<Counts>(body.as_bytes()).unwrap_err();
            assert_eq!(problem.field.as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        let mut json = serde_json::json!([-0.0, 0.0, 2.0]);
        assert!(integral_floats_to_integers(&mut json));
        assert!(json[0].as_f64().unwrap().is_sign_negative());
        assert_eq!(json[1], serde_json::json!(0));
        assert_eq!(json[2], serde_json::json!(2));
    }
}

//! The body of a WIT package upload, by content type: JSON
//! (`{"wit": …}`), WIT text, a tar(.gz) archive of a WIT directory, a
//! multipart form of its files, or a package encoded as wasm.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use hotswap_control::interface::{WitFile, WitUpload};

use super::ApiState;
use crate::extract::{body_bytes, parse_json};
use crate::problem::{ApiResult, Problem};
use crate::wire::RegisterInterface;
use crate::wit_payload::{MAX_WIT_BYTES, MAX_WIT_FILES, unpack};

/// The form part that carries an override's reason rather than a file.
const OVERRIDE_PART: &str = "override_reason";

/// The upload in `req`, and an override reason from its JSON or form (a
/// reason in the query, `query_reason`, is taken too, but not both).
pub(crate) async fn wit_body(
    req: Request,
    s: &ApiState,
    query_reason: Option<String>,
) -> ApiResult<(WitUpload, Option<String>)> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let (upload, reason) = match media {
        "application/json" => {
            let body: RegisterInterface = parse_json(&body_bytes(req, s).await?)?;
            (WitUpload::Text(body.wit), body.override_reason)
        }
        "text/plain" | "text/x-wit" => {
            let bytes = body_bytes(req, s).await?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| Problem::invalid("body", "the WIT text is not UTF-8"))?;
            (WitUpload::Text(text), None)
        }
        "application/wasm" => (WitUpload::Wasm(body_bytes(req, s).await?.to_vec()), None),
        "application/gzip"
        | "application/x-gzip"
        | "application/x-tar"
        | "application/tar"
        | "application/tar+gzip" => {
            let files = unpack(&body_bytes(req, s).await?)?;
            (WitUpload::Directory(wit_files(files)), None)
        }
        "multipart/form-data" => form(req, s).await?,
        other => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!(
                    "send the WIT package as application/json ({{\"wit\": …}}), text/plain, \
                     application/gzip (a tar.gz of the directory), multipart/form-data \
                     (one part per file) or application/wasm, not {other:?}"
                ),
            ));
        }
    };
    match (reason, query_reason) {
        (Some(_), Some(_)) => Err(Problem::invalid(
            "override_reason",
            "give the reason once, in the body or in the query",
        )),
        (body, query) => Ok((upload, body.or(query))),
    }
}

fn wit_files(files: Vec<(String, Vec<u8>)>) -> Vec<WitFile> {
    files
        .into_iter()
        .map(|(path, contents)| WitFile { path, contents })
        .collect()
}

/// One part per file: its file name is its path in the directory (or,
/// without one, the part's name); a part named `override_reason` without
/// a file name is the override's reason.
async fn form(req: Request, s: &ApiState) -> ApiResult<(WitUpload, Option<String>)> {
    let mut form = Multipart::from_request(req, s)
        .await
        .map_err(|e| Problem::invalid("body", e.body_text()))?;
    let (mut files, mut reason, mut total) = (Vec::new(), None, 0u64);
    while let Some(field) = form.next_field().await.map_err(super::multipart_problem)? {
        let name = field.name().unwrap_or_default().to_owned();
        let path = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(super::multipart_problem)?;
        if path.is_none() && name == OVERRIDE_PART {
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| Problem::invalid(OVERRIDE_PART, "is not UTF-8"))?;
            reason = Some(text);
            continue;
        }
        let path = path.unwrap_or(name);
        if path.is_empty() {
            return Err(Problem::invalid(
                "body",
                "a form part has neither a file name nor a name: name each part by its path",
            ));
        }
        total += bytes.len() as u64;
        if files.len() == MAX_WIT_FILES || total > MAX_WIT_BYTES {
            return Err(Problem::invalid(
                "body",
                format!("the form holds more than {MAX_WIT_FILES} files or {MAX_WIT_BYTES} bytes"),
            ));
        }
        files.push(WitFile {
            path,
            contents: bytes.to_vec(),
        });
    }
    Ok((WitUpload::Directory(files), reason))
}

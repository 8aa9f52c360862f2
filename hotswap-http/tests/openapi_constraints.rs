//! The OpenAPI documents state what the server enforces on every input:
//! names, regions and versions carry core's patterns, ids their format,
//! integers their range, list limits their bounds. (scripts/apifuzz.sh
//! checks the same against a running server with schemathesis.)
#![allow(clippy::unwrap_used)]

use hotswap_core::domain::{MODULE_NAME_PATTERN, REGION_PATTERN, SEMVER_PATTERN};
use serde_json::Value;

fn docs() -> Vec<(&'static str, Value)> {
    vec![
        (
            "control plane",
            serde_json::to_value(hotswap_http::api::openapi()).unwrap(),
        ),
        (
            "agent",
            serde_json::to_value(hotswap_http::agent::openapi()).unwrap(),
        ),
    ]
}

/// Follow `$ref`s to the schema they name.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every (field name, schema) a request can carry: parameters, and the
/// properties of request bodies, however deep.
fn request_fields(doc: &Value) -> Vec<(String, String, Value)> {
    fn walk(
        doc: &Value,
        at: &str,
        schema: &Value,
        out: &mut Vec<(String, String, Value)>,
        depth: u8,
    ) {
        let schema = resolve(doc, schema);
        if depth > 12 {
            return;
        }
        if let Some(props) = schema["properties"].as_object() {
            for (name, p) in props {
                let p = resolve(doc, p);
                out.push((format!("{at}.{name}"), name.clone(), p.clone()));
                walk(doc, &format!("{at}.{name}"), p, out, depth + 1);
            }
        }
        for key in ["oneOf", "anyOf", "allOf", "prefixItems"] {
            for s in schema[key].as_array().into_iter().flatten() {
                walk(doc, at, s, out, depth + 1);
            }
        }
        if schema["items"].is_object() {
            walk(doc, &format!("{at}[]"), &schema["items"], out, depth + 1);
        }
        if schema["additionalProperties"].is_object() {
            walk(
                doc,
                &format!("{at}{{}}"),
                &schema["additionalProperties"],
                out,
                depth + 1,
            );
        }
    }
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap().to_owned();
                let schema = resolve(doc, &p["schema"]).clone();
                out.push((
                    format!("{at} {} {name}", p["in"].as_str().unwrap()),
                    name,
                    schema,
                ));
            }
            for content in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                walk(
                    doc,
                    &format!("{at} body({})", content.0),
                    &content.1["schema"],
                    &mut out,
                    0,
                );
            }
        }
    }
    out
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => schema["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| types(s))
            .collect(),
    }
}

/// The pattern of a schema, or of the non-null branch of a `oneOf`.
fn pattern(schema: &Value) -> Option<&str> {
    schema["pattern"].as_str().or_else(|| {
        schema["oneOf"]
            .as_array()?
            .iter()
            .find_map(|s| s["pattern"].as_str())
    })
}

#[test]
fn names_regions_and_versions_carry_the_patterns_their_parsers_prove() {
    let mut checked = 0;
    for (which, doc) in docs() {
        for (at, name, schema) in request_fields(&doc) {
            let want = match name.as_str() {
                "module" => MODULE_NAME_PATTERN,
                "region" => REGION_PATTERN,
                "version" | "to_version" | "from_version" | "stable" => SEMVER_PATTERN,
                _ => continue,
            };
            if at.ends_with("imports[].module") {
                continue; // the wasm import's module, not a hotswap module
            }
            if !types(&schema).contains(&"string") {
                continue; // e.g. a `candidate` object holding a version
            }
            assert_eq!(pattern(&schema), Some(want), "{which}: {at}: {schema}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} fields checked");
}

#[test]
fn every_request_integer_states_its_range_and_every_id_its_format() {
    for (which, doc) in docs() {
        for (at, name, schema) in request_fields(&doc) {
            if types(&schema).contains(&"integer") {
                assert!(
                    schema["minimum"].is_number() && schema["maximum"].is_number(),
                    "{which}: {at}: {schema}"
                );
            }
            if at.contains(" path ") && name == "id" {
                assert_eq!(schema["format"], "uuid", "{which}: {at}");
            }
            if name == "limit" {
                assert_eq!(
                    (&schema["minimum"], &schema["maximum"]),
                    (&1.into(), &1000.into()),
                    "{which}: {at}"
                );
            }
            if types(&schema) == ["string"] && at.contains(" query ") {
                // Free text: an opaque cursor (one the list did not hand
                // out is 404), an admin's reason (any text).
                assert!(
                    ["cursor", "override_reason"].contains(&name.as_str())
                        || pattern(&schema).is_some()
                        || schema["enum"].is_array(),
                    "{which}: {at}: a query string without a pattern: {schema}"
                );
            }
        }
    }
}

#[test]
fn query_parameters_are_in_the_query_and_optional() {
    for (which, doc) in docs() {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    let placeholder = format!("{{{name}}}");
                    let location = if path.contains(&placeholder) {
                        "path"
                    } else {
                        "query"
                    };
                    assert_eq!(p["in"], location, "{which}: {method} {path} {name}");
                    assert_eq!(
                        p["required"],
                        location == "path",
                        "{which}: {method} {path} {name}"
                    );
                }
            }
        }
    }
}

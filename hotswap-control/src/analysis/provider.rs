//! [`AnalysisProvider`] over HTTP: Prometheus's instant-query API, and
//! plain `GET`s whose JSON answer holds the value at a JSONPath.

use std::time::Duration;

use async_trait::async_trait;
use hotswap_core::analysis::AnalysisProvider;
use hotswap_core::domain::AnalysisSource;
use hotswap_core::{Error, Result};
use serde_json::Value as Json;
use serde_json_path::JsonPath;

/// Runs checks against Prometheus servers and web endpoints.
#[derive(Clone, Debug)]
pub struct HttpAnalysis {
    client: reqwest::Client,
    prometheus: Option<String>,
}

impl HttpAnalysis {
    /// A provider whose requests give up after `timeout`; Prometheus
    /// checks that name no server query `prometheus`.
    pub fn new(prometheus: Option<String>, timeout: Duration) -> Result<Self> {
        if let Some(url) = &prometheus
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::invalid(
                "prometheus_url",
                format!("{url:?} must start with http:// or https://"),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("building the analysis client failed: {e}")))?;
        Ok(Self { client, prometheus })
    }

    async fn get_json(&self, service: &str, request: reqwest::RequestBuilder) -> Result<Json> {
        let unavailable = |e: reqwest::Error| Error::unavailable(service, true, e);
        let resp = request.send().await.map_err(unavailable)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(unavailable)?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(Error::unavailable(
                service,
                status.is_server_error(),
                format!(
                    "answered {status}: {}",
                    text.chars().take(200).collect::<String>()
                ),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| Error::unavailable(service, false, format!("answered with no JSON: {e}")))
    }

    async fn prometheus(&self, url: Option<&str>, query: &str) -> Result<Option<f64>> {
        let base = url.or(self.prometheus.as_deref()).ok_or_else(|| {
            Error::invalid(
                "source.url",
                "this check names no Prometheus server and the control plane has no default (--prometheus-url)",
            )
        })?;
        let endpoint = format!("{}/api/v1/query", base.trim_end_matches('/'));
        let answer = self
            .get_json(
                "prometheus",
                self.client.get(&endpoint).query(&[("query", query)]),
            )
            .await?;
        prometheus_value(&answer)
    }

    async fn web(&self, url: &str, json_path: &str) -> Result<Option<f64>> {
        let path = JsonPath::parse(json_path)
            .map_err(|e| Error::invalid("source.json_path", e.to_string()))?;
        let answer = self.get_json("web check", self.client.get(url)).await?;
        let found = path.query(&answer).all();
        match found.as_slice() {
            [] => Ok(None),
            [one] => number(one, json_path),
            many => Err(Error::invalid(
                "source.json_path",
                format!(
                    "{json_path} matched {} values; it must match one",
                    many.len()
                ),
            )),
        }
    }
}

#[async_trait]
impl AnalysisProvider for HttpAnalysis {
    async fn measure(&self, source: &AnalysisSource) -> Result<Option<f64>> {
        match source {
            AnalysisSource::Prometheus { url, query } => {
                self.prometheus(url.as_deref(), query).await
            }
            AnalysisSource::Web { url, json_path } => self.web(url, json_path).await,
        }
    }
}

/// The one number of an instant query's answer: a scalar, or a vector of
/// one series (an empty vector is no value).
fn prometheus_value(answer: &Json) -> Result<Option<f64>> {
    if answer["status"] != "success" {
        return Err(Error::unavailable(
            "prometheus",
            false,
            format!(
                "the query failed: {} {}",
                answer["errorType"].as_str().unwrap_or("error"),
                answer["error"].as_str().unwrap_or_default()
            ),
        ));
    }
    let data = &answer["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => match data["result"].as_array().map(Vec::as_slice) {
            Some([]) | None => return Ok(None),
            Some([one]) => &one["value"],
            Some(many) => {
                return Err(Error::invalid(
                    "source.query",
                    format!(
                        "the query returned {} series; aggregate it to one (sum, max, ...)",
                        many.len()
                    ),
                ));
            }
        },
        other => {
            return Err(Error::invalid(
                "source.query",
                format!("the query returned a {other:?}; it must return a scalar or a vector"),
            ));
        }
    };
    // A sample is [timestamp, "value"].
    number(&sample[1], "the sample")
}

/// A JSON number, or a string holding one (Prometheus writes values as
/// strings, `"NaN"` and `"+Inf"` included).
fn number(v: &Json, what: &str) -> Result<Option<f64>> {
    match v {
        Json::Null => Ok(None),
        Json::Number(n) => Ok(n.as_f64()),
        Json::String(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| Error::invalid("source", format!("{what} is {s:?}, not a number"))),
        other => Err(Error::invalid(
            "source",
            format!("{what} is {other}, not a number"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn instant_query_answers_give_one_number_or_none() {
        let vector = |result: Json| json!({"status": "success", "data": {"resultType": "vector", "result": result}});
        assert_eq!(
            prometheus_value(&vector(json!([{"metric": {}, "value": [1.0, "0.25"]}]))).unwrap(),
            Some(0.25)
        );
        assert_eq!(prometheus_value(&vector(json!([]))).unwrap(), None);
        let two = json!([{"value": [1, "1"]}, {"value": [1, "2"]}]);
        let e = prometheus_value(&vector(two)).unwrap_err();
        assert!(e.to_string().contains("2 series"), "{e}");
        let scalar =
            json!({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}});
        assert_eq!(prometheus_value(&scalar).unwrap(), Some(3.0));
        let nan = vector(json!([{"value": [1, "NaN"]}]));
        assert!(prometheus_value(&nan).unwrap().unwrap().is_nan());
        let failed = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        let e = prometheus_value(&failed).unwrap_err();
        assert!(e.to_string().contains("bad_data parse error"), "{e}");
    }

    #[test]
    fn numbers_are_numbers_or_numeric_strings() {
        assert_eq!(number(&json!(2), "x").unwrap(), Some(2.0));
        assert_eq!(number(&json!("1.5"), "x").unwrap(), Some(1.5));
        assert_eq!(number(&Json::Null, "x").unwrap(), None);
        assert!(number(&json!("high"), "x").is_err());
        assert!(number(&json!([1]), "x").is_err());
    }
}

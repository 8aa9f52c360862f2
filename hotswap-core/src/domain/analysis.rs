//! Metric checks a deployment's health criteria may add beside the nodes'
//! own call statistics: a PromQL query against a Prometheus server, or a
//! value read with a JSONPath from a web endpoint's JSON answer. Each runs
//! at its interval during a step, is judged against a threshold, and fails
//! the step once it has failed more than its failure limit.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The variables a check's query or URL may use, as `{{name}}`.
pub const TEMPLATE_VARIABLES: [&str; 7] = [
    "module",
    "version",
    "stable_version",
    "region",
    "window",
    "deployment",
    "step",
];

/// The longest short name (of a check, a hook, a sink).
pub const MAX_SHORT_NAME_LEN: usize = 63;

/// A short name: 1 to 63 lowercase letters, digits and single dashes,
/// starting with a letter (`error-rate`, `slack-ops`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortName(String);

/// The pattern of a [`ShortName`] (with [`MAX_SHORT_NAME_LEN`]).
pub const SHORT_NAME_PATTERN: &str = "^[a-z][a-z0-9]*(-[a-z0-9]+)*$";

impl ShortName {
    /// Validate `name`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= MAX_SHORT_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(name))
        } else {
            Err(Error::invalid(
                "name",
                format!(
                    "{name:?} must be 1-{MAX_SHORT_NAME_LEN} lowercase letters, digits and single dashes, starting with a letter"
                ),
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ShortName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<ShortName> for String {
    fn from(n: ShortName) -> String {
        n.0
    }
}

impl fmt::Display for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Where a check's value comes from. Queries and URLs may use the
/// [`TEMPLATE_VARIABLES`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "provider", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnalysisSource {
    /// An instant PromQL query that yields one number (a scalar, or a
    /// vector of one series).
    Prometheus {
        /// The server (`http://prometheus:9090`); the control plane's
        /// default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The query.
        query: String,
    },
    /// `GET url`, and the number at `json_path` (RFC 9535) in the JSON
    /// answer.
    Web {
        /// The URL.
        url: String,
        /// Where the number is, e.g. `$.errors.rate`.
        json_path: String,
    },
}

impl AnalysisSource {
    /// The query or URL, as the event log shows it.
    pub fn describe(&self) -> String {
        match self {
            Self::Prometheus { query, .. } => query.clone(),
            Self::Web { url, json_path } => format!("GET {url} {json_path}"),
        }
    }

    /// This source with its template variables replaced by `vars`. Values
    /// put into a URL are percent-encoded.
    pub fn render(&self, vars: &TemplateVars) -> Self {
        match self {
            Self::Prometheus { url, query } => Self::Prometheus {
                url: url.clone(),
                query: render(query, vars, false),
            },
            Self::Web { url, json_path } => Self::Web {
                url: render(url, vars, true),
                json_path: json_path.clone(),
            },
        }
    }
}

/// How a value is compared with a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// value < threshold
    Lt,
    /// value <= threshold
    Le,
    /// value > threshold
    Gt,
    /// value >= threshold
    Ge,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// When a value passes: `value <op> threshold`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PassCondition {
    /// The comparison.
    pub op: Comparison,
    /// The threshold.
    pub threshold: f64,
}

impl fmt::Display for PassCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.symbol(), self.threshold)
    }
}

/// Values from `min` to `max` (both included) are inconclusive.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ValueRange {
    /// Lowest inconclusive value.
    pub min: f64,
    /// Highest inconclusive value.
    pub max: f64,
}

/// One metric check of a deployment's health criteria.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AnalysisCheck {
    /// Its name, unique in the deployment (`error-rate`).
    pub name: ShortName,
    /// Where its value comes from.
    pub source: AnalysisSource,
    /// When a value passes.
    pub pass: PassCondition,
    /// Seconds between runs during a step (at least 1).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Failed runs a step tolerates; one more fails it.
    #[serde(default)]
    pub failure_limit: u32,
    /// Values that are neither a pass nor a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<ValueRange>,
}

fn default_interval() -> u64 {
    30
}

impl AnalysisCheck {
    /// A check `name` of `source` that passes when `pass` holds, every
    /// 30 s, failing the step at its first failure.
    pub fn new(name: ShortName, source: AnalysisSource, pass: PassCondition) -> Self {
        Self {
            name,
            source,
            pass,
            interval_secs: default_interval(),
            failure_limit: 0,
            inconclusive: None,
        }
    }

    /// Refuse what cannot run, naming the field.
    pub fn validate(&self) -> Result<()> {
        if !self.pass.threshold.is_finite() {
            return Err(Error::invalid("pass.threshold", "must be a finite number"));
        }
        if self.interval_secs == 0 || self.interval_secs > 3600 {
            return Err(Error::invalid(
                "interval_secs",
                format!("{} is outside 1..=3600", self.interval_secs),
            ));
        }
        if let Some(r) = &self.inconclusive
            && !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max)
        {
            return Err(Error::invalid(
                "inconclusive",
                format!("min {} and max {} must be finite, min <= max", r.min, r.max),
            ));
        }
        let (fields, url): (Vec<(&str, &str)>, Option<&str>) = match &self.source {
            AnalysisSource::Prometheus { url, query } => {
                (vec![("source.query", query.as_str())], url.as_deref())
            }
            AnalysisSource::Web { url, json_path } => {
                if !json_path.starts_with('$') {
                    return Err(Error::invalid(
                        "source.json_path",
                        format!("{json_path:?} must start with $ (RFC 9535)"),
                    ));
                }
                (vec![("source.url", url.as_str())], Some(url.as_str()))
            }
        };
        if let Some(url) = url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::invalid(
                "source.url",
                format!("{url:?} must start with http:// or https://"),
            ));
        }
        for (field, text) in fields {
            if text.trim().is_empty() {
                return Err(Error::invalid(field, "must not be empty"));
            }
            check_template(text).map_err(|reason| Error::invalid(field, reason))?;
        }
        Ok(())
    }

    /// Judge `value` (`None`: the source had no data).
    pub fn judge(&self, value: Option<f64>) -> (AnalysisVerdict, String) {
        let Some(v) = value.filter(|v| !v.is_nan()) else {
            return (
                AnalysisVerdict::Inconclusive,
                "no value (no data, or not a number)".into(),
            );
        };
        if let Some(r) = &self.inconclusive
            && (r.min..=r.max).contains(&v)
        {
            return (
                AnalysisVerdict::Inconclusive,
                format!("{v} is in the inconclusive range {}..={}", r.min, r.max),
            );
        }
        if self.pass.op.holds(v, self.pass.threshold) {
            (AnalysisVerdict::Pass, format!("{v} {}", self.pass))
        } else {
            (AnalysisVerdict::Fail, format!("{v} is not {}", self.pass))
        }
    }
}

/// Refuse analysis checks with repeated names, or one that is invalid
/// (the field named `analysis[i].field`).
pub fn validate_checks(checks: &[AnalysisCheck]) -> Result<()> {
    let mut names = BTreeSet::new();
    for (i, c) in checks.iter().enumerate() {
        c.validate()
            .map_err(|e| e.within(&format!("analysis[{i}]")))?;
        if !names.insert(c.name.as_str()) {
            return Err(Error::invalid(
                format!("analysis[{i}].name"),
                format!("{} is the name of an earlier check", c.name),
            ));
        }
    }
    Ok(())
}

/// What one run of a check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnalysisVerdict {
    /// The value passed.
    Pass,
    /// The value failed.
    Fail,
    /// No value, an unreachable source, or a value in the inconclusive
    /// range.
    Inconclusive,
}

/// One run of a check, as its event records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AnalysisResult {
    /// The check.
    pub check: ShortName,
    /// The query (or `GET url json_path`) as run.
    pub query: String,
    /// The value read, if any.
    pub value: Option<f64>,
    /// The verdict.
    pub verdict: AnalysisVerdict,
    /// Why: the comparison, or what made it inconclusive.
    pub reason: String,
}

impl AnalysisResult {
    /// A result of `check` on `query`.
    pub fn new(
        check: ShortName,
        query: String,
        value: Option<f64>,
        verdict: AnalysisVerdict,
        reason: String,
    ) -> Self {
        Self {
            check,
            query,
            value,
            verdict,
            reason,
        }
    }
}

/// How one check has fared in the current step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[non_exhaustive]
pub struct AnalysisProgress {
    /// The check's name.
    pub check: String,
    /// Runs so far.
    pub runs: u32,
    /// Failed runs.
    pub failures: u32,
    /// Passed runs.
    pub passes: u32,
    /// When it last ran.
    pub last_run_at: Option<DateTime<Utc>>,
    /// What its last run concluded, and why.
    pub last: String,
}

/// The values of the [`TEMPLATE_VARIABLES`] for one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TemplateVars {
    /// `module`
    pub module: String,
    /// `version`: the new version.
    pub version: String,
    /// `stable_version`: the old one (empty for a first deployment).
    pub stable_version: String,
    /// `region`: the region a regional rollout is in (empty otherwise).
    pub region: String,
    /// `window`: the step so far as a PromQL duration (`45s`).
    pub window: String,
    /// `deployment`: its id.
    pub deployment: String,
    /// `step`: its number, from 1.
    pub step: String,
}

impl TemplateVars {
    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "module" => &self.module,
            "version" => &self.version,
            "stable_version" => &self.stable_version,
            "region" => &self.region,
            "window" => &self.window,
            "deployment" => &self.deployment,
            "step" => &self.step,
            _ => return None,
        })
    }
}

/// Every `{{name}}` in `text` must be a known variable.
fn check_template(text: &str) -> std::result::Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "{{{{ at byte {} is never closed",
                text.len() - rest.len() + open
            )
        })?;
        let name = after[..close].trim();
        if !TEMPLATE_VARIABLES.contains(&name) {
            return Err(format!(
                "{{{{{name}}}}} is not a variable; known: {}",
                TEMPLATE_VARIABLES.join(", ")
            ));
        }
        rest = &after[close + 2..];
    }
    Ok(())
}

fn render(text: &str, vars: &TemplateVars, encode: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let value = vars.get(after[..close].trim()).unwrap_or_default();
        if encode {
            for b in value.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        out.push(b as char)
                    }
                    _ => out.push_str(&format!("%{b:02X}")),
                }
            }
        } else {
            out.push_str(value);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The OpenAPI pattern and the parser accept the same names.
        #[test]
        fn short_names_are_exactly_their_pattern(
            from_pattern in proptest::string::string_regex("[a-z][a-z0-9]*(-[a-z0-9]+)*").unwrap(),
            any_text in "[a-z0-9A-Z_ -]{0,70}",
        ) {
            let pattern = regex::Regex::new(SHORT_NAME_PATTERN).unwrap();
            if from_pattern.len() <= MAX_SHORT_NAME_LEN {
                prop_assert!(ShortName::new(from_pattern.clone()).is_ok(), "{from_pattern:?}");
            }
            let schema_ok = pattern.is_match(&any_text) && any_text.len() <= MAX_SHORT_NAME_LEN;
            prop_assert_eq!(ShortName::new(any_text.clone()).is_ok(), schema_ok, "{:?}", any_text);
        }
    }

    fn check(query: &str) -> AnalysisCheck {
        AnalysisCheck::new(
            ShortName::new("error-rate").unwrap(),
            AnalysisSource::Prometheus {
                url: None,
                query: query.into(),
            },
            PassCondition {
                op: Comparison::Lt,
                threshold: 0.05,
            },
        )
    }

    #[test]
    fn templates_name_only_known_variables_and_render_them() {
        let c = check(r#"rate(x{module="{{module}}",version="{{ version }}"}[{{window}}])"#);
        c.validate().unwrap();
        let vars = TemplateVars {
            module: "calc".into(),
            version: "2.0.0+b1".into(),
            window: "45s".into(),
            ..TemplateVars::default()
        };
        assert_eq!(
            c.source.render(&vars).describe(),
            r#"rate(x{module="calc",version="2.0.0+b1"}[45s])"#
        );
        let web = AnalysisSource::Web {
            url: "http://h/v?version={{version}}".into(),
            json_path: "$.x".into(),
        };
        assert_eq!(
            web.render(&vars).describe(),
            "GET http://h/v?version=2.0.0%2Bb1 $.x"
        );
        let e = check("up{x=\"{{nope}}\"}").validate().unwrap_err();
        assert!(e.to_string().contains("{{nope}} is not a variable"), "{e}");
        let e = check("up {{module").validate().unwrap_err();
        assert!(e.to_string().contains("never closed"), "{e}");
    }

    #[test]
    fn values_pass_fail_or_are_inconclusive() {
        let mut c = check("q");
        assert_eq!(c.judge(Some(0.01)).0, AnalysisVerdict::Pass);
        let (v, why) = c.judge(Some(0.2));
        assert_eq!(
            (v, why.as_str()),
            (AnalysisVerdict::Fail, "0.2 is not < 0.05")
        );
        assert_eq!(c.judge(None).0, AnalysisVerdict::Inconclusive);
        assert_eq!(c.judge(Some(f64::NAN)).0, AnalysisVerdict::Inconclusive);
        c.inconclusive = Some(ValueRange {
            min: 0.04,
            max: 0.06,
        });
        assert_eq!(c.judge(Some(0.05)).0, AnalysisVerdict::Inconclusive);
        assert_eq!(c.judge(Some(0.07)).0, AnalysisVerdict::Fail);
    }

    #[test]
    fn bad_checks_are_refused_by_field() {
        let mut c = check("q");
        c.interval_secs = 0;
        let e = validate_checks(&[c]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid analysis[0].interval_secs"),
            "{e}"
        );
        let e = validate_checks(&[check("q"), check("r")]).unwrap_err();
        assert!(e.to_string().starts_with("invalid analysis[1].name"), "{e}");
        let mut web = check("q");
        web.source = AnalysisSource::Web {
            url: "ftp://x".into(),
            json_path: "$.a".into(),
        };
        assert!(
            web.validate()
                .unwrap_err()
                .to_string()
                .contains("source.url")
        );
        assert!(ShortName::new("Bad_Name").is_err());
        assert!(ShortName::new("a--b").is_err());
        assert!(ShortName::new("ok-2").is_ok());
    }
}

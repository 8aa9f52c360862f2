//! What a call to a wasm function takes and gives back.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::domain::{Int64Json, Value, ValuePath, ValueType};
use crate::error::{Error, Result};

/// The root every argument's position is named from.
const ARGUMENTS: ValuePath<'static> = ValuePath::Root("arguments");

/// One parameter of an exported function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Its name (`p0`, `p1`, ... for core functions, which have none).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ValueType,
}

/// The signature of an exported function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSignature {
    /// The export name (for component interfaces, `interface#function`).
    pub name: String,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// Results in order.
    pub results: Vec<ValueType>,
}

impl FunctionSignature {
    /// Map JSON call arguments onto the parameters: an array is positional,
    /// an object names parameters, `null` stands for no arguments, and a
    /// lone non-array value is the single argument of a one-parameter
    /// function. Errors name `arguments[i]` or `arguments.name`.
    pub fn args_from_json(&self, json: &Json) -> Result<Vec<Value>> {
        let count_error = |got: usize| {
            Error::invalid(
                "arguments",
                format!(
                    "{} takes {} argument{}, got {got}",
                    self.name,
                    self.params.len(),
                    if self.params.len() == 1 { "" } else { "s" }
                ),
            )
        };
        match json {
            Json::Null if self.params.is_empty() => Ok(Vec::new()),
            Json::Array(items) => {
                if items.len() != self.params.len() {
                    return Err(count_error(items.len()));
                }
                items
                    .iter()
                    .zip(&self.params)
                    .enumerate()
                    .map(|(i, (j, p))| {
                        Value::from_json_at(j, &p.ty, &ValuePath::Index(&ARGUMENTS, i))
                    })
                    .collect()
            }
            Json::Object(map) if !self.takes_single_record() => {
                if let Some(unknown) = map
                    .keys()
                    .find(|k| !self.params.iter().any(|p| &p.name == *k))
                {
                    return Err(Error::invalid(
                        format!("arguments.{unknown}"),
                        format!("{} has no parameter named {unknown:?}", self.name),
                    ));
                }
                self.params
                    .iter()
                    .map(|p| {
                        let path = ValuePath::Field(&ARGUMENTS, &p.name);
                        match map.get(&p.name) {
                            Some(j) => Value::from_json_at(j, &p.ty, &path),
                            None if matches!(p.ty, ValueType::Option(_)) => Ok(Value::Option(None)),
                            None => Err(Error::invalid(path.to_string(), "missing argument")),
                        }
                    })
                    .collect()
            }
            single if self.params.len() == 1 => Ok(vec![Value::from_json(
                single,
                &self.params[0].ty,
                "arguments[0]",
            )?]),
            Json::Null => Err(count_error(0)),
            _ => Err(count_error(1)),
        }
    }

    /// Check already-built values against the parameters.
    pub fn check_args(&self, args: &[Value]) -> Result<()> {
        if args.len() != self.params.len() {
            return Err(Error::invalid(
                "arguments",
                format!(
                    "{} takes {} arguments, got {}",
                    self.name,
                    self.params.len(),
                    args.len()
                ),
            ));
        }
        for (i, (a, p)) in args.iter().zip(&self.params).enumerate() {
            if !a.has_type(&p.ty) {
                a.check(&p.ty, &ValuePath::Index(&ARGUMENTS, i).to_string())?;
            }
        }
        Ok(())
    }

    /// A single record parameter takes its object directly.
    fn takes_single_record(&self) -> bool {
        matches!(self.params.as_slice(), [p] if matches!(p.ty, ValueType::Record(_)))
    }
}

/// The input of one call.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CallInput {
    /// Typed values.
    Values(Vec<Value>),
    /// JSON mapped onto the function's parameters
    /// (see [`FunctionSignature::args_from_json`]).
    Json(Json),
    /// Bytes on stdin of a WASI command (`_start` / `wasi:cli/run`).
    Stdin(Bytes),
}

/// One call of an exported function.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Invocation {
    /// The function to call; for WASI commands `_start` (core) or
    /// `wasi:cli/run#run` (component). A `&'static str` name is used as is,
    /// without allocating.
    pub function: Cow<'static, str>,
    /// Its input.
    pub input: CallInput,
    /// Environment variables for WASI calls, filtered by the host's
    /// allowlist.
    pub env: Vec<(String, String)>,
    /// The call is known to run long: run it off the async threads. A
    /// runtime sets this when a first, time-sliced attempt overran (see
    /// [`crate::runtime::kit::FAST_SLICE`]); a caller may set it too.
    pub long_running: bool,
}

impl Invocation {
    /// Call `function` with JSON arguments.
    pub fn json(function: impl Into<Cow<'static, str>>, args: Json) -> Self {
        Self {
            function: function.into(),
            input: CallInput::Json(args),
            env: Vec::new(),
            long_running: false,
        }
    }

    /// Call `function` with typed values.
    pub fn values(function: impl Into<Cow<'static, str>>, args: Vec<Value>) -> Self {
        Self {
            function: function.into(),
            input: CallInput::Values(args),
            env: Vec::new(),
            long_running: false,
        }
    }

    /// Run a WASI command with `stdin`.
    pub fn command(stdin: impl Into<Bytes>) -> Self {
        Self {
            function: "_start".into(),
            input: CallInput::Stdin(stdin.into()),
            env: Vec::new(),
            long_running: false,
        }
    }
}

/// What one call gave back.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CallOutput {
    /// Results of a function call.
    pub values: Vec<Value>,
    /// Stdout of a WASI command.
    pub stdout: Bytes,
    /// Stderr of a WASI command.
    pub stderr: Bytes,
    /// Exit code of a WASI command (0 for success).
    pub exit_code: Option<i32>,
    /// Fuel used, when metering is on.
    pub fuel_consumed: Option<u64>,
    /// The results as JSON, when they arrived from another process as
    /// JSON rather than as typed values.
    pub json: Option<Json>,
}

impl CallOutput {
    /// Results of a function call.
    pub fn from_values(values: Vec<Value>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// The results as JSON: `null` for none, the value for one, an array for
    /// several; 64-bit integers as strings.
    pub fn results_json(&self) -> Json {
        self.results_json_with(Int64Json::String)
    }

    /// [`CallOutput::results_json`] with 64-bit integers as `int64` says
    /// (results that arrived as JSON are passed on as they came).
    pub fn results_json_with(&self, int64: Int64Json) -> Json {
        match self.values.as_slice() {
            [] => self.json.clone().unwrap_or(Json::Null),
            [one] => one.to_json_with(int64),
            many => Json::Array(many.iter().map(|v| v.to_json_with(int64)).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add() -> FunctionSignature {
        FunctionSignature {
            name: "add".into(),
            params: vec![
                Param {
                    name: "a".into(),
                    ty: ValueType::S32,
                },
                Param {
                    name: "b".into(),
                    ty: ValueType::S32,
                },
            ],
            results: vec![ValueType::S32],
        }
    }

    #[test]
    fn positional_named_and_wrong_arguments() {
        let sig = add();
        assert_eq!(
            sig.args_from_json(&json!([1, 2])).unwrap(),
            vec![Value::S32(1), Value::S32(2)]
        );
        assert_eq!(
            sig.args_from_json(&json!({"b": 2, "a": 1})).unwrap(),
            vec![Value::S32(1), Value::S32(2)]
        );
        assert_eq!(
            sig.args_from_json(&json!([1])).unwrap_err().to_string(),
            "invalid arguments: add takes 2 arguments, got 1"
        );
        assert_eq!(
            sig.args_from_json(&json!({"a": 1}))
                .unwrap_err()
                .to_string(),
            "invalid arguments.b: missing argument"
        );
        assert!(
            sig.args_from_json(&json!({"a": 1, "b": 2, "c": 3}))
                .unwrap_err()
                .to_string()
                .contains("no parameter named \"c\"")
        );
        assert_eq!(
            sig.args_from_json(&json!([1, "x"]))
                .unwrap_err()
                .to_string(),
            "invalid arguments[1]: expected s32, got string \"x\""
        );
        assert!(sig.check_args(&[Value::S32(1), Value::S64(2)]).is_err());
        let out = CallOutput::from_values(vec![Value::S32(3)]);
        assert_eq!(out.results_json(), json!(3));
    }
}

//! `hotswap call MODULE FUNCTION ARGS...`.

use hotswap_http::wire::ExecuteRequest;
use serde_json::Value as Json;

use super::{client, print_json};
use crate::AppResult;
use crate::cli::CallArgs;

/// The arguments as one JSON value: a single JSON array or object is taken
/// as it is; otherwise each argument is JSON, or a string when it is not.
fn arguments(args: &[String]) -> Json {
    if let [one] = args
        && let Ok(v @ (Json::Array(_) | Json::Object(_))) = serde_json::from_str::<Json>(one)
    {
        return v;
    }
    Json::Array(
        args.iter()
            .map(|a| serde_json::from_str(a).unwrap_or_else(|_| Json::String(a.clone())))
            .collect(),
    )
}

pub(crate) async fn run(a: CallArgs) -> AppResult<()> {
    let req = ExecuteRequest {
        module: a.module,
        function: a.function,
        args: arguments(&a.args),
        version: a.version,
        key: a.key,
        region: a.region,
        stdin: a.stdin,
        ..ExecuteRequest::default()
    };
    let out = client(&a.client)?.execute(&req).await?;
    if a.client.json {
        return print_json(&out);
    }
    if let Some(stdout) = &out.stdout {
        print!("{stdout}");
        if let Some(stderr) = out.stderr.as_deref().filter(|s| !s.is_empty()) {
            eprint!("{stderr}");
        }
    } else {
        println!("{}", out.result);
    }
    eprintln!(
        "(version {} on {}, {})",
        out.version,
        out.node.as_deref().unwrap_or("?"),
        serde_json::to_value(out.reason)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_json_or_strings() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(arguments(&s(&["2", "3"])), serde_json::json!([2, 3]));
        assert_eq!(arguments(&s(&["[2,3]"])), serde_json::json!([2, 3]));
        assert_eq!(arguments(&s(&["{\"a\":1}"])), serde_json::json!({"a": 1}));
        assert_eq!(
            arguments(&s(&["hello", "4"])),
            serde_json::json!(["hello", 4])
        );
        assert_eq!(arguments(&[]), serde_json::json!([]));
    }
}

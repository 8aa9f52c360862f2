//! Conformance suite for [`RuntimeHost`]: load, invoke, every distinct
//! error, limits, WASI, components and concurrency. Behaviours that need a
//! capability the runtime lacks print which one and return.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotswap_core::Error;
use hotswap_core::domain::{Digest, ModuleKind, ResourceLimits, Value, WasiVersion};
use hotswap_core::runtime::{CompiledModule, Invocation, InvokeNow, ModuleSource, RuntimeHost};
use serde_json::json;

use crate::fixtures;
use hotswap_core::ResourceKind;

/// A runtime under test, with what the suite needs to know about it. The
/// runtime must let WASI calls see `HOTSWAP_ALLOWED` and nothing else.
pub struct RuntimeHarness {
    /// The runtime.
    pub runtime: Arc<dyn RuntimeHost>,
    /// How many calls may wait for a busy version before the next is
    /// refused with `LimitExceeded`.
    pub queue_capacity: u32,
    /// The granularity of timeout interruption (the epoch tick).
    pub tick: Duration,
    /// The cap on a WASI call's stdout (at least 200,000 bytes, which the
    /// echo tests pass through).
    pub max_output_bytes: usize,
}

/// Scheduling slack allowed on top of the runtime's own bound when a test
/// checks how soon a timeout fires (CI machines are shared and noisy).
const SLACK: Duration = Duration::from_millis(400);

pub(crate) async fn load(
    rt: &dyn RuntimeHost,
    bytes: Vec<u8>,
    limits: ResourceLimits,
) -> Arc<dyn CompiledModule> {
    rt.compile(ModuleSource::new(bytes).with_limits(limits))
        .await
        .expect("fixture compiles")
}

fn skip(capability: &str) {
    println!("skipped: the runtime lacks the capability `{capability}`");
}

/// Whether the runtime lacks WASI preview 1 (saying so when it does).
fn lacks_wasi_p1(h: &RuntimeHarness) -> bool {
    let lacks = !h
        .runtime
        .capabilities()
        .wasi
        .contains(&WasiVersion::Preview1);
    if lacks {
        skip("wasi preview1");
    }
    lacks
}

/// Calling `add` of the numeric fixture with JSON and with values; the
/// signatures are listed; results map back to JSON.
pub async fn core_functions_take_json_and_values(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::numeric(7), ResourceLimits::default()).await;
    assert_eq!(m.kind(), ModuleKind::Core);
    assert_eq!(m.digest(), Digest::of(&fixtures::numeric(7)));
    let names: Vec<_> = m.functions().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["add", "add_i64", "mul_f64", "version", "slow", "bump"]
    );
    let out = m
        .invoke(Invocation::json("add", json!([2, 3])))
        .await
        .expect("add");
    assert_eq!(out.results_json(), json!(5));
    let out = m
        .invoke(Invocation::json("add", json!({"p0": -7, "p1": 3})))
        .await
        .expect("add by name");
    assert_eq!(out.results_json(), json!(-4));
    let big = json!([i64::MAX - 1, 1]);
    assert_eq!(
        m.invoke(Invocation::json("add_i64", big))
            .await
            .expect("add_i64")
            .results_json(),
        json!(i64::MAX.to_string())
    );
    let out = m
        .invoke(Invocation::values(
            "mul_f64",
            vec![Value::F64(1.5), Value::F64(-4.0)],
        ))
        .await
        .expect("mul");
    assert_eq!(out.values, vec![Value::F64(-6.0)]);
    assert_eq!(
        m.invoke(Invocation::json("version", json!(null)))
            .await
            .expect("version")
            .results_json(),
        json!(7)
    );
}

/// Every call gets a fresh instance: a global bumped by each call reads 1.
pub async fn calls_get_fresh_instances(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::numeric(1), ResourceLimits::default()).await;
    let calls: Vec<_> = (0..16)
        .map(|_| m.invoke(Invocation::json("bump", json!([]))))
        .collect();
    for out in futures::future::join_all(calls).await {
        assert_eq!(out.expect("bump").results_json(), json!(1));
    }
}

/// An unknown function is `NotFound` naming it.
pub async fn unknown_function_is_not_found(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::numeric(1), ResourceLimits::default()).await;
    let e = m
        .invoke(Invocation::json("subtract", json!([1, 2])))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { kind: ResourceKind::Function, id } if id == "subtract"),
        "{e}"
    );
}

/// Function tables and data segments work, under a memory limit too: an
/// indirect call reaches its entry, one past the table traps, and the data
/// is in memory.
pub async fn tables_and_data_segments_work(h: &RuntimeHarness) {
    let limits = ResourceLimits::default().with_max_memory_bytes(1024 * 1024);
    let m = load(&*h.runtime, fixtures::table_and_data(), limits).await;
    for (i, want) in [(0, 10), (1, 20)] {
        let out = m
            .invoke(Invocation::json("pick", json!([i])))
            .await
            .expect("pick");
        assert_eq!(out.results_json(), json!(want));
    }
    let e = m
        .invoke(Invocation::json("pick", json!([2])))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e}");
    let mut bytes = Vec::new();
    for i in 0..7 {
        let out = m
            .invoke(Invocation::json("byte", json!([i])))
            .await
            .expect("byte");
        bytes.push(out.results_json().as_u64().expect("a number"));
    }
    assert_eq!(bytes, b"hotswap".map(u64::from));
}

/// Wrong argument counts and types are `Invalid` naming the argument; the
/// module keeps serving.
pub async fn wrong_arguments_are_invalid(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::numeric(1), ResourceLimits::default()).await;
    let e = m
        .invoke(Invocation::json("add", json!([1])))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid arguments: add takes 2 arguments, got 1"
    );
    let e = m
        .invoke(Invocation::json("add", json!([1, "two"])))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid arguments[1]: expected i32, got string \"two\""
    );
    let e = m
        .invoke(Invocation::json("add", json!([1, 4294967296u64])))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("out of range for i32"), "{e}");
    let e = m
        .invoke(Invocation::values(
            "add",
            vec![Value::S32(1), Value::S64(2)],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "arguments[1]"),
        "{e}"
    );
    let e = m.invoke(Invocation::command("stdin")).await.unwrap_err();
    assert!(
        matches!(e, Error::NotFound { .. } | Error::Invalid { .. }),
        "{e}"
    );
    assert_eq!(
        m.invoke(Invocation::json("add", json!([1, 1])))
            .await
            .expect("still serving")
            .results_json(),
        json!(2)
    );
}

/// A trap is `Trap` with the message and the wasm backtrace; the module
/// keeps serving.
pub async fn traps_carry_a_backtrace(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::trapping(), ResourceLimits::default()).await;
    match m
        .invoke(Invocation::json("trap", json!([])))
        .await
        .unwrap_err()
    {
        Error::Trap { message, backtrace } => {
            assert!(message.contains("unreachable"), "{message}");
            let bt = backtrace.expect("a wasm backtrace");
            assert!(bt.lines().count() >= 2, "two frames expected:\n{bt}");
        }
        e => panic!("expected a trap, got {e}"),
    }
    match m
        .invoke(Invocation::json("div", json!([1, 0])))
        .await
        .unwrap_err()
    {
        Error::Trap { message, .. } => assert!(message.contains("divide by zero"), "{message}"),
        e => panic!("expected a trap, got {e}"),
    }
    assert_eq!(
        m.invoke(Invocation::json("div", json!([6, 3])))
            .await
            .expect("still serving")
            .results_json(),
        json!(2)
    );
}

/// The infinite loop ends with `Timeout` no sooner than the timeout and
/// within the timeout plus two ticks (plus scheduling slack).
pub async fn timeouts_interrupt_infinite_loops(h: &RuntimeHarness) {
    if !h.runtime.capabilities().timeouts {
        return skip("timeouts");
    }
    let timeout = Duration::from_millis(200);
    let m = load(
        &*h.runtime,
        fixtures::infinite_loop(),
        ResourceLimits::default().with_timeout(timeout),
    )
    .await;
    let start = Instant::now();
    let e = m
        .invoke(Invocation::json("spin", json!([])))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(e, Error::Timeout { after } if after == timeout),
        "{e}"
    );
    assert!(took >= timeout, "interrupted early, after {took:?}");
    assert!(
        took <= timeout + 2 * h.tick + SLACK,
        "interrupted late, after {took:?}"
    );
    let other = load(&*h.runtime, fixtures::numeric(1), ResourceLimits::default()).await;
    other
        .invoke(Invocation::json("add", json!([1, 2])))
        .await
        .expect("still serving");
}

/// A CPU budget ends the loop with `FuelExhausted`; successful calls report
/// the fuel they used.
pub async fn fuel_budgets_are_enforced(h: &RuntimeHarness) {
    if !h.runtime.capabilities().fuel {
        return skip("fuel");
    }
    let limits = ResourceLimits::default().with_fuel(Some(100_000));
    let m = load(&*h.runtime, fixtures::infinite_loop(), limits).await;
    let e = m
        .invoke(Invocation::json("spin", json!([])))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::FuelExhausted { budget: 100_000 }), "{e}");
    let n = load(&*h.runtime, fixtures::numeric(1), limits).await;
    let out = n
        .invoke(Invocation::json("add", json!([1, 2])))
        .await
        .expect("add");
    let used = out.fuel_consumed.expect("fuel is reported");
    assert!(used > 0 && used < 100_000, "{used}");
}

/// Growing memory past the limit is `MemoryLimitExceeded`; within it works.
pub async fn memory_limits_are_enforced(h: &RuntimeHarness) {
    let limits = ResourceLimits::default().with_max_memory_bytes(2 * 1024 * 1024);
    let m = load(&*h.runtime, fixtures::memory_hog(), limits).await;
    let out = m
        .invoke(Invocation::json("hog", json!([16])))
        .await
        .expect("within the limit");
    assert_eq!(out.results_json(), json!(17));
    let e = m
        .invoke(Invocation::json("hog", json!([100])))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::MemoryLimitExceeded { limit_bytes } if limit_bytes == 2 * 1024 * 1024),
        "{e}"
    );
    m.invoke(Invocation::json("hog", json!([1])))
        .await
        .expect("still serving");
}

/// A module whose memory starts larger than the limit fails every call
/// with `MemoryLimitExceeded`, not with a trap or an internal error.
pub async fn memory_starting_above_the_limit_is_refused(h: &RuntimeHarness) {
    let limits = ResourceLimits::default().with_max_memory_bytes(2 * 1024 * 1024);
    let e = match h
        .runtime
        .compile(ModuleSource::new(fixtures::large_initial_memory(64)).with_limits(limits))
        .await
    {
        Ok(m) => m
            .invoke(Invocation::json("pages", json!([])))
            .await
            .unwrap_err(),
        Err(e) => e,
    };
    assert!(
        matches!(e, Error::MemoryLimitExceeded { limit_bytes } if limit_bytes == 2 * 1024 * 1024),
        "{e}"
    );
    let m = load(
        &*h.runtime,
        fixtures::large_initial_memory(16),
        ResourceLimits::default().with_max_memory_bytes(2 * 1024 * 1024),
    )
    .await;
    let out = m
        .invoke(Invocation::json("pages", json!([])))
        .await
        .expect("16 pages fit in 2 MiB");
    assert_eq!(out.results_json(), json!(16));
}

/// Bytes that do not match their digest, or are not wasm, are refused.
pub async fn bad_bytes_are_refused(h: &RuntimeHarness) {
    let mut source = ModuleSource::new(fixtures::numeric(1));
    source.digest = Digest::of(b"something else");
    let e = h.runtime.compile(source).await.unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    let e = h
        .runtime
        .compile(ModuleSource::new(b"not wasm at all".to_vec()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "wasm"),
        "{e}"
    );
    let bad_limits = ResourceLimits::default().with_max_concurrent_instances(0);
    let e = h
        .runtime
        .compile(ModuleSource::new(fixtures::numeric(1)).with_limits(bad_limits))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "limits.max_concurrent_instances"),
        "{e}"
    );
}

/// A WASI preview 1 command gets stdin and its stdout comes back.
pub async fn wasi_commands_echo_stdin(h: &RuntimeHarness) {
    if lacks_wasi_p1(h) {
        return;
    }
    echoes_stdin(&*h.runtime, fixtures::wasi_echo(), 200_000).await;
}

/// Load an echo command and check that `len` bytes, and then none, come
/// back on stdout with exit code 0.
async fn echoes_stdin(rt: &dyn RuntimeHost, echo: Vec<u8>, len: u32) {
    let m = load(rt, echo, ResourceLimits::default()).await;
    let input: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
    for input in [input, Vec::new()] {
        let out = m
            .invoke(Invocation::command(input.clone()))
            .await
            .expect("echo");
        assert_eq!(out.exit_code, Some(0));
        assert!(
            out.stdout == input,
            "stdout differs from stdin ({} vs {} bytes)",
            out.stdout.len(),
            input.len()
        );
    }
}

/// A WASI command's output is kept up to the cap; a write past it is
/// refused (the echo fixture then traps), and the runtime keeps serving.
pub async fn wasi_output_past_the_cap_fails_the_call(h: &RuntimeHarness) {
    if lacks_wasi_p1(h) {
        return;
    }
    let m = load(
        &*h.runtime,
        fixtures::wasi_echo(),
        ResourceLimits::default(),
    )
    .await;
    let at_cap = m
        .invoke(Invocation::command(vec![b'x'; h.max_output_bytes]))
        .await
        .expect("output up to the cap is kept");
    assert_eq!(at_cap.stdout.len(), h.max_output_bytes);
    let past = m
        .invoke(Invocation::command(vec![b'x'; h.max_output_bytes + 1]))
        .await;
    assert!(matches!(past, Err(Error::Trap { .. })), "{past:?}");
    let out = m
        .invoke(Invocation::command(b"still here".to_vec()))
        .await
        .expect("echo");
    assert_eq!(&out.stdout[..], b"still here");
}

/// A WASI call sees only the environment variables the harness allows
/// (`HOTSWAP_ALLOWED`), never the others it is given.
pub async fn wasi_environment_is_filtered(h: &RuntimeHarness) {
    if lacks_wasi_p1(h) {
        return;
    }
    let m = load(&*h.runtime, fixtures::wasi_env(), ResourceLimits::default()).await;
    let mut call = Invocation::command(Vec::new());
    call.env = vec![
        ("HOTSWAP_ALLOWED".into(), "yes".into()),
        ("SECRET_TOKEN".into(), "hunter2".into()),
    ];
    let out = m.invoke(call).await.expect("env");
    assert_eq!(&out.stdout[..], b"HOTSWAP_ALLOWED=yes\0");
}

/// A WASI command gets its version's configuration as environment, ahead
/// of the allowed variables of the call, which cannot shadow a key.
pub async fn wasi_commands_get_their_configuration(h: &RuntimeHarness) {
    use hotswap_core::domain::{ConfigKey, ConfigValues, SecretValue};
    if lacks_wasi_p1(h) {
        return;
    }
    let entries = [("HOTSWAP_ALLOWED", "from config"), ("mode", "fast")]
        .into_iter()
        .map(|(k, v)| (ConfigKey::new(k).expect("a key"), SecretValue::new(v)))
        .collect();
    let source = ModuleSource::new(fixtures::wasi_env()).with_config(ConfigValues::new(1, entries));
    let m = h.runtime.compile(source).await.expect("fixture compiles");
    let mut call = Invocation::command(Vec::new());
    call.env = vec![("HOTSWAP_ALLOWED".into(), "from the caller".into())];
    let out = m.invoke(call).await.expect("env");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "HOTSWAP_ALLOWED=from config\0mode=fast\0"
    );
}

/// A WASI 0.2 component runs with the WASI linker and sees only the
/// allowed environment.
pub async fn wasi_p2_components_see_the_allowed_environment(h: &RuntimeHarness) {
    let caps = h.runtime.capabilities();
    if !caps.components || !caps.wasi.contains(&WasiVersion::Preview2) {
        return skip("components with wasi 0.2");
    }
    let m = load(
        &*h.runtime,
        fixtures::wasi_p2_component(),
        ResourceLimits::default(),
    )
    .await;
    let mut call = Invocation::json("count", json!([]));
    call.env = vec![
        ("HOTSWAP_ALLOWED".into(), "yes".into()),
        ("SECRET_TOKEN".into(), "hunter2".into()),
    ];
    let out = m.invoke(call).await.expect("count");
    assert_eq!(out.results_json(), json!(1));
}

/// A WASI 0.2 command (`wasi:cli/run`) is called as `_start` like a
/// preview 1 one: stdin in, stdout out, exit code 0.
pub async fn wasi_p2_commands_echo_stdin(h: &RuntimeHarness) {
    let caps = h.runtime.capabilities();
    if !caps.components || !caps.wasi.contains(&WasiVersion::Preview2) {
        return skip("components with wasi 0.2");
    }
    echoes_stdin(&*h.runtime, fixtures::wasi_p2_echo(), 100_000).await;
}

/// Component functions take and return strings and records as JSON.
pub async fn components_map_strings_and_records(h: &RuntimeHarness) {
    if !h.runtime.capabilities().components {
        let e = h
            .runtime
            .compile(ModuleSource::new(fixtures::component("hi ")))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("component"),
            "a component must be refused clearly: {e}"
        );
        return skip("components");
    }
    let m = load(
        &*h.runtime,
        fixtures::component("hello, "),
        ResourceLimits::default(),
    )
    .await;
    assert_eq!(m.kind(), ModuleKind::Component);
    let greet = format!("{}#greet", fixtures::COMPONENT_INTERFACE);
    let swap = format!("{}#swap", fixtures::COMPONENT_INTERFACE);
    let sig = m
        .functions()
        .iter()
        .find(|f| f.name == greet)
        .expect("greet is listed");
    assert_eq!(sig.params[0].name, "name");
    let out = m
        .invoke(Invocation::json(greet.clone(), json!(["world"])))
        .await
        .expect("greet");
    assert_eq!(out.results_json(), json!("hello, world"));
    let out = m
        .invoke(Invocation::json(
            greet.clone(),
            json!({"name": "ünïcode ✓"}),
        ))
        .await
        .expect("greet by name");
    assert_eq!(out.results_json(), json!("hello, ünïcode ✓"));
    let out = m
        .invoke(Invocation::json(swap.clone(), json!([{"x": 1, "y": -2}])))
        .await
        .expect("swap");
    assert_eq!(out.results_json(), json!({"x": -2, "y": 1}));
    let e = m
        .invoke(Invocation::json(swap.clone(), json!([{"x": 1}])))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "invalid arguments[0].y: missing field");
    let e = m
        .invoke(Invocation::json("greet", json!(["x"])))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

/// Calls beyond a version's instance limit wait; beyond the queue they are
/// refused at once with `LimitExceeded`; waiters run when slots free up.
pub async fn over_capacity_calls_queue_then_are_refused(h: &RuntimeHarness) {
    let limits = ResourceLimits::default()
        .with_max_concurrent_instances(1)
        .with_timeout(Duration::from_millis(150));
    let m = load(&*h.runtime, fixtures::infinite_loop(), limits).await;
    let calls = h.queue_capacity as usize + 2;
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.invoke(Invocation::json("spin", json!([]))).await })
        })
        .collect();
    let (mut timeouts, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Err(Error::Timeout { .. }) => timeouts += 1,
            Err(Error::LimitExceeded { .. }) => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(
        (timeouts, refused),
        (calls - 1, 1),
        "one runs, the queue waits, one is refused"
    );
}

/// `invoke_now` gives what `invoke` gives (results and errors alike), and
/// hands a call back untouched instead of waiting while the version is busy.
pub async fn invoke_now_matches_invoke_and_never_waits(h: &RuntimeHarness) {
    let m = load(&*h.runtime, fixtures::numeric(4), ResourceLimits::default()).await;
    let calls = [
        Invocation::json("add", json!([2, 3])),
        Invocation::values("mul_f64", vec![Value::F64(1.5), Value::F64(4.0)]),
        Invocation::json("version", json!(null)),
        Invocation::json("nope", json!([])),
        Invocation::json("add", json!([1])),
        Invocation::values("add", vec![Value::S32(1), Value::S64(2)]),
    ];
    for call in calls {
        let now = m.invoke_now(call.clone()).finish(&*m).await;
        let later = m.invoke(call.clone()).await;
        match (now, later) {
            (Ok(a), Ok(b)) => assert_eq!(a.values, b.values, "{call:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{call:?}"),
            (a, b) => panic!("{call:?}: invoke_now gave {a:?}, invoke gave {b:?}"),
        }
    }

    let limits = ResourceLimits::default()
        .with_max_concurrent_instances(1)
        .with_timeout(Duration::from_secs(3));
    let busy = load(&*h.runtime, fixtures::infinite_loop(), limits).await;
    let holder = {
        let busy = busy.clone();
        tokio::spawn(async move { busy.invoke(Invocation::json("spin", json!([]))).await })
    };
    // Until the holder has its slot, a call may still run (and time out);
    // once it holds it, the call must come back untouched.
    let probe = Invocation::json("spin", json!([]));
    let mut handed_back = false;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        match busy.invoke_now(probe.clone()) {
            InvokeNow::Later(call) => {
                assert_eq!(call, probe, "the call comes back untouched");
                handed_back = true;
                break;
            }
            InvokeNow::Done(outcome) => {
                assert!(matches!(outcome, Err(Error::Timeout { .. })), "{outcome:?}");
            }
        }
    }
    assert!(
        handed_back,
        "invoke_now waited for (or ran past) a busy slot"
    );
    assert!(matches!(
        holder.await.expect("task"),
        Err(Error::Timeout { .. })
    ));
}

/// `precompile` gives an artifact for the engine.
pub async fn precompile_produces_an_artifact(h: &RuntimeHarness) {
    let artifact = h
        .runtime
        .precompile(fixtures::numeric(1).into())
        .await
        .expect("precompile");
    assert!(artifact.len() > 100);
    let e = h
        .runtime
        .precompile(b"nope".to_vec().into())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
}

/// Run every runtime behaviour as its own `#[test]`. `$make` returns a
/// fresh [`RuntimeHarness`] per test.
#[macro_export]
macro_rules! runtime_suite {
    ($make:expr) => {
        mod runtime_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__harness_tests!(
                $make,
                runtime,
                [
                    core_functions_take_json_and_values,
                    calls_get_fresh_instances,
                    unknown_function_is_not_found,
                    wrong_arguments_are_invalid,
                    tables_and_data_segments_work,
                    traps_carry_a_backtrace,
                    timeouts_interrupt_infinite_loops,
                    fuel_budgets_are_enforced,
                    memory_limits_are_enforced,
                    memory_starting_above_the_limit_is_refused,
                    wasi_output_past_the_cap_fails_the_call,
                    bad_bytes_are_refused,
                    wasi_commands_echo_stdin,
                    wasi_environment_is_filtered,
                    wasi_commands_get_their_configuration,
                    components_map_strings_and_records,
                    wasi_p2_components_see_the_allowed_environment,
                    wasi_p2_commands_echo_stdin,
                    over_capacity_calls_queue_then_are_refused,
                    invoke_now_matches_invoke_and_never_waits,
                    precompile_produces_an_artifact,
                ]
            );
            $crate::__harness_tests!(
                $make,
                wasm_values,
                [
                    declared_wasm_features_run,
                    values_keep_their_bits,
                    trap_messages_say_so_once,
                ]
            );
        }
    };
}

//! `wasi:http/incoming-handler` components built at test time from WIT
//! and hand-written core WAT (wit-component), so no test needs a wasm
//! toolchain.
//!
//! The WIT is the part of `wasi:http` and `wasi:io` the handlers use, with
//! the types they touch written out exactly as the WASI 0.2 release
//! defines them, so the components link against wasmtime-wasi-http's full
//! interfaces.

mod reach;

use crate::fixtures::{REALLOC_WAT, component_from};

/// What a fixture handler does with each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// Answer `status` with `body` (`content-type: text/plain`).
    Respond {
        /// The status code.
        status: u16,
        /// The body.
        body: String,
    },
    /// Answer 200 with `prefix`, then copy the request body to the
    /// response as it arrives, chunk by chunk (a streamed echo).
    Echo {
        /// Written before the echoed body.
        prefix: String,
    },
    /// Answer 200 with a line `method scheme authority path-with-query
    /// x-test`, then the request body: method and scheme as the digit of
    /// their WIT case (`get` 0, `post` 2; `HTTP` 0, `HTTPS` 1, none 9),
    /// `x-test` the first value of that request header.
    Reflect,
    /// Read the whole request body, then answer 200 with its length in
    /// decimal.
    Length,
    /// Answer 200 with how many requests this instance has handled, from a
    /// mutable global: always `1` when every request gets a fresh instance.
    Counter,
    /// Trap (`unreachable`) before setting a response.
    Trap,
    /// Return without ever setting a response.
    NoResponse,
    /// Loop forever before setting a response.
    Spin,
    /// Send one outbound request (`wasi:http/outgoing-handler`) to the
    /// `x-scheme` (`http` or `https`), `x-authority` and `x-path` headers
    /// of the incoming request, then answer 200 with `status N ` and the
    /// upstream body (` body-error` if reading it failed), or `error N`
    /// with the case number of the `error-code` (15: `HTTP-request-denied`).
    /// With an `x-repeat: N` header (one digit), it sends N requests in
    /// turn, one line each. Built on the `fetcher` world.
    Fetch,
    /// Open the `wasi:keyvalue` bucket named by `x-bucket` (absent: the
    /// empty identifier), then by `x-op`: `i` increments `x-key` by 1 and
    /// answers `count N`; `s` sets `x-key` to the request body (its first
    /// 4 KiB) and answers `set`; anything else gets it and answers
    /// `value BYTES` or `none`. A refusal answers `error N` with the case
    /// of the interface's `error` (0 `no-such-store`, 1 `access-denied`,
    /// 2 `other`, followed by its text). Built on the `keyvalue` world.
    KeyValue,
    /// Answer 200 with `wasi:config/store`'s value of the `x-key` header:
    /// `value V`, or `none` when the key is unset; without `x-key`, every
    /// key and value from `get-all`, one `key value` line each. Built on
    /// the `config` world.
    Config,
    /// The whole reach of a small application: read the configuration keys
    /// `greeting` and `upstream` (`wasi:config`), count the request in
    /// bucket `counters` key `requests` (`wasi:keyvalue` atomics), then GET
    /// `http://{upstream}/` (`wasi:http/outgoing-handler`) and answer 200
    /// with `{greeting} {count} status N {upstream body}`. A refused or
    /// failed upstream call traps before the response starts, so the
    /// caller gets a server error. Built on the `app` world.
    App,
}

/// The WIT of every fixture handler, for `wasi:http` at `version`
/// (`0.2.0`, `0.2.4`, ...).
pub fn wit(version: &str) -> String {
    format!(
        r#"package hotswap:http-fixture;

world handler {{
  import wasi:http/types@{version};
  export wasi:http/incoming-handler@{version};
}}

world fetcher {{
  import wasi:http/types@{version};
  import wasi:http/outgoing-handler@{version};
  export wasi:http/incoming-handler@{version};
}}

world config {{
  import wasi:http/types@{version};
  import wasi:config/store@0.2.0-rc.1;
  export wasi:http/incoming-handler@{version};
}}

world app {{
  import wasi:http/types@{version};
  import wasi:http/outgoing-handler@{version};
  import wasi:keyvalue/store@0.2.0-draft;
  import wasi:keyvalue/atomics@0.2.0-draft;
  import wasi:config/store@0.2.0-rc.1;
  export wasi:http/incoming-handler@{version};
}}

package wasi:config@0.2.0-rc.1 {{
  interface store {{
    variant error {{
      upstream(string),
      io(string),
    }}
    get: func(key: string) -> result<option<string>, error>;
    get-all: func() -> result<list<tuple<string, string>>, error>;
  }}
}}

world keyvalue {{
  import wasi:http/types@{version};
  import wasi:keyvalue/store@0.2.0-draft;
  import wasi:keyvalue/atomics@0.2.0-draft;
  export wasi:http/incoming-handler@{version};
}}

package wasi:keyvalue@0.2.0-draft {{
  interface store {{
    variant error {{
      no-such-store,
      access-denied,
      other(string),
    }}
    open: func(identifier: string) -> result<bucket, error>;
    resource bucket {{
      get: func(key: string) -> result<option<list<u8>>, error>;
      set: func(key: string, value: list<u8>) -> result<_, error>;
    }}
  }}
  interface atomics {{
    use store.{{bucket, error}};
    increment: func(bucket: borrow<bucket>, key: string, delta: u64) -> result<u64, error>;
  }}
}}

package wasi:io@{version} {{
  interface error {{
    resource error;
  }}
  interface poll {{
    resource pollable {{
      block: func();
    }}
  }}
  interface streams {{
    use error.{{error}};
    variant stream-error {{
      last-operation-failed(error),
      closed,
    }}
    resource input-stream {{
      blocking-read: func(len: u64) -> result<list<u8>, stream-error>;
    }}
    resource output-stream {{
      blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;
    }}
  }}
}}

package wasi:http@{version} {{
  interface types {{
    use wasi:io/streams@{version}.{{input-stream, output-stream}};
    use wasi:io/poll@{version}.{{pollable}};
    variant method {{
      get, head, post, put, delete, connect, options, trace, patch, other(string),
    }}
    variant scheme {{
      HTTP, HTTPS, other(string),
    }}
    record DNS-error-payload {{
      rcode: option<string>,
      info-code: option<u16>,
    }}
    record TLS-alert-received-payload {{
      alert-id: option<u8>,
      alert-message: option<string>,
    }}
    record field-size-payload {{
      field-name: option<string>,
      field-size: option<u32>,
    }}
    variant error-code {{
      DNS-timeout,
      DNS-error(DNS-error-payload),
      destination-not-found,
      destination-unavailable,
      destination-IP-prohibited,
      destination-IP-unroutable,
      connection-refused,
      connection-terminated,
      connection-timeout,
      connection-read-timeout,
      connection-write-timeout,
      connection-limit-reached,
      TLS-protocol-error,
      TLS-certificate-error,
      TLS-alert-received(TLS-alert-received-payload),
      HTTP-request-denied,
      HTTP-request-length-required,
      HTTP-request-body-size(option<u64>),
      HTTP-request-method-invalid,
      HTTP-request-URI-invalid,
      HTTP-request-URI-too-long,
      HTTP-request-header-section-size(option<u32>),
      HTTP-request-header-size(option<field-size-payload>),
      HTTP-request-trailer-section-size(option<u32>),
      HTTP-request-trailer-size(field-size-payload),
      HTTP-response-incomplete,
      HTTP-response-header-section-size(option<u32>),
      HTTP-response-header-size(field-size-payload),
      HTTP-response-body-size(option<u64>),
      HTTP-response-trailer-section-size(option<u32>),
      HTTP-response-trailer-size(field-size-payload),
      HTTP-response-transfer-coding(option<string>),
      HTTP-response-content-coding(option<string>),
      HTTP-response-timeout,
      HTTP-upgrade-failed,
      HTTP-protocol-error,
      loop-detected,
      configuration-error,
      internal-error(option<string>),
    }}
    variant header-error {{
      invalid-syntax,
      forbidden,
      immutable,
    }}
    type field-key = string;
    type field-value = list<u8>;
    resource fields {{
      constructor();
      get: func(name: field-key) -> list<field-value>;
      append: func(name: field-key, value: field-value) -> result<_, header-error>;
    }}
    type headers = fields;
    type trailers = fields;
    resource incoming-request {{
      method: func() -> method;
      path-with-query: func() -> option<string>;
      scheme: func() -> option<scheme>;
      authority: func() -> option<string>;
      headers: func() -> headers;
      consume: func() -> result<incoming-body>;
    }}
    resource incoming-body {{
      %stream: func() -> result<input-stream>;
    }}
    resource outgoing-response {{
      constructor(headers: headers);
      set-status-code: func(status-code: u16) -> result;
      body: func() -> result<outgoing-body>;
    }}
    resource outgoing-body {{
      write: func() -> result<output-stream>;
      finish: static func(this: outgoing-body, trailers: option<trailers>) -> result<_, error-code>;
    }}
    resource response-outparam {{
      set: static func(param: response-outparam, response: result<outgoing-response, error-code>);
    }}
    type status-code = u16;
    resource outgoing-request {{
      constructor(headers: headers);
      set-scheme: func(scheme: option<scheme>) -> result;
      set-authority: func(authority: option<string>) -> result;
      set-path-with-query: func(path-with-query: option<string>) -> result;
    }}
    resource request-options;
    resource incoming-response {{
      status: func() -> status-code;
      consume: func() -> result<incoming-body>;
    }}
    resource future-incoming-response {{
      subscribe: func() -> pollable;
      get: func() -> option<result<result<incoming-response, error-code>>>;
    }}
  }}
  interface outgoing-handler {{
    use types.{{outgoing-request, request-options, future-incoming-response, error-code}};
    handle: func(request: outgoing-request, options: option<request-options>) -> result<future-incoming-response, error-code>;
  }}
  interface incoming-handler {{
    use types.{{incoming-request, response-outparam}};
    handle: func(request: incoming-request, response-out: response-outparam);
  }}
}}
"#
    )
}

/// Bytes as a WAT string literal.
fn escaped(text: &str) -> String {
    text.bytes().map(|b| format!("\\{b:02x}")).collect()
}

/// The body of `handle` for `handler`; `$request` and `$out` are its
/// parameters.
fn handle_body(handler: &Handler) -> String {
    match handler {
        Handler::Respond { status, body } => format!(
            "(call $respond (local.get $out) (i32.const {status}))
    (local.set $stream) (local.set $body)
    (call $write (local.get $stream) (i32.const 1024) (i32.const {}))
    (call $finish (local.get $body) (local.get $stream))",
            body.len()
        ),
        Handler::Echo { prefix } => format!(
            "(call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $write (local.get $stream) (i32.const 1024) (i32.const {}))
    (call $copy_body (local.get $request) (local.get $stream))
    (call $finish (local.get $body) (local.get $stream))",
            prefix.len()
        ),
        Handler::Reflect => "(call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $reflect (local.get $request) (local.get $stream))
    (call $copy_body (local.get $request) (local.get $stream))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::Length => "(local.set $n (call $body_length (local.get $request)))
    (call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $write_decimal (local.get $stream) (local.get $n))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::Counter => "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $write_decimal (local.get $stream) (global.get $calls))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::Trap => "unreachable".into(),
        Handler::NoResponse => "(drop (local.get $out))".into(),
        Handler::Spin => "(loop $forever (br $forever))".into(),
        Handler::Fetch => "(call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $header (call $request_headers (local.get $request)) (i32.const 349) (i32.const 8))
    (local.set $n)
    (local.set $n (select (i32.sub (i32.load8_u) (i32.const 48)) (i32.const 1) (local.get $n)))
    (loop $again
      (call $fetch (local.get $request) (local.get $stream))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (if (i32.gt_s (local.get $n) (i32.const 0))
        (then (call $write (local.get $stream) (i32.const 257) (i32.const 1)) (br $again))))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::KeyValue => "(call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $kv (local.get $request) (local.get $stream))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::Config => "(call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $show_config (local.get $request) (local.get $stream))
    (call $finish (local.get $body) (local.get $stream))"
            .into(),
        Handler::App => "(call $app (local.get $out))".into(),
    }
}

/// The core module of a handler for `wasi:http` at `version`.
fn core_wat(handler: &Handler, version: &str) -> String {
    let text = match handler {
        Handler::Respond { body, .. } => body.as_str(),
        Handler::Echo { prefix } => prefix.as_str(),
        _ => "",
    };
    assert!(text.len() <= 8192, "fixture text is at most 8 KiB");
    let data = escaped(text);
    let body = handle_body(handler);
    let types = format!("wasi:http/types@{version}");
    let streams = format!("wasi:io/streams@{version}");
    let (fetch_imports, fetch_funcs) = match handler {
        Handler::Fetch => reach::fetch_wat(version),
        Handler::KeyValue => reach::keyvalue_wat(),
        Handler::Config => reach::config_wat(),
        Handler::App => {
            let parts = [
                reach::fetch_wat(version),
                reach::keyvalue_wat(),
                reach::config_wat(),
            ];
            let imports: Vec<String> = parts.iter().map(|p| p.0.clone()).collect();
            let mut funcs: Vec<String> = parts.into_iter().map(|p| p.1).collect();
            funcs.push(reach::APP_WAT.to_owned());
            (imports.join("\n  "), funcs.join("\n\n  "))
        }
        _ => (String::new(), String::new()),
    };
    format!(
        r#"(module
  (import "{types}" "[constructor]fields" (func $fields_new (result i32)))
  (import "{types}" "[method]fields.get" (func $fields_get (param i32 i32 i32 i32)))
  (import "{types}" "[method]fields.append" (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "{types}" "[method]incoming-request.method" (func $method (param i32 i32)))
  (import "{types}" "[method]incoming-request.path-with-query" (func $path (param i32 i32)))
  (import "{types}" "[method]incoming-request.scheme" (func $scheme (param i32 i32)))
  (import "{types}" "[method]incoming-request.authority" (func $authority (param i32 i32)))
  (import "{types}" "[method]incoming-request.headers" (func $request_headers (param i32) (result i32)))
  (import "{types}" "[method]incoming-request.consume" (func $consume (param i32 i32)))
  (import "{types}" "[method]incoming-body.stream" (func $incoming_stream (param i32 i32)))
  (import "{types}" "[constructor]outgoing-response" (func $response_new (param i32) (result i32)))
  (import "{types}" "[method]outgoing-response.set-status-code" (func $set_status (param i32 i32) (result i32)))
  (import "{types}" "[method]outgoing-response.body" (func $response_body (param i32 i32)))
  (import "{types}" "[method]outgoing-body.write" (func $body_write (param i32 i32)))
  (import "{types}" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32 i32)))
  (import "{types}" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "{streams}" "[method]input-stream.blocking-read" (func $read (param i32 i64 i32)))
  (import "{streams}" "[method]output-stream.blocking-write-and-flush"
    (func $stream_write (param i32 i32 i32 i32)))
  (import "{streams}" "[resource-drop]output-stream" (func $drop_output (param i32)))
  {fetch_imports}
  ;; 16, 48 and 64: return areas; 256: constant text; 512: scratch digits;
  ;; 1024: the fixture's text; the heap starts past it.
  (memory (export "memory") 1)
  (data (i32.const 256) " \0acontent-typetext/plainx-test")
  (data (i32.const 300) "x-schemex-authorityx-pathstatus error  body-errorx-repeat")
  (data (i32.const 400) "x-bucketx-keyx-opcount setnonevalue ")
  (data (i32.const 450) "greetingupstreamcountersrequests/")
  (data (i32.const 1024) "{data}")
  (global $calls (mut i32) (i32.const 0))
  {realloc}
  (func $check (param $failed i32)
    (if (local.get $failed) (then unreachable)))

  ;; Start a response of `status` with a text/plain header and send its
  ;; head; returns the outgoing body and its output stream.
  (func $respond (param $out i32) (param $status i32) (result i32 i32)
    (local $headers i32) (local $response i32) (local $body i32)
    (local.set $headers (call $fields_new))
    (call $fields_append (local.get $headers)
      (i32.const 258) (i32.const 12) (i32.const 270) (i32.const 10) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (local.set $response (call $response_new (local.get $headers)))
    (call $check (call $set_status (local.get $response) (local.get $status)))
    (call $response_body (local.get $response) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (local.set $body (i32.load (i32.const 20)))
    (call $body_write (local.get $body) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (local.get $body)
    (i32.load (i32.const 20)))

  (func $finish (param $body i32) (param $stream i32)
    (call $drop_output (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16))))

  ;; Write `len` bytes at `ptr` in chunks of at most 4096 bytes.
  (func $write (param $stream i32) (param $ptr i32) (param $len i32)
    (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $n (select (i32.const 4096) (local.get $len)
          (i32.gt_u (local.get $len) (i32.const 4096))))
        (call $stream_write (local.get $stream) (local.get $ptr) (local.get $n) (i32.const 48))
        (call $check (i32.load8_u (i32.const 48)))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more))))

  (func $write_decimal (param $stream i32) (param $n i32)
    (local $at i32)
    (local.set $at (i32.const 560))
    (loop $digit
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (call $write (local.get $stream) (local.get $at) (i32.sub (i32.const 560) (local.get $at))))

  ;; An `option<string>` at 16 (case, pointer, length): write the string.
  (func $write_option (param $stream i32)
    (if (i32.load8_u (i32.const 16))
      (then (call $write (local.get $stream) (i32.load (i32.const 20)) (i32.load (i32.const 24))))))

  (func $input (param $request i32) (result i32)
    (call $consume (local.get $request) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (call $incoming_stream (i32.load (i32.const 20)) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (i32.load (i32.const 20)))

  ;; Read one chunk into the heap: 1 with its pointer and length at 20 and
  ;; 24, or 0 at the end of the body.
  (func $read_chunk (param $in i32) (result i32)
    (global.set $heap (i32.const 16384))
    (call $read (local.get $in) (i64.const 4096) (i32.const 16))
    (if (i32.load8_u (i32.const 16))
      (then
        ;; err: closed (case 1) is the end of the body; anything else fails
        (call $check (i32.ne (i32.load8_u (i32.const 20)) (i32.const 1)))
        (return (i32.const 0))))
    (i32.const 1))

  (func $copy_body (param $request i32) (param $stream i32)
    (local $in i32)
    (local.set $in (call $input (local.get $request)))
    (block $end
      (loop $copy
        (br_if $end (i32.eqz (call $read_chunk (local.get $in))))
        (call $write (local.get $stream) (i32.load (i32.const 20)) (i32.load (i32.const 24)))
        (br $copy))))

  (func $body_length (param $request i32) (result i32)
    (local $in i32) (local $n i32)
    (local.set $in (call $input (local.get $request)))
    (block $end
      (loop $count
        (br_if $end (i32.eqz (call $read_chunk (local.get $in))))
        (local.set $n (i32.add (local.get $n) (i32.load (i32.const 24))))
        (br $count)))
    (local.get $n))

  (func $reflect (param $request i32) (param $stream i32)
    (local $values i32)
    (call $method (local.get $request) (i32.const 16))
    (call $write_decimal (local.get $stream) (i32.load8_u (i32.const 16)))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $scheme (local.get $request) (i32.const 16))
    (call $write_decimal (local.get $stream)
      (select (i32.load8_u (i32.const 20)) (i32.const 9) (i32.load8_u (i32.const 16))))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $authority (local.get $request) (i32.const 16))
    (call $write_option (local.get $stream))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $path (local.get $request) (i32.const 16))
    (call $write_option (local.get $stream))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $fields_get (call $request_headers (local.get $request))
      (i32.const 280) (i32.const 6) (i32.const 16))
    (if (i32.load (i32.const 20))
      (then
        (local.set $values (i32.load (i32.const 16)))
        (call $write (local.get $stream)
          (i32.load (local.get $values)) (i32.load offset=4 (local.get $values)))))
    (call $write (local.get $stream) (i32.const 257) (i32.const 1)))

  ;; The first value of header `name` (at `ptr`, `len` bytes): its
  ;; pointer, and its length (0 when absent).
  (func $header (param $headers i32) (param $ptr i32) (param $len i32) (result i32 i32)
    (local $values i32)
    (call $fields_get (local.get $headers) (local.get $ptr) (local.get $len) (i32.const 16))
    (if (result i32 i32) (i32.load (i32.const 20))
      (then
        (local.set $values (i32.load (i32.const 16)))
        (i32.load (local.get $values))
        (i32.load offset=4 (local.get $values)))
      (else (i32.const 0) (i32.const 0))))

  {fetch_funcs}

  (func (export "wasi:http/incoming-handler@{version}#handle") (param $request i32) (param $out i32)
    (local $body i32) (local $stream i32) (local $n i32)
    {body}))"#,
        realloc = REALLOC_WAT.replace("(i32.const 1024)", "(i32.const 16384)"),
    )
}

/// A component that handles `wasi:http` 0.2.0 requests as `handler` says.
pub fn handler(handler: &Handler) -> Vec<u8> {
    handler_at(handler, "0.2.0")
}

/// [`handler`] for `wasi:http` at another 0.2 `version`.
pub fn handler_at(handler: &Handler, version: &str) -> Vec<u8> {
    let world = match handler {
        Handler::Fetch => "fetcher",
        Handler::KeyValue => "keyvalue",
        Handler::Config => "config",
        Handler::App => "app",
        _ => "handler",
    };
    component_from(&wit(version), world, &core_wat(handler, version))
}

/// A handler answering 200 with `body`.
pub fn hello(body: &str) -> Vec<u8> {
    handler(&Handler::Respond {
        status: 200,
        body: body.into(),
    })
}

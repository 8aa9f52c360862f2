//! The WAT of the handlers that reach beyond themselves: outbound HTTP,
//! key-value and configuration.

/// The imports and functions of [`Handler::Fetch`](super::Handler::Fetch).
pub(super) fn fetch_wat(version: &str) -> (String, String) {
    let types = format!("wasi:http/types@{version}");
    let imports = format!(
        r#"(import "{types}" "[constructor]outgoing-request" (func $request_new (param i32) (result i32)))
  (import "{types}" "[method]outgoing-request.set-scheme" (func $set_scheme (param i32 i32 i32 i32 i32) (result i32)))
  (import "{types}" "[method]outgoing-request.set-authority" (func $set_authority (param i32 i32 i32 i32) (result i32)))
  (import "{types}" "[method]outgoing-request.set-path-with-query" (func $set_path (param i32 i32 i32 i32) (result i32)))
  (import "{types}" "[method]future-incoming-response.subscribe" (func $subscribe (param i32) (result i32)))
  (import "{types}" "[method]future-incoming-response.get" (func $future_get (param i32 i32)))
  (import "{types}" "[method]incoming-response.status" (func $status (param i32) (result i32)))
  (import "{types}" "[method]incoming-response.consume" (func $response_consume (param i32 i32)))
  (import "wasi:http/outgoing-handler@{version}" "handle" (func $handle (param i32 i32 i32 i32)))
  (import "wasi:io/poll@{version}" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@{version}" "[resource-drop]pollable" (func $drop_pollable (param i32)))"#
    );
    let funcs = r#"(func $fetch (param $request i32) (param $stream i32)
    (local $headers i32) (local $scheme i32) (local $aptr i32) (local $alen i32)
    (local $pptr i32) (local $plen i32) (local $failed i32) (local $got i32)
    (local.set $headers (call $request_headers (local.get $request)))
    (call $header (local.get $headers) (i32.const 300) (i32.const 8))
    (local.set $scheme) (drop)
    (call $header (local.get $headers) (i32.const 308) (i32.const 11))
    (local.set $alen) (local.set $aptr)
    (call $header (local.get $headers) (i32.const 319) (i32.const 6))
    (local.set $plen) (local.set $pptr)
    ;; `https` (5 bytes) is case 1, anything else `http` (case 0).
    (call $send (i32.eq (local.get $scheme) (i32.const 5))
      (local.get $aptr) (local.get $alen) (local.get $pptr) (local.get $plen))
    (local.set $got) (local.set $failed)
    (if (local.get $failed)
      (then
        (call $write (local.get $stream) (i32.const 332) (i32.const 6))
        (call $write_decimal (local.get $stream) (local.get $got))
        (return)))
    (call $copy_response (local.get $got) (local.get $stream)))

  ;; Send a GET to `scheme` (0 http, 1 https), authority and path and wait
  ;; for the response head: 0 and the incoming response, or 1 and the case
  ;; of the `error-code`.
  (func $send (param $https i32) (param $aptr i32) (param $alen i32)
    (param $pptr i32) (param $plen i32) (result i32 i32)
    (local $req i32) (local $future i32) (local $pollable i32)
    (local.set $req (call $request_new (call $fields_new)))
    (call $check (call $set_scheme (local.get $req) (i32.const 1)
      (local.get $https) (i32.const 0) (i32.const 0)))
    (call $check (call $set_authority (local.get $req) (i32.const 1)
      (local.get $aptr) (local.get $alen)))
    (call $check (call $set_path (local.get $req) (i32.const 1)
      (local.get $pptr) (local.get $plen)))
    (call $handle (local.get $req) (i32.const 0) (i32.const 0) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (i32.const 1) (i32.load8_u (i32.const 72)))))
    (local.set $future (i32.load (i32.const 72)))
    (local.set $pollable (call $subscribe (local.get $future)))
    (call $block (local.get $pollable))
    (call $drop_pollable (local.get $pollable))
    ;; option<result<result<incoming-response, error-code>>> at 64: some at
    ;; 64, the outer result at 72, the inner at 80, its payload at 88.
    (call $future_get (local.get $future) (i32.const 64))
    (call $check (i32.eqz (i32.load8_u (i32.const 64))))
    (call $check (i32.load8_u (i32.const 72)))
    (if (i32.load8_u (i32.const 80))
      (then (return (i32.const 1) (i32.load8_u (i32.const 88)))))
    (i32.const 0)
    (i32.load (i32.const 88)))

  ;; Write `status N ` and the body of `response`.
  (func $copy_response (param $response i32) (param $stream i32)
    (local $in i32)
    (call $write (local.get $stream) (i32.const 325) (i32.const 7))
    (call $write_decimal (local.get $stream) (call $status (local.get $response)))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $response_consume (local.get $response) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (call $incoming_stream (i32.load (i32.const 20)) (i32.const 16))
    (call $check (i32.load8_u (i32.const 16)))
    (local.set $in (i32.load (i32.const 20)))
    (block $end
      (loop $copy
        (global.set $heap (i32.const 16384))
        (call $read (local.get $in) (i64.const 4096) (i32.const 16))
        (if (i32.load8_u (i32.const 16))
          (then
            ;; closed (case 1) ends the body; a failure is reported
            (if (i32.ne (i32.load8_u (i32.const 20)) (i32.const 1))
              (then (call $write (local.get $stream) (i32.const 338) (i32.const 11))))
            (br $end)))
        (call $write (local.get $stream) (i32.load (i32.const 20)) (i32.load (i32.const 24)))
        (br $copy))))"#
        .to_owned();
    (imports, funcs)
}

/// The imports and functions of [`Handler::KeyValue`](super::Handler::KeyValue).
pub(super) fn keyvalue_wat() -> (String, String) {
    let store = "wasi:keyvalue/store@0.2.0-draft";
    let imports = format!(
        r#"(import "{store}" "open" (func $kv_open (param i32 i32 i32)))
  (import "{store}" "[method]bucket.get" (func $kv_get (param i32 i32 i32 i32)))
  (import "{store}" "[method]bucket.set" (func $kv_set (param i32 i32 i32 i32 i32 i32)))
  (import "{store}" "[resource-drop]bucket" (func $kv_drop (param i32)))
  (import "wasi:keyvalue/atomics@0.2.0-draft" "increment"
    (func $kv_increment (param i32 i32 i32 i64 i32)))"#
    );
    let funcs = r#";; The `error` variant at `at`: `error N`, and for `other` its text.
  (func $kv_error (param $stream i32) (param $at i32)
    (call $write (local.get $stream) (i32.const 332) (i32.const 6))
    (call $write_decimal (local.get $stream) (i32.load8_u (local.get $at)))
    (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 2))
      (then
        (call $write (local.get $stream) (i32.const 256) (i32.const 1))
        (call $write (local.get $stream)
          (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at))))))

  (func $kv (param $request i32) (param $stream i32)
    (local $headers i32) (local $vptr i32) (local $vlen i32) (local $bptr i32) (local $blen i32)
    (local $kptr i32) (local $klen i32) (local $optr i32) (local $olen i32) (local $op i32)
    (local $bucket i32)
    ;; The body first: reading it resets the heap the headers are read to.
    (if (call $read_chunk (call $input (local.get $request)))
      (then
        (local.set $vptr (i32.load (i32.const 20)))
        (local.set $vlen (i32.load (i32.const 24)))))
    (local.set $headers (call $request_headers (local.get $request)))
    (call $header (local.get $headers) (i32.const 400) (i32.const 8))
    (local.set $blen) (local.set $bptr)
    (call $header (local.get $headers) (i32.const 408) (i32.const 5))
    (local.set $klen) (local.set $kptr)
    (call $header (local.get $headers) (i32.const 413) (i32.const 4))
    (local.set $olen) (local.set $optr)
    (if (local.get $olen) (then (local.set $op (i32.load8_u (local.get $optr)))))
    ;; result<bucket, error> at 96: the case at 96, the payload at 100.
    (call $kv_open (local.get $bptr) (local.get $blen) (i32.const 96))
    (if (i32.load8_u (i32.const 96))
      (then (call $kv_error (local.get $stream) (i32.const 100)) (return)))
    (local.set $bucket (i32.load (i32.const 100)))
    (if (i32.eq (local.get $op) (i32.const 105))
      (then
        ;; result<u64, error> at 96: the payload at 104.
        (call $kv_increment (local.get $bucket) (local.get $kptr) (local.get $klen)
          (i64.const 1) (i32.const 96))
        (if (i32.load8_u (i32.const 96))
          (then (call $kv_error (local.get $stream) (i32.const 104)))
          (else
            (call $write (local.get $stream) (i32.const 417) (i32.const 6))
            (call $write_decimal (local.get $stream) (i32.wrap_i64 (i64.load (i32.const 104)))))))
      (else (if (i32.eq (local.get $op) (i32.const 115))
        (then
          (call $kv_set (local.get $bucket) (local.get $kptr) (local.get $klen)
            (local.get $vptr) (local.get $vlen) (i32.const 96))
          (if (i32.load8_u (i32.const 96))
            (then (call $kv_error (local.get $stream) (i32.const 100)))
            (else (call $write (local.get $stream) (i32.const 423) (i32.const 3)))))
        (else
          ;; result<option<list<u8>>, error> at 96: the option at 100.
          (call $kv_get (local.get $bucket) (local.get $kptr) (local.get $klen) (i32.const 96))
          (if (i32.load8_u (i32.const 96))
            (then (call $kv_error (local.get $stream) (i32.const 100)))
            (else (if (i32.load8_u (i32.const 100))
              (then
                (call $write (local.get $stream) (i32.const 430) (i32.const 6))
                (call $write (local.get $stream) (i32.load (i32.const 104)) (i32.load (i32.const 108))))
              (else (call $write (local.get $stream) (i32.const 426) (i32.const 4))))))))))
    (call $kv_drop (local.get $bucket)))"#
        .to_owned();
    (imports, funcs)
}

/// The imports and functions of [`Handler::Config`](super::Handler::Config); `$config` is also
/// [`Handler::App`](super::Handler::App)'s.
pub(super) fn config_wat() -> (String, String) {
    let store = "wasi:config/store@0.2.0-rc.1";
    let imports = format!(
        r#"(import "{store}" "get" (func $config_get (param i32 i32 i32)))
  (import "{store}" "get-all" (func $config_get_all (param i32)))"#
    );
    let funcs = r#";; The value of the configuration key at `ptr`: its pointer and length
  ;; (0 0 when unset); an error traps.
  (func $config (param $ptr i32) (param $len i32) (result i32 i32)
    ;; result<option<string>, error> at 128: the option at 132, the string at 136.
    (call $config_get (local.get $ptr) (local.get $len) (i32.const 128))
    (call $check (i32.load8_u (i32.const 128)))
    (if (result i32 i32) (i32.load8_u (i32.const 132))
      (then (i32.load (i32.const 136)) (i32.load (i32.const 140)))
      (else (i32.const 0) (i32.const 0))))

  (func $show_config (param $request i32) (param $stream i32)
    (local $kptr i32) (local $klen i32) (local $list i32) (local $n i32)
    (call $header (call $request_headers (local.get $request)) (i32.const 408) (i32.const 5))
    (local.set $klen) (local.set $kptr)
    (if (i32.eqz (local.get $klen))
      (then
        ;; result<list<tuple<string, string>>, error> at 128: the list at 132.
        (call $config_get_all (i32.const 128))
        (call $check (i32.load8_u (i32.const 128)))
        (local.set $list (i32.load (i32.const 132)))
        (local.set $n (i32.load (i32.const 136)))
        (block $end
          (loop $each
            (br_if $end (i32.eqz (local.get $n)))
            (call $write (local.get $stream) (i32.load (local.get $list)) (i32.load offset=4 (local.get $list)))
            (call $write (local.get $stream) (i32.const 256) (i32.const 1))
            (call $write (local.get $stream) (i32.load offset=8 (local.get $list)) (i32.load offset=12 (local.get $list)))
            (call $write (local.get $stream) (i32.const 257) (i32.const 1))
            (local.set $list (i32.add (local.get $list) (i32.const 16)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $each)))
        (return)))
    (call $config_get (local.get $kptr) (local.get $klen) (i32.const 128))
    (call $check (i32.load8_u (i32.const 128)))
    (if (i32.load8_u (i32.const 132))
      (then
        (call $write (local.get $stream) (i32.const 430) (i32.const 6))
        (call $write (local.get $stream) (i32.load (i32.const 136)) (i32.load (i32.const 140))))
      (else (call $write (local.get $stream) (i32.const 426) (i32.const 4)))))"#
        .to_owned();
    (imports, funcs)
}

/// The function of [`Handler::App`](super::Handler::App), on the functions of the others.
pub(super) const APP_WAT: &str = r#"(func $app (param $out i32)
    (local $gptr i32) (local $glen i32) (local $uptr i32) (local $ulen i32)
    (local $bucket i32) (local $count i32) (local $failed i32) (local $got i32)
    (local $body i32) (local $stream i32)
    (call $config (i32.const 450) (i32.const 8))
    (local.set $glen) (local.set $gptr)
    (call $config (i32.const 458) (i32.const 8))
    (local.set $ulen) (local.set $uptr)
    ;; Count the request: `requests` in bucket `counters`.
    (call $kv_open (i32.const 466) (i32.const 8) (i32.const 96))
    (call $check (i32.load8_u (i32.const 96)))
    (local.set $bucket (i32.load (i32.const 100)))
    (call $kv_increment (local.get $bucket) (i32.const 474) (i32.const 8)
      (i64.const 1) (i32.const 96))
    (call $check (i32.load8_u (i32.const 96)))
    (local.set $count (i32.wrap_i64 (i64.load (i32.const 104))))
    (call $kv_drop (local.get $bucket))
    ;; Call the upstream; a refusal traps before the response starts.
    (call $send (i32.const 0) (local.get $uptr) (local.get $ulen) (i32.const 482) (i32.const 1))
    (local.set $got) (local.set $failed)
    (call $check (local.get $failed))
    (call $respond (local.get $out) (i32.const 200))
    (local.set $stream) (local.set $body)
    (call $write (local.get $stream) (local.get $gptr) (local.get $glen))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $write_decimal (local.get $stream) (local.get $count))
    (call $write (local.get $stream) (i32.const 256) (i32.const 1))
    (call $copy_response (local.get $got) (local.get $stream))
    (call $finish (local.get $body) (local.get $stream)))"#;

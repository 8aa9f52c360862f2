//! Wasm fixtures built from WAT and WIT text at test time, so no wasm32
//! target and no checked-in binaries are needed.
//!
//! | fixture | exports | for |
//! |---|---|---|
//! | [`numeric`] | `add(i32, i32) -> i32`, `add_i64`, `mul_f64`, `version() -> i32` | calls, JSON numbers, telling versions apart |
//! | [`trapping`] | `trap()`, `div(i32, i32) -> i32` | traps with a backtrace |
//! | [`infinite_loop`] | `spin()` | timeouts and fuel |
//! | [`memory_hog`] | `hog(pages: i32) -> i32` | memory limits |
//! | [`wasi_echo`] | `_start` | WASI preview 1: stdin to stdout |
//! | [`wasi_env`] | `_start` | WASI preview 1: the environment to stdout |
//! | [`wasi_p2_component`] | `count() -> u32` | WASI 0.2: a component importing `wasi:cli/environment` |
//! | [`component`] | `hotswap:fixture/greeter@0.1.0` with `greet(string) -> string`, `swap(point) -> point` | components, strings, records |

use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// The WAT of [`numeric`].
pub fn numeric_wat(version: i32) -> String {
    format!(
        r#"(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "add_i64") (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.add)
  (func (export "mul_f64") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.mul)
  (func (export "version") (result i32)
    i32.const {version})
  (func (export "slow") (param $n i32) (result i32)
    (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    i32.const {version})
  (global $calls (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    global.get $calls))"#
    )
}

/// A core module with numeric functions; `version()` returns `version`, so
/// each value gives different bytes and an observable version.
pub fn numeric(version: i32) -> Vec<u8> {
    wat(&numeric_wat(version))
}

/// A core module whose `trap()` hits `unreachable` (two frames deep, for a
/// backtrace) and whose `div` traps on division by zero.
pub fn trapping() -> Vec<u8> {
    wat(r#"(module
  (func $inner unreachable)
  (func (export "trap") call $inner)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s))"#)
}

/// A core module whose `spin()` never returns.
pub fn infinite_loop() -> Vec<u8> {
    wat(r#"(module
  (func (export "spin")
    (loop $l br $l)))"#)
}

/// A core module whose `hog(pages)` grows memory one page at a time,
/// trapping if a grow is refused, and returns the final size in pages.
pub fn memory_hog() -> Vec<u8> {
    wat(r#"(module
  (memory 1)
  (func (export "hog") (param $pages i32) (result i32)
    (block $done
      (loop $grow
        (br_if $done (i32.eqz (local.get $pages)))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
          (then unreachable))
        (local.set $pages (i32.sub (local.get $pages) (i32.const 1)))
        (br $grow)))
    memory.size))"#)
}

/// A core module with a function table and a data segment, as compiled
/// Rust and C have: `pick(i)` calls table entry `i` (10, then 20; a trap
/// past the table), `byte(i)` reads byte `i` of the data `"hotswap"`.
pub fn table_and_data() -> Vec<u8> {
    wat(r#"(module
  (type $answer (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $ten $twenty)
  (func $ten (result i32) i32.const 10)
  (func $twenty (result i32) i32.const 20)
  (func (export "pick") (param i32) (result i32)
    local.get 0
    call_indirect (type $answer))
  (memory 1)
  (data (i32.const 0) "hotswap")
  (func (export "byte") (param i32) (result i32)
    local.get 0
    i32.load8_u))"#)
}

/// A module whose memory starts at `pages` pages; `pages` returns its size.
pub fn large_initial_memory(pages: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
  (memory {pages})
  (func (export "pages") (result i32) memory.size))"#
    ))
}

/// A WASI preview 1 command that copies stdin to stdout until end of input.
pub fn wasi_echo() -> Vec<u8> {
    wat(r#"(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; iovec at 0: buf 1024, len 65536; nread at 16; out iovec at 32; nwritten at 48
  (func (export "_start")
    (local $n i32) (local $off i32) (local $w i32)
    (loop $read
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
        (then unreachable))
      (local.set $n (i32.load (i32.const 16)))
      (if (i32.eqz (local.get $n)) (then return))
      (local.set $off (i32.const 0))
      (loop $write
        (i32.store (i32.const 32) (i32.add (i32.const 1024) (local.get $off)))
        (i32.store (i32.const 36) (i32.sub (local.get $n) (local.get $off)))
        (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48))
          (then unreachable))
        (local.set $off (i32.add (local.get $off) (i32.load (i32.const 48))))
        (br_if $write (i32.lt_u (local.get $off) (local.get $n))))
      (br $read))))"#)
}

/// The WIT of [`component`].
pub const COMPONENT_WIT: &str = r#"package hotswap:fixture@0.1.0;

interface greeter {
  record point {
    x: s32,
    y: s32,
  }

  /// Returns the greeting followed by `name`.
  greet: func(name: string) -> string;

  /// Returns the point with x and y exchanged.
  swap: func(p: point) -> point;
}

world fixture {
  export greeter;
}
"#;

/// The interface the component exports.
pub const COMPONENT_INTERFACE: &str = "hotswap:fixture/greeter@0.1.0";

/// A bump allocator exported as `cabi_realloc`, for component fixtures.
pub(crate) const REALLOC_WAT: &str = r#"
  (global $heap (mut i32) (i32.const 1024))
  (func $realloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.xor (i32.sub (local.get $align) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $new_size)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (if (local.get $old)
      (then (memory.copy (local.get $ptr) (local.get $old) (local.get $old_size))))
    (local.get $ptr))
"#;

/// The WIT of [`wasi_p2_component`]: the part of `wasi:cli@0.2.0` it
/// imports, and its world.
pub const WASI_P2_WIT: &str = r#"package hotswap:wasi-fixture;

world env-count {
  import wasi:cli/environment@0.2.0;
  /// How many environment variables the component sees.
  export count: func() -> u32;
}

package wasi:cli@0.2.0 {
  interface environment {
    get-environment: func() -> list<tuple<string, string>>;
    get-arguments: func() -> list<string>;
    initial-cwd: func() -> option<string>;
  }
}
"#;

/// A WASI 0.2 component whose `count()` returns how many environment
/// variables `wasi:cli/environment` gives it.
pub fn wasi_p2_component() -> Vec<u8> {
    let core = format!(
        r#"(module
  (import "wasi:cli/environment@0.2.0" "get-environment" (func $get (param i32)))
  (memory (export "memory") 1)
  {REALLOC_WAT}
  (func (export "count") (result i32)
    (call $get (i32.const 16))
    (i32.load (i32.const 20))))"#
    );
    component_from(WASI_P2_WIT, "env-count", &core)
}

/// The WIT of [`wasi_p2_echo`]: a `wasi:cli/run` command using the parts
/// of `wasi:io@0.2.0` and `wasi:cli@0.2.0` it needs.
pub const WASI_P2_ECHO_WIT: &str = r#"package hotswap:wasi-echo;

world echo {
  import wasi:cli/stdin@0.2.0;
  import wasi:cli/stdout@0.2.0;
  export wasi:cli/run@0.2.0;
}

package wasi:io@0.2.0 {
  interface error {
    resource error;
  }
  interface streams {
    use error.{error};
    variant stream-error {
      last-operation-failed(error),
      closed,
    }
    resource input-stream {
      blocking-read: func(len: u64) -> result<list<u8>, stream-error>;
    }
    resource output-stream {
      blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;
    }
  }
}

package wasi:cli@0.2.0 {
  interface stdin {
    use wasi:io/streams@0.2.0.{input-stream};
    get-stdin: func() -> input-stream;
  }
  interface stdout {
    use wasi:io/streams@0.2.0.{output-stream};
    get-stdout: func() -> output-stream;
  }
  interface run {
    run: func() -> result;
  }
}
"#;

/// A WASI 0.2 command component (`wasi:cli/run`) that copies stdin to
/// stdout in chunks of up to 4096 bytes (the most one
/// `blocking-write-and-flush` takes) and returns `ok` at end of input.
pub fn wasi_p2_echo() -> Vec<u8> {
    let core = format!(
        r#"(module
  (import "wasi:cli/stdin@0.2.0" "get-stdin" (func $stdin (result i32)))
  (import "wasi:cli/stdout@0.2.0" "get-stdout" (func $stdout (result i32)))
  (import "wasi:io/streams@0.2.0" "[method]input-stream.blocking-read"
    (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.blocking-write-and-flush"
    (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  {REALLOC_WAT}
  ;; read result at 16 (tag, then list ptr/len or error tag), write result at 48
  (func (export "wasi:cli/run@0.2.0#run") (result i32)
    (local $in i32) (local $out i32)
    (local.set $in (call $stdin))
    (local.set $out (call $stdout))
    (loop $copy
      ;; each chunk reuses the heap: nothing outlives one iteration
      (global.set $heap (i32.const 1024))
      (call $read (local.get $in) (i64.const 4096) (i32.const 16))
      (if (i32.load8_u (i32.const 16))
        (then
          ;; err: closed (case 1) is the end of input, anything else fails
          (return (i32.ne (i32.load8_u (i32.const 20)) (i32.const 1)))))
      (call $write (local.get $out)
        (i32.load (i32.const 20)) (i32.load (i32.const 24)) (i32.const 48))
      (if (i32.load8_u (i32.const 48)) (then (return (i32.const 1))))
      (br $copy))
    (i32.const 0)))"#
    );
    component_from(WASI_P2_ECHO_WIT, "echo", &core)
}

fn component_core_wat(greeting: &str) -> String {
    let escaped: String = greeting.bytes().map(|b| format!("\\{b:02x}")).collect();
    let len = greeting.len();
    format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{escaped}")
  {realloc}
  (func (export "{iface}#greet") (param $p i32) (param $len i32) (result i32)
    (local $out i32) (local $ret i32)
    (local.set $out
      (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
        (i32.add (i32.const {len}) (local.get $len))))
    (memory.copy (local.get $out) (i32.const 16) (i32.const {len}))
    (memory.copy (i32.add (local.get $out) (i32.const {len})) (local.get $p) (local.get $len))
    (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
    (i32.store (local.get $ret) (local.get $out))
    (i32.store offset=4 (local.get $ret) (i32.add (local.get $len) (i32.const {len})))
    (local.get $ret))
  (func (export "{iface}#swap") (param $x i32) (param $y i32) (result i32)
    (local $ret i32)
    (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
    (i32.store (local.get $ret) (local.get $y))
    (i32.store offset=4 (local.get $ret) (local.get $x))
    (local.get $ret)))"#,
        iface = COMPONENT_INTERFACE,
        realloc = REALLOC_WAT,
    )
}

/// A component built from [`COMPONENT_WIT`] and a hand-written core module
/// with wit-component; `greet("x")` returns `format!("{greeting}x")`, so
/// different greetings make observably different versions.
pub fn component(greeting: &str) -> Vec<u8> {
    component_from(COMPONENT_WIT, "fixture", &component_core_wat(greeting))
}

/// Build a component from WIT text, a world name and core-module WAT.
///
/// # Panics
///
/// When the WIT, the WAT or the encoding is invalid: fixtures are test
/// inputs, and a broken one must fail the test loudly.
pub fn component_from(wit: &str, world: &str, core_wat: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let pkg = resolve
        .push_str("fixture.wit", wit)
        .expect("fixture WIT parses");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("fixture world exists");
    let mut module = self::wat(core_wat);
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .expect("component metadata embeds");
    ComponentEncoder::default()
        .module(&module)
        .expect("core module is accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// Parse WAT text into a binary.
///
/// # Panics
///
/// When the text is not valid WAT.
pub fn wat(text: &str) -> Vec<u8> {
    ::wat::parse_str(text).expect("fixture WAT parses")
}

/// A WASI preview 1 command that writes its environment to stdout as
/// `KEY=value\0` entries.
pub fn wasi_env() -> Vec<u8> {
    wat(r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; count at 0, size at 4, iovec at 16, nwritten at 24, pointers at 1024, strings at 8192
  (func (export "_start")
    (if (call $sizes (i32.const 0) (i32.const 4)) (then unreachable))
    (if (call $get (i32.const 1024) (i32.const 8192)) (then unreachable))
    (i32.store (i32.const 16) (i32.const 8192))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))
      (then unreachable))))"#)
}

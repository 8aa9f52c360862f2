//! Shared setup of hotswap's benchmarks: one runtime whose engine (and so
//! whose wasmtime `Config`) also runs the raw wasmtime loops it is compared
//! with, in the same process and run.

use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};

/// The runtime every benchmark uses: defaults (pooling, no fuel, 10 ms
/// epoch tick).
pub fn runtime(config: WasmtimeConfig) -> WasmtimeRuntime {
    WasmtimeRuntime::new(config).expect("the benchmark runtime starts")
}

/// A core module of about `functions` × 100 bytes, for compile and
/// artifact-load benchmarks (20,000 functions make about 1 MB).
pub fn big_module(functions: usize) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    for i in 0..functions {
        wat.push_str(&format!(
            "(func (export \"f{i}\") (param i32 i32) (result i32)
               local.get 0 local.get 1 i32.add i32.const {i} i32.mul
               local.get 0 i32.xor local.get 1 i32.const 7 i32.rotl i32.add
               local.get 0 local.get 1 i32.sub i32.const {i} i32.add i32.or
               local.get 1 i32.const 3 i32.shl i32.add local.get 0 i32.const 5 i32.shr_u i32.xor)\n"
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).expect("generated WAT parses")
}

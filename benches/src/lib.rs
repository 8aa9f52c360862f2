//! Shared setup of hotswap's benchmarks: one runtime whose engine (and so
//! whose wasmtime `Config`) also runs the raw wasmtime loops it is compared
//! with, in the same process and run.

use hotswap_runtime_wasmtime::{WasmtimeConfig, WasmtimeRuntime};

/// The runtime every benchmark uses: defaults (pooling, no fuel, 10 ms
/// epoch tick).
pub fn runtime(config: WasmtimeConfig) -> WasmtimeRuntime {
    WasmtimeRuntime::new(config).expect("the benchmark runtime starts")
}

/// Whether the group `name` runs: all do unless `HOTSWAP_BENCH_GROUP`
/// names one (criterion's own filter skips its measurements, not the
/// paired ratios that run before them).
pub fn selected(name: &str) -> bool {
    std::env::var("HOTSWAP_BENCH_GROUP").map_or(true, |only| only == name)
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

/// The ratio `ours / raw` of time per call, measured robustly on a noisy
/// machine: `rounds` rounds, each timing `batch` raw calls and then `batch`
/// of ours back to back (alternating which goes first), so both see the
/// same machine state. Prints and returns the median ratio with its
/// interquartile range.
pub fn paired_ratio(
    label: &str,
    rounds: usize,
    batch: u32,
    mut raw: impl FnMut(),
    mut ours: impl FnMut(),
) -> f64 {
    use std::time::Instant;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    // Warm both up.
    time(&mut raw);
    time(&mut ours);
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|i| {
            let (r, o) = if i % 2 == 0 {
                let r = time(&mut raw);
                (r, time(&mut ours))
            } else {
                let o = time(&mut ours);
                (time(&mut raw), o)
            };
            o / r
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let q = |p: f64| ratios[((ratios.len() - 1) as f64 * p) as usize];
    println!(
        "RATIO {label}: {:.3} (median of {rounds} paired rounds of {batch} calls; IQR {:.3}..{:.3})",
        q(0.5),
        q(0.25),
        q(0.75)
    );
    q(0.5)
}

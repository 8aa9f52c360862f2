//! Parse and check a package of 50 interfaces (target: ≤ 5 ms). See
//! benches/README.md for figures.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hotswap_benches::selected;
use hotswap_control::interface::compat::{CheckOptions, Subject, forward};
use hotswap_control::interface::parse_wit;
use hotswap_core::interface::CompatibilityMode;

/// A package of `n` interfaces, each with a record, a variant, an enum, a
/// resource and five functions; `drop_last` leaves out one function of
/// every interface (so the check has findings to report).
fn package(version: &str, n: usize, drop_last: bool) -> String {
    let mut wit = format!("package bench:big@{version};\n");
    for i in 0..n {
        wit.push_str(&format!(
            "interface api{i} {{
  record point {{ x: s32, y: s32, label: string }}
  variant shape {{ circle(f64), square(f64), none }}
  enum color {{ red, green, blue }}
  resource conn {{
    constructor(addr: string);
    send: func(data: list<u8>) -> result<u32, string>;
  }}
  move: func(p: point, dx: s32, dy: s32) -> point;
  area: func(s: shape) -> f64;
  paint: func(c: color, p: option<point>) -> list<point>;
  open: func(addr: string) -> conn;
{}}}
",
            if drop_last {
                ""
            } else {
                "  close: func(c: borrow<conn>);\n"
            }
        ));
    }
    wit.push_str("world all {\n");
    for i in 0..n {
        wit.push_str(&format!("  export api{i};\n"));
    }
    wit.push_str("}\n");
    wit
}

fn interfaces(c: &mut Criterion) {
    if !selected("interfaces_50") {
        return;
    }
    let old_text = package("1.0.0", 50, false);
    let new_text = package("1.1.0", 50, true);
    println!("package of {} bytes of WIT", old_text.len());
    let old = parse_wit(&old_text).unwrap();
    // The world exports every interface: a removed function breaks hosts.
    let findings = forward(
        &old,
        &parse_wit(&new_text).unwrap(),
        &CheckOptions::default(),
    );
    assert_eq!(findings.len(), 50, "one removed function per interface");
    let mut g = c.benchmark_group("interfaces_50");
    g.bench_function("parse", |b| {
        b.iter(|| parse_wit(black_box(&new_text)).unwrap())
    });
    g.bench_function("parse_and_check", |b| {
        b.iter(|| {
            let new = parse_wit(black_box(&new_text)).unwrap();
            hotswap_control::interface::compat::check(
                Subject::Package,
                CompatibilityMode::Full,
                std::slice::from_ref(&old),
                &new,
                &CheckOptions::default(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, interfaces);
criterion_main!(benches);

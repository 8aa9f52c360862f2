#![no_main]
//! See `hotswap_testkit::fuzz::inspect_bytes`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hotswap_testkit::fuzz::inspect_bytes(data));

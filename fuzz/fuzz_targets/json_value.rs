#![no_main]
//! See `hotswap_testkit::fuzz::json_value`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hotswap_testkit::fuzz::json_value(data));

#![no_main]
//! See `hotswap_testkit::fuzz::wit_pair`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hotswap_testkit::fuzz::wit_pair(data));

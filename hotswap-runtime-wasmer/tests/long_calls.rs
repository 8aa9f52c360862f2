//! Long plain calls move off the async thread after their first slice
//! (`hotswap_testkit::long_calls`).

use std::sync::Arc;

use hotswap_runtime_wasmer::{WasmerConfig, WasmerRuntime};
use hotswap_testkit::long_calls;

fn runtime() -> Arc<dyn hotswap_core::runtime::RuntimeHost> {
    Arc::new(WasmerRuntime::new(WasmerConfig::default().with_max_instances(8)).expect("runtime"))
}

#[test]
fn a_long_call_moves_off_the_thread_and_others_go_on() {
    long_calls::a_long_call_moves_off_the_thread_and_others_go_on(runtime());
}

#[test]
fn a_moved_call_still_times_out_on_its_own_timeout() {
    long_calls::a_moved_call_still_times_out_on_its_own_timeout(runtime());
}

//! What a component version may reach beyond itself: outbound HTTP and the
//! node's key-value store, per its grants, and its configuration.

use std::sync::Arc;

use hotswap_core::domain::ConfigValues;

use crate::keyvalue::KeyValue;
use crate::outbound::Outbound;

/// A version's grants, from which each instance gets fresh state.
#[derive(Clone, Debug)]
pub(crate) struct Reach {
    pub(crate) outbound: Outbound,
    pub(crate) keyvalue: KeyValue,
    pub(crate) config: Arc<ConfigValues>,
}

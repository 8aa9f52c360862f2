//! Reading an analysis check's value: the trait a control plane runs its
//! checks through (Prometheus queries, web endpoints), so the orchestrator
//! and its tests need no network.

use std::fmt;

use async_trait::async_trait;

use crate::domain::AnalysisSource;
use crate::error::Result;

/// Reads the number an [`AnalysisSource`] yields.
///
/// Contract: `measure` takes a source whose template variables are
/// already rendered. It returns `Ok(None)` when the source answered with no
/// value (an empty result, `null`), `Ok(Some(v))` with the value, and
/// `Unavailable` when the source could not be reached or answered with an
/// error; the caller counts both of the latter as inconclusive. It bounds
/// its own time.
#[async_trait]
pub trait AnalysisProvider: Send + Sync + fmt::Debug + 'static {
    /// The value `source` yields now.
    async fn measure(&self, source: &AnalysisSource) -> Result<Option<f64>>;
}

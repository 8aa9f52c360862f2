//! Rows as a store wrote them before it kept what deployments hold (its
//! migration 4), for the adapters' upgrade tests.

use hotswap_core::Result;
use hotswap_core::domain::{ModuleDeployment, WasmModule};

use crate::SqlStore;
use crate::query::Sql;

impl SqlStore {
    /// Insert `modules` and `deployments` as rows only: no holds, no
    /// events, no checks. For upgrade tests; never for a live store.
    #[doc(hidden)]
    pub async fn insert_legacy_rows(
        &self,
        modules: &[WasmModule],
        deployments: &[ModuleDeployment],
    ) -> Result<()> {
        for m in modules {
            self.execute(&Sql::insert("wasm_modules", crate::modules::row(m)?))
                .await?;
        }
        for d in deployments {
            self.execute(&Sql::insert("deployments", crate::deployments::row(d)?))
                .await?;
        }
        Ok(())
    }
}

use std::collections::BTreeMap;

use async_trait::async_trait;
use semver::Version;

use super::{
    Approval, CompatibilityMode, InterfaceFilter, InterfaceRegistry, PackageName, WitInterface,
};
use crate::domain::InterfaceId;
use crate::error::ResourceKind;
use crate::error::{Error, Result};
use crate::repository::memory::Table;
use crate::repository::{Page, PageRequest, page_in_memory};

#[derive(Debug, Default)]
struct State {
    interfaces: BTreeMap<InterfaceId, WitInterface>,
    modes: BTreeMap<PackageName, CompatibilityMode>,
}

/// WIT interfaces in memory.
#[derive(Debug, Default)]
pub struct MemoryInterfaceRegistry {
    state: Table<State>,
}

impl MemoryInterfaceRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl InterfaceRegistry for MemoryInterfaceRegistry {
    async fn register(&self, interface: &WitInterface) -> Result<()> {
        interface.validate()?;
        let mut s = self.state.write();
        if s.interfaces.contains_key(&interface.id) {
            return Err(Error::already_exists(ResourceKind::Interface, interface.id));
        }
        if s.interfaces
            .values()
            .any(|i| i.package == interface.package && i.version == interface.version)
        {
            return Err(Error::already_exists(
                ResourceKind::Interface,
                interface.reference(),
            ));
        }
        s.interfaces.insert(interface.id, interface.clone());
        Ok(())
    }

    async fn get(&self, id: InterfaceId) -> Result<WitInterface> {
        self.state
            .read()
            .interfaces
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(ResourceKind::Interface, id))
    }

    async fn get_version(
        &self,
        package: &PackageName,
        version: Option<&Version>,
    ) -> Result<WitInterface> {
        self.state
            .read()
            .interfaces
            .values()
            .find(|i| &i.package == package && i.version.as_ref() == version)
            .cloned()
            .ok_or_else(|| {
                let id = match version {
                    Some(v) => format!("{package}@{v}"),
                    None => package.to_string(),
                };
                Error::not_found(ResourceKind::Interface, id)
            })
    }

    async fn list(
        &self,
        filter: &InterfaceFilter,
        page: &PageRequest,
    ) -> Result<Page<WitInterface>> {
        let s = self.state.read();
        page_in_memory(
            s.interfaces.values().filter(|i| filter.matches(i)),
            page,
            2,
            |i| vec![i.package.to_string(), i.id.to_string()],
        )
    }

    async fn approve(&self, id: InterfaceId, approval: &Approval) -> Result<WitInterface> {
        approval.validate()?;
        let mut s = self.state.write();
        let row = s
            .interfaces
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(ResourceKind::Interface, id))?;
        if row.approval.is_none() {
            row.approval = Some(approval.clone());
        }
        Ok(row.clone())
    }

    async fn delete(&self, id: InterfaceId) -> Result<()> {
        self.state
            .write()
            .interfaces
            .remove(&id)
            .map(drop)
            .ok_or_else(|| Error::not_found(ResourceKind::Interface, id))
    }

    async fn compatibility_mode(&self, package: &PackageName) -> Result<CompatibilityMode> {
        Ok(self
            .state
            .read()
            .modes
            .get(package)
            .copied()
            .unwrap_or_default())
    }

    async fn set_compatibility_mode(
        &self,
        package: &PackageName,
        mode: CompatibilityMode,
    ) -> Result<()> {
        self.state.write().modes.insert(package.clone(), mode);
        Ok(())
    }
}

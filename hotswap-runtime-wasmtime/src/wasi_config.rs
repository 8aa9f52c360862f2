//! `wasi:config/store` of a component: the configuration revision its
//! version was loaded with, opened by the node (secrets included) and held
//! in zeroized memory. A key the revision does not set reads as `none`;
//! `get-all` lists every key the version declared.

use hotswap_core::domain::ConfigValues;
use wasmtime::component::{HasData, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/config",
        world: "wasi:config/imports",
        imports: { default: trappable },
    });
}

use bindings::wasi::config::store;

/// The interface's prefix, for telling whether a component imports it.
pub(crate) const IMPORT_PREFIX: &str = "wasi:config/";

/// Store data that hosts `wasi:config`.
pub(crate) trait HasConfig {
    fn config(&mut self) -> ConfigView<'_>;
}

/// One instance's view of its configuration.
pub(crate) struct ConfigView<'a>(pub(crate) &'a ConfigValues);

struct Config;

impl HasData for Config {
    type Data<'a> = ConfigView<'a>;
}

/// Add `wasi:config/store` to `linker`.
pub(crate) fn add_to_linker<T: HasConfig + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, Config>(linker, T::config)
}

impl store::Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self.0.get(&key).map(str::to_owned)))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        Ok(Ok(self
            .0
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()))
    }
}

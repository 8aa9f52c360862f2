//! `wasi:keyvalue` (store, atomics, batch) of a component, on the node's
//! [`KeyValueStore`](hotswap_core::keyvalue::KeyValueStore): a bucket opens
//! only when the version's grants name it (the empty identifier opens
//! `default`), keys and values are held to the grants' sizes before the
//! store is called, and store errors reach the guest as the interface's
//! `error`: `no-such-store` for a name that cannot be a bucket,
//! `access-denied` for one not granted, `other` with the reason otherwise
//! (a store that cannot be reached says only that, never its address).

use std::sync::Arc;

use hotswap_core::Error;
use hotswap_core::domain::{BucketName, KeyValueGrants};
use hotswap_core::keyvalue::KeyValueStore;
use hotswap_core::runtime::KeyValueAccess;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/keyvalue",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": super::OpenBucket,
        },
        require_store_data_send: true,
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// The interfaces' prefix, for telling whether a component imports them.
pub(crate) const IMPORT_PREFIX: &str = "wasi:keyvalue/";

/// The most `list-keys` cursors one instance may hold.
const MAX_CURSORS: usize = 4096;

/// A bucket a guest opened.
// Public because the generated bindings re-export it.
#[allow(unreachable_pub)]
pub struct OpenBucket {
    name: BucketName,
}

/// A version's access to the node's store, shared by its instances.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyValue {
    access: Option<Arc<KeyValueAccess>>,
    label: Arc<str>,
}

impl KeyValue {
    pub(crate) fn new(label: &str, access: Option<KeyValueAccess>) -> Self {
        Self {
            access: access.map(Arc::new),
            label: Arc::from(label),
        }
    }

    /// Whether the node has a store for this version to use.
    pub(crate) fn available(&self) -> bool {
        self.access.is_some()
    }

    /// The state of one fresh instance.
    pub(crate) fn fresh(&self) -> KvCtx {
        KvCtx {
            version: self.clone(),
            cursors: Vec::new(),
        }
    }
}

/// One instance's key-value state: its version's access and the
/// `list-keys` cursors handed to it (the guest holds their positions).
pub(crate) struct KvCtx {
    version: KeyValue,
    cursors: Vec<String>,
}

/// What the host functions work on.
pub(crate) struct KvView<'a> {
    ctx: &'a mut KvCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KvView<'a> {
    pub(crate) fn new(ctx: &'a mut KvCtx, table: &'a mut ResourceTable) -> Self {
        Self { ctx, table }
    }
}

/// Store data that hosts `wasi:keyvalue`.
pub(crate) trait HasKeyValue {
    fn keyvalue(&mut self) -> KvView<'_>;
}

struct Kv;

impl HasData for Kv {
    type Data<'a> = KvView<'a>;
}

/// Add `wasi:keyvalue/{store, atomics, batch}` to `linker`.
pub(crate) fn add_to_linker<T: HasKeyValue + Send + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, Kv>(linker, T::keyvalue)?;
    atomics::add_to_linker::<T, Kv>(linker, T::keyvalue)?;
    batch::add_to_linker::<T, Kv>(linker, T::keyvalue)
}

type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

type Target = (BucketName, Arc<dyn KeyValueStore>);

impl KvView<'_> {
    /// The bucket's name and the store, once `check` of the grants passes.
    fn target(
        &self,
        bucket: &Resource<OpenBucket>,
        check: impl FnOnce(&KeyValueGrants) -> Result<(), String>,
    ) -> Answer<Target> {
        let name = self.table.get(bucket)?.name.clone();
        Ok(match &self.ctx.version.access {
            None => Err(store::Error::NoSuchStore),
            Some(a) => check(&a.grants)
                .map(|()| (name, a.store.clone()))
                .map_err(store::Error::Other),
        })
    }

    /// The store's answer as the guest sees it; a failure is logged in
    /// full here.
    fn answer<T>(&self, outcome: hotswap_core::Result<T>) -> Answer<T> {
        Ok(outcome.map_err(|e| {
            tracing::warn!(module = %self.ctx.version.label, error = %e, "key-value operation failed");
            match e {
                Error::Invalid { reason, .. } => store::Error::Other(reason),
                Error::Unavailable { temporary, .. } => store::Error::Other(format!(
                    "the key-value store is unavailable{}",
                    if temporary { " (temporary)" } else { "" }
                )),
                _ => store::Error::Other("the key-value store failed".into()),
            }
        }))
    }
}

/// The target of an operation, or the guest's error for a refused one.
macro_rules! target {
    ($view:ident, $bucket:expr, $check:expr) => {
        match $view.target(&$bucket, $check)? {
            Ok(target) => target,
            Err(refused) => return Ok(Err(refused)),
        }
    };
}

fn keys_fit(grants: &KeyValueGrants, keys: &[String]) -> Result<(), String> {
    keys.iter().try_for_each(|k| grants.check_key(k))
}

fn entry_fits(grants: &KeyValueGrants, key: &str, value: &[u8]) -> Result<(), String> {
    grants.check_key(key)?;
    grants.check_value(value.len())
}

impl store::Host for KvView<'_> {
    async fn open(&mut self, identifier: String) -> Answer<Resource<OpenBucket>> {
        let Some(access) = &self.ctx.version.access else {
            return Ok(Err(store::Error::NoSuchStore));
        };
        let name = if identifier.is_empty() {
            BucketName::default_bucket()
        } else {
            match BucketName::new(identifier) {
                Ok(name) => name,
                Err(_) => return Ok(Err(store::Error::NoSuchStore)),
            }
        };
        if !access.grants.allows(&name) {
            tracing::warn!(
                module = %self.ctx.version.label,
                bucket = %name,
                "key-value bucket denied: not granted to this version"
            );
            return Ok(Err(store::Error::AccessDenied));
        }
        Ok(Ok(self.table.push(OpenBucket { name })?))
    }
}

impl store::HostBucket for KvView<'_> {
    async fn get(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<Option<Vec<u8>>> {
        let (name, store) = target!(self, bucket, |g| g.check_key(&key));
        let outcome = store.get(&name, &key).await;
        self.answer(outcome)
    }

    async fn set(
        &mut self,
        bucket: Resource<OpenBucket>,
        key: String,
        value: Vec<u8>,
    ) -> Answer<()> {
        let (name, store) = target!(self, bucket, |g| entry_fits(g, &key, &value));
        let outcome = store.set(&name, &key, &value).await;
        self.answer(outcome)
    }

    async fn delete(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<()> {
        let (name, store) = target!(self, bucket, |g| g.check_key(&key));
        let outcome = store.delete(&name, &key).await;
        self.answer(outcome)
    }

    async fn exists(&mut self, bucket: Resource<OpenBucket>, key: String) -> Answer<bool> {
        let (name, store) = target!(self, bucket, |g| g.check_key(&key));
        let outcome = store.exists(&name, &key).await;
        self.answer(outcome)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<OpenBucket>,
        cursor: Option<u64>,
    ) -> Answer<store::KeyResponse> {
        let (name, store) = target!(self, bucket, |_| Ok(()));
        // A guest's cursor is 1 + the index of the store's cursor it
        // stands for.
        let from = match cursor {
            None => None,
            Some(n) => match usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| self.ctx.cursors.get(i))
            {
                Some(c) => Some(c.clone()),
                None => {
                    return Ok(Err(store::Error::Other(format!(
                        "cursor {n} was not handed out by list-keys"
                    ))));
                }
            },
        };
        let listed = store.list_keys(&name, from.as_deref()).await;
        let page = match self.answer(listed)? {
            Ok(page) => page,
            Err(e) => return Ok(Err(e)),
        };
        let cursor = match page.cursor {
            None => None,
            Some(_) if self.ctx.cursors.len() >= MAX_CURSORS => {
                return Ok(Err(store::Error::Other(format!(
                    "one call may list at most {MAX_CURSORS} pages"
                ))));
            }
            Some(next) => {
                self.ctx.cursors.push(next);
                Some(self.ctx.cursors.len() as u64)
            }
        };
        Ok(Ok(store::KeyResponse {
            keys: page.keys,
            cursor,
        }))
    }

    async fn drop(&mut self, bucket: Resource<OpenBucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<OpenBucket>,
        key: String,
        delta: u64,
    ) -> Answer<u64> {
        let (name, store) = target!(self, bucket, |g| g.check_key(&key));
        let outcome = store.increment(&name, &key, delta).await;
        self.answer(outcome)
    }
}

impl batch::Host for KvView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<OpenBucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let (name, store) = target!(self, bucket, |g| keys_fit(g, &keys));
        let values = store.get_many(&name, &keys).await;
        self.answer(values.map(|values| {
            keys.into_iter()
                .zip(values)
                .map(|(k, v)| v.map(|v| (k, v)))
                .collect()
        }))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<OpenBucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Answer<()> {
        let (name, store) = target!(self, bucket, |g| key_values
            .iter()
            .try_for_each(|(k, v)| entry_fits(g, k, v)));
        let outcome = store.set_many(&name, &key_values).await;
        self.answer(outcome)
    }

    async fn delete_many(&mut self, bucket: Resource<OpenBucket>, keys: Vec<String>) -> Answer<()> {
        let (name, store) = target!(self, bucket, |g| keys_fit(g, &keys));
        let outcome = store.delete_many(&name, &keys).await;
        self.answer(outcome)
    }
}

//! Components: plain ones called synchronously with values mapped through
//! their WIT types, WASI 0.2 ones run asynchronously with captured stdio.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hotswap_core::domain::{Digest, ModuleKind, ResourceLimits, Value};
use hotswap_core::runtime::http::{HttpCall, HttpResponse};
use hotswap_core::runtime::kit::{self as call, Attempt, Export, Exports, Gate, WasiInput};
use hotswap_core::runtime::{
    CallOutput, CompiledModule, FunctionSignature, Invocation, InvokeNow, Param,
};
use hotswap_core::{Error, Result};
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Val};
use wasmtime_wasi::{WasiCtx, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::errors::{call_error, instantiate_error, wasi_exit};
use crate::http::{self, WasiHttp};
use crate::limiter::{HasLimiter, Limiter, Plain, WasiP2};
use crate::reach::Reach;
use crate::shared::Shared;
use crate::values::{component_type, from_component, to_component};
use hotswap_core::LimitKind;
use hotswap_core::ResourceKind;

pub(crate) enum ComponentPre {
    Plain(InstancePre<Plain>),
    Wasi(InstancePre<WasiP2>),
    /// A component that imports or exports wasi:http; `proxy` when it
    /// exports `wasi:http/incoming-handler`.
    Http {
        pre: InstancePre<WasiHttp>,
        proxy: Option<ProxyPre<WasiHttp>>,
    },
}

/// A compiled component version.
pub(crate) struct ComponentModule {
    shared: Arc<Shared>,
    digest: Digest,
    limits: ResourceLimits,
    pre: ComponentPre,
    exports: Exports<ComponentExportIndex>,
    /// The `wasi:cli/run` export, run for `_start`.
    run: Option<String>,
    gate: Arc<Gate>,
    reach: Reach,
}

impl fmt::Debug for ComponentModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentModule")
            .field("digest", &self.digest)
            .field("wasi", &!matches!(self.pre, ComponentPre::Plain(_)))
            .field("http", &self.serves_http())
            .field("functions", &self.exports.signatures.len())
            .finish()
    }
}

fn signature(name: String, f: &ComponentFunc) -> Option<FunctionSignature> {
    let params = f
        .params()
        .map(|(n, t)| {
            Some(Param {
                name: n.to_owned(),
                ty: component_type(&t)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let results = f
        .results()
        .map(|t| component_type(&t))
        .collect::<Option<Vec<_>>>()?;
    Some(FunctionSignature {
        name,
        params,
        results,
    })
}

/// The callable functions of `component`: top-level ones by name, those of
/// exported interfaces as `interface#function`.
pub(crate) fn exports(engine: &Engine, component: &Component) -> Exports<ComponentExportIndex> {
    let mut callable = Vec::new();
    let mut unmappable = Vec::new();
    let mut add = |name: String, index: Option<ComponentExportIndex>, f: &ComponentFunc| match (
        index,
        signature(name.clone(), f),
    ) {
        (Some(index), Some(signature)) => callable.push(Export { index, signature }),
        _ => unmappable.push(name),
    };
    let ty = component.component_type();
    for (name, item) in ty.exports(engine) {
        match &item.ty {
            ComponentItem::ComponentFunc(f) => {
                add(name.to_owned(), component.get_export_index(None, name), f)
            }
            ComponentItem::ComponentInstance(instance) => {
                let Some(parent) = component.get_export_index(None, name) else {
                    continue;
                };
                for (fname, fitem) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = &fitem.ty {
                        add(
                            format!("{name}#{fname}"),
                            component.get_export_index(Some(&parent), fname),
                            f,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Exports::new(callable, unmappable)
}

impl ComponentModule {
    pub(crate) fn new(
        shared: Arc<Shared>,
        digest: Digest,
        limits: ResourceLimits,
        component: &Component,
        pre: ComponentPre,
        reach: Reach,
    ) -> Self {
        let exports = exports(&shared.engine, component);
        let run = exports
            .signatures
            .iter()
            .map(|s| s.name.clone())
            .find(|n| n.starts_with("wasi:cli/run@") && n.ends_with("#run"));
        let gate = Arc::new(Gate::new(
            LimitKind::ConcurrentInstances,
            limits.max_concurrent_instances,
            shared.config.settings.queue_capacity,
        ));
        Self {
            shared,
            digest,
            limits,
            pre,
            exports,
            run,
            gate,
            reach,
        }
    }

    fn call_plain(
        &self,
        pre: &InstancePre<Plain>,
        export: &Export<ComponentExportIndex>,
        args: Vec<Value>,
        budget: Duration,
    ) -> Result<CallOutput> {
        run_plain(&self.shared, &self.limits, pre, export, args, budget)
    }

    /// The whole call on a blocking thread.
    async fn offload(
        &self,
        pre: &InstancePre<Plain>,
        export: &Export<ComponentExportIndex>,
        args: Vec<Value>,
    ) -> Result<CallOutput> {
        let (shared, limits) = (self.shared.clone(), self.limits);
        let (pre, export) = (pre.clone(), export.clone());
        call::off_the_hot_path(move || {
            run_plain(&shared, &limits, &pre, &export, args, limits.timeout())
        })
        .await
    }

    async fn call_wasi<T: HasLimiter + WasiView>(
        &self,
        pre: &InstancePre<T>,
        export: &Export<ComponentExportIndex>,
        input: WasiInput,
        call: &Invocation,
        state: impl FnOnce(Limiter, WasiCtx) -> T,
    ) -> Result<CallOutput> {
        let WasiInput {
            command,
            stdin,
            args,
        } = input;
        let params = args
            .into_iter()
            .map(to_component)
            .collect::<Result<Vec<_>>>()?;
        let limits = self.shared.call_limits(&self.limits);
        let (mut builder, pipes) =
            self.shared
                .wasi(&call.function, stdin, &call.env, &self.reach.config);
        let data = state(Limiter::new(self.limits.max_memory_bytes), builder.build());
        let mut store = self
            .shared
            .store(data, &self.limits, true, self.limits.timeout())?;
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| instantiate_error(e, limits, store.data_mut().limiter().memory_refused))?;
        let func = instance
            .get_func(&mut store, export.index)
            .ok_or_else(|| Error::internal("export index does not name a function"))?;
        let mut results = vec![Val::Bool(false); export.signature.results.len()];
        let outcome = func.call_async(&mut store, &params, &mut results).await;
        // `wasi:cli/run` returns `result`: err means exit code 1.
        let returned = command.then(|| match results.first() {
            Some(Val::Result(Err(_))) => 1,
            _ => 0,
        });
        let memory_refused = store.data_mut().limiter().memory_refused;
        let exit_code = wasi_exit(outcome, returned, limits, memory_refused)?;
        let fuel = self.shared.fuel_used(&store, &self.limits);
        drop(store);
        let values = if command {
            Vec::new()
        } else {
            results
                .into_iter()
                .map(from_component)
                .collect::<Result<_>>()?
        };
        Ok(pipes.output(values, exit_code, fuel))
    }
}

#[async_trait]
impl CompiledModule for ComponentModule {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn kind(&self) -> ModuleKind {
        ModuleKind::Component
    }

    fn functions(&self) -> &[FunctionSignature] {
        &self.exports.signatures
    }

    fn invoke_now(&self, call: Invocation) -> InvokeNow {
        let ComponentPre::Plain(pre) = &self.pre else {
            return InvokeNow::Later(call);
        };
        if call.function == "_start" {
            return InvokeNow::Later(call);
        }
        call::invoke_now(
            &self.exports,
            call,
            || self.shared.try_enter(&self.gate),
            |export, args| {
                self.shared.attempt(&self.limits, |budget| {
                    self.call_plain(pre, export, args, budget)
                })
            },
        )
    }

    async fn invoke(&self, call: Invocation) -> Result<CallOutput> {
        let command = call.function == "_start";
        let name = match (&self.run, command) {
            (Some(run), true) => run.as_str(),
            (None, true) => {
                return Err(Error::not_found(
                    ResourceKind::Function,
                    "_start (the component exports no wasi:cli/run)",
                ));
            }
            (_, false) => &call.function,
        };
        // Input is checked before a slot is taken: bad input never waits.
        let export = self.exports.get(name)?;
        match &self.pre {
            ComponentPre::Plain(pre) => {
                let first = call::arguments_of(&export.signature, &call.input)?;
                let _slots = self.shared.enter(&self.gate).await?;
                if !call.long_running
                    && let Attempt::Done(outcome) = self.shared.attempt(&self.limits, |budget| {
                        self.call_plain(pre, export, first, budget)
                    })
                {
                    return outcome;
                }
                let args = call::arguments(&export.signature, call.input)?;
                self.offload(pre, export, args).await
            }
            ComponentPre::Wasi(pre) => {
                let input = WasiInput::of(&export.signature, &call, command)?;
                let _slots = self.shared.enter(&self.gate).await?;
                self.call_wasi(pre, export, input, &call, |limiter, wasi| WasiP2 {
                    limiter,
                    wasi,
                    table: wasmtime_wasi::ResourceTable::new(),
                })
                .await
            }
            ComponentPre::Http { pre, .. } => {
                let input = WasiInput::of(&export.signature, &call, command)?;
                let _slots = self.shared.enter(&self.gate).await?;
                self.call_wasi(pre, export, input, &call, |limiter, wasi| {
                    WasiHttp::new(limiter, wasi, &self.reach)
                })
                .await
            }
        }
    }

    fn serves_http(&self) -> bool {
        matches!(&self.pre, ComponentPre::Http { proxy: Some(_), .. })
    }

    async fn serve_http(&self, call: HttpCall) -> Result<HttpResponse> {
        let ComponentPre::Http {
            proxy: Some(pre), ..
        } = &self.pre
        else {
            return Err(Error::not_found(
                ResourceKind::Function,
                "wasi:http/incoming-handler (this component does not export it)",
            ));
        };
        http::serve(
            http::HttpVersion {
                shared: &self.shared,
                limits: self.limits,
                pre,
                gate: &self.gate,
                reach: &self.reach,
            },
            call,
        )
        .await
    }
}

/// One plain call of `export` with `args` in a fresh instance, interrupted
/// after `budget`.
fn run_plain(
    shared: &Shared,
    limits: &ResourceLimits,
    pre: &InstancePre<Plain>,
    export: &Export<ComponentExportIndex>,
    args: Vec<Value>,
    budget: Duration,
) -> Result<CallOutput> {
    let params = args
        .into_iter()
        .map(to_component)
        .collect::<Result<Vec<_>>>()?;
    let mut call_limits = shared.call_limits(limits);
    call_limits.timeout = budget;
    let mut store = shared.store(Limiter::new(limits.max_memory_bytes), limits, true, budget)?;
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| instantiate_error(e, call_limits, store.data().memory_refused))?;
    let func = instance
        .get_func(&mut store, export.index)
        .ok_or_else(|| Error::internal("export index does not name a function"))?;
    let mut results = vec![Val::Bool(false); export.signature.results.len()];
    func.call(&mut store, &params, &mut results)
        .map_err(|e| call_error(e, call_limits, store.data().memory_refused))?;
    let mut out = CallOutput::from_values(
        results
            .into_iter()
            .map(from_component)
            .collect::<Result<_>>()?,
    );
    out.fuel_consumed = shared.fuel_used(&store, limits);
    Ok(out)
}

//! Serving `wasi:http/incoming-handler` components on wasmtime-wasi-http:
//! one fresh instance per request from the version's `ProxyPre`, run as its
//! own task with epoch yielding, answering through a streamed body;
//! outbound requests and key-value calls go through the version's grants
//! ([`Reach`]).

use std::sync::Arc;

use hotswap_core::domain::{ConfigValues, ResourceLimits};
use hotswap_core::error::BoxError;
use hotswap_core::runtime::http::BodyTooLarge;
use hotswap_core::runtime::http::{HttpCall, HttpResponse};
use hotswap_core::runtime::kit::Gate;
use hotswap_core::{Error, Result};
use http_body_util::BodyExt;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::errors::{call_error, instantiate_error};
use crate::keyvalue::{HasKeyValue, KvCtx, KvView};
use crate::limiter::{HasLimiter, Limiter};
use crate::outbound::Outbound;
use crate::reach::Reach;
use crate::shared::Shared;
use crate::wasi_config::{ConfigView, HasConfig};

/// Store state of a component that serves or sends HTTP, or reaches the
/// key-value store.
pub(crate) struct WasiHttp {
    pub(crate) limiter: Limiter,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Outbound,
    kv: KvCtx,
    config: Arc<ConfigValues>,
}

impl WasiHttp {
    pub(crate) fn new(limiter: Limiter, wasi: WasiCtx, reach: &Reach) -> Self {
        Self {
            limiter,
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: reach.outbound.fresh(),
            kv: reach.keyvalue.fresh(),
            config: reach.config.clone(),
        }
    }
}

impl HasConfig for WasiHttp {
    fn config(&mut self) -> ConfigView<'_> {
        ConfigView(&self.config)
    }
}

impl HasKeyValue for WasiHttp {
    fn keyvalue(&mut self) -> KvView<'_> {
        KvView::new(&mut self.kv, &mut self.table)
    }
}

impl WasiView for WasiHttp {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for WasiHttp {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl HasLimiter for WasiHttp {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

/// What one request needs from its version.
pub(crate) struct HttpVersion<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) limits: ResourceLimits,
    pub(crate) pre: &'a ProxyPre<WasiHttp>,
    pub(crate) gate: &'a Arc<Gate>,
    pub(crate) reach: &'a Reach,
}

/// Serve `call` in a fresh instance of `version`.
pub(crate) async fn serve(version: HttpVersion<'_>, call: HttpCall) -> Result<HttpResponse> {
    let HttpVersion {
        shared,
        limits,
        pre,
        gate,
        reach,
    } = version;
    // Slots first: a request that cannot get one never touches the guest.
    let pool = shared.engine_gate.enter_owned().await?;
    let own = gate.enter_owned().await?;
    let data = WasiHttp::new(
        Limiter::new(limits.max_memory_bytes),
        WasiCtx::builder().build(),
        reach,
    );
    let timeout = limits.timeout();
    let mut store = shared.store(data, &limits, true, timeout)?;
    // Yield to other requests on this thread at every epoch tick; the
    // timeout below ends the handler.
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let scheme = match call.scheme.as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let internal = |e: wasmtime::Error| Error::internal(format!("wasi:http request setup: {e:#}"));
    let (sender, mut receiver) = tokio::sync::oneshot::channel();
    let request = store
        .data_mut()
        .http()
        .new_incoming_request(scheme, call.request.map(|body| body.map_err(body_error)))
        .map_err(internal)?;
    let outparam = store
        .data_mut()
        .http()
        .new_response_outparam(sender)
        .map_err(internal)?;
    let call_limits = shared.call_limits(&limits);
    let pre = pre.clone();
    let mut handler = Box::pin(async move {
        // The slots stay taken while the instance lives, streaming included.
        let _slots = (pool, own);
        let run = async {
            let proxy = pre.instantiate_async(&mut store).await.map_err(|e| {
                instantiate_error(e, call_limits, store.data().limiter.memory_refused)
            })?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, outparam)
                .await
                .map_err(|e| call_error(e, call_limits, store.data().limiter.memory_refused))
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Timeout { after: timeout }),
        }
    });
    // The handler runs in this task until it sets the response. One that
    // also finishes its body by then (most do) hands over a complete
    // response, which the connection writes at once; one that goes on
    // streaming continues as a task of its own.
    let answer = tokio::select! {
        biased;
        outcome = &mut handler => match receiver.try_recv() {
            Ok(answer) => answer,
            Err(_) => return Err(outcome.err().unwrap_or_else(no_response)),
        },
        answer = &mut receiver => match answer {
            Ok(answer) => {
                tokio::spawn(handler);
                answer
            }
            // The guest dropped the response-outparam unset.
            Err(_) => return Err(handler.await.err().unwrap_or_else(no_response)),
        },
    };
    match answer {
        Ok(response) => Ok(response.map(|body| body.map_err(BoxError::from).boxed_unsync())),
        Err(code) => Err(answered_error(&code)),
    }
}

fn no_response() -> Error {
    Error::trap("the handler returned without setting a response", None)
}

/// What the guest sees when reading the request body fails.
fn body_error(e: BoxError) -> wasmtime_wasi_http::Error {
    match e.downcast_ref::<BodyTooLarge>() {
        Some(too_large) => wasmtime_wasi_http::Error::HttpRequestBodySize(Some(too_large.limit)),
        None => wasmtime_wasi_http::Error::InternalError(Some(format!("request body: {e}"))),
    }
}

/// The error for a handler that set `response-outparam` to an error code.
fn answered_error(code: &ErrorCode) -> Error {
    Error::trap(
        format!("the handler answered with the error code {code:?}"),
        None,
    )
}

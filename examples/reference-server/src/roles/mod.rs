//! The long-running roles: all-in-one, control plane, edge node.

pub(crate) mod control_plane;
pub(crate) mod edge;
pub(crate) mod serve;

use std::sync::Arc;

use hotswap_control::ControlPlane;
use tokio::net::TcpListener;

use crate::AppResult;

/// Bind `addr`, naming it in the error.
pub(crate) async fn listen(addr: &str) -> AppResult<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}").into())
}

/// Run the control loop of `plane` in the background.
pub(crate) fn spawn_control_loop(plane: &Arc<ControlPlane>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(plane.control_loop().clone().run())
}

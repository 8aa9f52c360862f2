//! WASI preview 1 through wasmer-wasix: stdin from memory, stdout and
//! stderr captured up to a cap, only the allowed environment, no
//! filesystem or network.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use hotswap_core::domain::ConfigValues;
use hotswap_core::runtime::kit::command_env;
use hotswap_core::{Error, Result};
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
use wasmer_wasix::runtime::PluggableRuntime;
use wasmer_wasix::runtime::task_manager::tokio::TokioTaskManager;
use wasmer_wasix::virtual_fs::{self, StaticFile, VirtualFile};
use wasmer_wasix::{Runtime, UnsupportedVirtualNetworking, WasiEnv, WasiEnvBuilder};

/// The wasix runtime shared by every WASI call: tokio's task manager and no
/// networking. Built on the first WASI call, which runs inside tokio.
#[derive(Default)]
pub(crate) struct WasiHost {
    runtime: OnceLock<Arc<dyn Runtime + Send + Sync>>,
}

impl std::fmt::Debug for WasiHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiHost")
            .field("started", &self.runtime.get().is_some())
            .finish()
    }
}

/// The captured output of one WASI call.
pub(crate) struct Pipes {
    pub(crate) stdout: Capture,
    pub(crate) stderr: Capture,
}

impl WasiHost {
    fn runtime(&self) -> Result<Arc<dyn Runtime + Send + Sync>> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt.clone());
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("WASI calls on wasmer must run inside a tokio runtime"))?;
        let mut rt = PluggableRuntime::new(Arc::new(TokioTaskManager::new(handle)));
        rt.set_networking_implementation(UnsupportedVirtualNetworking::default());
        Ok(self.runtime.get_or_init(|| Arc::new(rt)).clone())
    }

    /// A builder for one call named `program`: `stdin` in, output captured
    /// up to `max_output` bytes per stream, the `allowed` part of `env`.
    pub(crate) fn builder(
        &self,
        program: &str,
        stdin: Bytes,
        env: &[(String, String)],
        allowed: &[String],
        config: &ConfigValues,
        max_output: usize,
    ) -> Result<(WasiEnvBuilder, Pipes)> {
        let pipes = Pipes {
            stdout: Capture::new(max_output),
            stderr: Capture::new(max_output),
        };
        let mut b = WasiEnv::builder(program)
            .runtime(self.runtime()?)
            .stdin(Box::new(StaticFile::new(stdin.to_vec())))
            .stdout(Box::new(pipes.stdout.clone()))
            .stderr(Box::new(pipes.stderr.clone()));
        for (k, v) in command_env(config, env, allowed) {
            b.add_env(k, v);
        }
        Ok((b, pipes))
    }
}

/// An output stream kept in memory; writes past the cap fail.
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    cap: usize,
}

impl Capture {
    fn new(cap: usize) -> Self {
        Self {
            bytes: Arc::default(),
            cap,
        }
    }

    /// Everything written so far.
    pub(crate) fn contents(&self) -> Bytes {
        Bytes::from(std::mem::take(
            &mut *self.bytes.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

impl AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut bytes = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        if bytes.len() + buf.len() > self.cap {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("output is capped at {} bytes", self.cap),
            )));
        }
        bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Capture {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::ErrorKind::PermissionDenied.into()))
    }
}

impl AsyncSeek for Capture {
    fn start_seek(self: Pin<&mut Self>, _: io::SeekFrom) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(0))
    }
}

impl VirtualFile for Capture {
    fn last_accessed(&self) -> u64 {
        0
    }

    fn last_modified(&self) -> u64 {
        0
    }

    fn created_time(&self) -> u64 {
        0
    }

    fn size(&self) -> u64 {
        self.bytes.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
    }

    fn set_len(&mut self, _: u64) -> virtual_fs::Result<()> {
        Err(virtual_fs::FsError::PermissionDenied)
    }

    fn unlink(&mut self) -> virtual_fs::Result<()> {
        Ok(())
    }

    fn poll_read_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::PermissionDenied.into()))
    }

    fn poll_write_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(8192))
    }
}

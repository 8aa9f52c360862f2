//! A local HTTP/1.1 upstream for tests of outbound requests: it answers
//! by path and counts the connections it accepted, so a test can prove a
//! denied request never connected.
//!
//! - `/redirect`: `302` to `http://denied.test/`;
//! - `/big`: 64 KiB of `x`;
//! - `/silent`: no answer for a minute;
//! - anything else: `upstream saw PATH`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A local HTTP/1.1 server answering by path, counting connections.
#[derive(Debug)]
pub struct Upstream {
    /// Its port on 127.0.0.1.
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl Upstream {
    /// Listen on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("a bound port").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    if path == "/silent" {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return;
                    }
                    let (status, extra, body) = match path.as_str() {
                        "/redirect" => (
                            "302 Found",
                            "location: http://denied.test/\r\n".to_owned(),
                            String::new(),
                        ),
                        "/big" => ("200 OK", String::new(), "x".repeat(64 * 1024)),
                        _ => ("200 OK", String::new(), format!("upstream saw {path}")),
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { port, connections }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

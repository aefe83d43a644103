//! One HTTP/1.1 connection of [`crate::serve_app`]: hyper's connection driver plus a watchdog that
//! enforces the header-read and idle timeouts, graceful shutdown of the connection, and the JSON
//! body of hyper's own 431 answer.
//!
//! The watchdog knows what the connection is doing from two hooks: the I/O wrapper ([`Tracked`])
//! notes the first byte of a request head, and the service wrapper counts requests in progress
//! (from a complete head until the handler's response). With no request in progress the
//! connection has a deadline — header timeout from its first byte (or from accept, for a new
//! connection), else the idle timeout from the end of the last request — and is dropped when it
//! passes. Requests in progress are bounded by the router's request timeout instead.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tower::ServiceExt as _;

use crate::state::Limits;

/// What the connection is doing.
#[derive(Debug)]
struct Clock {
    /// Requests in progress (head complete, response not produced yet).
    busy: usize,
    /// When the connection was accepted or its last request ended.
    since: Instant,
    /// No request has been served on this connection yet.
    fresh: bool,
    /// First byte of the next request head, while no request is in progress.
    first_byte: Option<Instant>,
}

/// A connection's [`Clock`] and the notification that it changed.
#[derive(Debug)]
struct Watch {
    clock: Mutex<Clock>,
    changed: Notify,
}

impl Watch {
    fn new() -> Self {
        Self {
            clock: Mutex::new(Clock {
                busy: 0,
                since: Instant::now(),
                fresh: true,
                first_byte: None,
            }),
            changed: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Clock) -> T) -> T {
        f(&mut self.clock.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// When the connection must be closed, if no request is in progress.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        self.with(|c| {
            (c.busy == 0).then(|| match c.first_byte {
                Some(t) => t + limits.header_read_timeout,
                None if c.fresh => c.since + limits.header_read_timeout,
                None => c.since + limits.idle_timeout,
            })
        })
    }

    fn bytes_read(&self) {
        let started = self.with(|c| {
            let start = c.busy == 0 && c.first_byte.is_none();
            if start {
                c.first_byte = Some(Instant::now());
            }
            start
        });
        if started {
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        self.with(|c| {
            c.busy += 1;
            c.first_byte = None;
        });
        self.changed.notify_one();
    }

    fn request_ended(&self) {
        self.with(|c| {
            c.busy = c.busy.saturating_sub(1);
            if c.busy == 0 {
                c.since = Instant::now();
                c.fresh = false;
                c.first_byte = None;
            }
        });
        self.changed.notify_one();
    }
}

/// Ends a request on drop (the handler answered, or the connection went away).
struct InProgress(Arc<Watch>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// Serve one connection until it closes, times out, or shutdown ends it (see the module docs).
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(Tracked {
        io: stream,
        watch: watch.clone(),
        rewrite: None,
    });
    let svc_watch = watch.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        svc_watch.request_started();
        let guard = InProgress(svc_watch.clone());
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let resp = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(guard);
            resp
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog below enforces the header timeout (and the idle timeout hyper does not have).
    builder.keep_alive(true).header_read_timeout(None);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let changed = watch.changed.notified();
        let deadline = watch.deadline(&limits);
        let expiry = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = expiry => {
                if watch.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(%peer, "closing a slow or idle connection");
                    return;
                }
            }
            () = changed => {}
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if watch.deadline(&limits).is_some() {
                    // No request in progress: nothing to finish.
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The JSON error body hyper's own 431 answer lacks (hyper writes it without a body when a request
/// head is too large, before any handler runs).
fn json_431() -> Vec<u8> {
    let body = serde_json::json!({
        "error": {
            "code": "headers_too_large",
            "message": "request header fields too large"
        }
    })
    .to_string();
    format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The connection's socket: notes read activity for the watchdog and replaces hyper's bodiless
/// 431 answer with [`json_431`].
struct Tracked {
    io: TcpStream,
    watch: Arc<Watch>,
    /// A replacement being written: (bytes, written so far, length of hyper's original buffer).
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = ready!(Pin::new(&mut self.io).poll_read(cx, buf));
        if result.is_ok() && buf.filled().len() > before {
            self.watch.bytes_read();
        }
        Poll::Ready(result)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.rewrite.is_none() && buf.starts_with(b"HTTP/1.1 431 ") {
            self.rewrite = Some((json_431(), 0, buf.len()));
        }
        let this = &mut *self;
        let Some((bytes, written, original)) = &mut this.rewrite else {
            return Pin::new(&mut this.io).poll_write(cx, buf);
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut this.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Ok(0));
            }
            *written += n;
        }
        // The replacement is out; hyper's original counts as written (it closes the connection
        // after a 431, so nothing follows).
        let n = (*original).min(buf.len());
        this.rewrite = None;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

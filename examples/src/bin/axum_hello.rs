//! axum on ply: an axum `Router` served by hyper-util's server builder on ply's runtime,
//! with no tokio runtime anywhere in the process.
//!
//! The pieces: `ply_net::TcpListener` accepts; each `ply_net::TcpStream` implements
//! tokio's `AsyncRead`/`AsyncWrite` (ply-net's `tokio-io` feature), so hyper-util's
//! `TokioIo` turns it into hyper's I/O; hyper-util's `auto::Builder` speaks HTTP/1.1 and
//! HTTP/2 (prior knowledge), spawning through [`HyperExecutor`] and timing out through
//! [`HyperTimer`] (ply-timer's wheel); `TowerToHyperService` hands each request to the
//! axum `Router`, a tower service. The routes:
//!
//! - `/`: plain text;
//! - `/json`: a JSON body (axum's `Json` over serde);
//! - `/stream`: a body of several chunks produced over time (a `futures` stream), sent
//!   with chunked transfer encoding as each chunk is ready;
//! - anything else: 404 with a short text.
//!
//! It listens on loopback only, prints its address, and serves until killed or, with
//! `--seconds N`, for N seconds, then prints how many connections it accepted.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin axum_hello -- --addr 127.0.0.1:3000 --seconds 60
//! ```
//!
//! and from another terminal:
//!
//! ```text
//! curl http://127.0.0.1:3000/
//! curl http://127.0.0.1:3000/json
//! curl -N http://127.0.0.1:3000/stream
//! curl --http2-prior-knowledge http://127.0.0.1:3000/json
//! curl -i http://127.0.0.1:3000/nowhere
//! ```
//!
//! `cargo run -p ply-examples --bin pooled_client` is a pooled hyper-util client for it.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use hyper::rt::Executor as _;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use ply_examples::{thousands, Args};
use ply_net::hyper::{HyperExecutor, HyperTimer};
use ply_net::TcpListener;
use serde::Serialize;

const USAGE: &str = "\
usage: axum_hello [--addr IP:PORT] [--seconds N] [--threads N]

  --addr IP:PORT   loopback address to listen on (default 127.0.0.1:3000)
  --seconds N      stop after N seconds (default: serve until killed)
  --threads N      0 = current-thread runtime, N = N workers (default: cores)";

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How many chunks `/stream` sends, and the pause before each after the first.
pub(crate) const STREAM_CHUNKS: usize = 5;
const STREAM_PAUSE: Duration = Duration::from_millis(20);

fn main() {
    let mut args = Args::parse(USAGE);
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:3000");
    let seconds = ply_examples::seconds(&mut args, "--seconds", None);
    let threads = ply_examples::threads(&mut args);
    args.finish();

    let rt = match ply_examples::build_runtime(threads, None) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("axum_hello: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let counts = Arc::new(Counts::default());
    let served = rt.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!(
            "axum_hello: listening on http://{}/",
            listener.local_addr()?
        );
        let serving = serve(listener, app(), counts.clone());
        match seconds {
            Some(limit) => {
                println!("axum_hello: stopping after {} s", limit.as_secs());
                // The timeout ends the accept loop; open connections are dropped with
                // the runtime.
                ply_net::timeout(limit, serving).await.unwrap_or(Ok(()))
            }
            None => serving.await,
        }
    });
    if let Err(e) = served {
        eprintln!("axum_hello: {addr}: {e}");
        std::process::exit(1);
    }
    println!(
        "axum_hello: accepted {} connections",
        thousands(counts.connections.load(Relaxed))
    );
}

/// The application: four routes, nothing ply-specific in it.
pub(crate) fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on ply!\n" }))
        .route("/json", get(json))
        .route("/stream", get(stream))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
}

/// The body of `/json`.
#[derive(Debug, Serialize)]
pub(crate) struct Greeting {
    message: &'static str,
    runtime: &'static str,
    layers: [&'static str; 3],
}

async fn json() -> Json<Greeting> {
    Json(Greeting {
        message: "hello",
        runtime: "ply",
        layers: ["executor", "timer", "reactor"],
    })
}

/// The text of chunk `i` of `/stream`.
pub(crate) fn stream_chunk(i: usize) -> String {
    format!("chunk {i} of {STREAM_CHUNKS}\n")
}

/// `/stream`: the chunks come from a stream that sleeps on ply's timer before each one
/// after the first, so hyper sends them as they are produced.
async fn stream() -> Body {
    let chunks = futures::stream::unfold(0, |i| async move {
        if i == STREAM_CHUNKS {
            return None;
        }
        if i > 0 {
            ply_net::sleep(STREAM_PAUSE).await;
        }
        Some((Ok::<_, io::Error>(Bytes::from(stream_chunk(i))), i + 1))
    });
    Body::from_stream(chunks)
}

/// What the server counts.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Connections accepted.
    pub(crate) connections: AtomicU64,
}

/// Accepts on `listener` until it fails, serving each connection with `app` in a task
/// of its own.
///
/// # Errors
///
/// None in practice: accept errors (out of fds, a peer that reset before the accept) are
/// printed and the loop goes on.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    counts: Arc<Counts>,
) -> io::Result<()> {
    let mut http = auto::Builder::new(HyperExecutor::new());
    http.http1()
        .timer(HyperTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    http.http2().timer(HyperTimer::new());
    // `serve_connection` borrows the builder; each connection task gets a clone of it.
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            // Out of fds: the listener backs off by itself before the next accept.
            Err(e) => {
                eprintln!("axum_hello: accept: {e}");
                continue;
            }
        };
        counts.connections.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let http = http.clone();
        let service = TowerToHyperService::new(app.clone());
        HyperExecutor::new().execute(async move {
            if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
                // Clients that hang up mid-request are routine; only say what is not.
                if !is_hang_up(&*e) {
                    eprintln!("axum_hello: connection: {e}");
                }
            }
        });
    }
}

/// Whether a connection error is only the client going away.
fn is_hang_up(e: &(dyn std::error::Error + 'static)) -> bool {
    match e.downcast_ref::<hyper::Error>() {
        Some(e) => e.is_incomplete_message() || e.is_canceled(),
        None => e
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::ConnectionReset),
    }
}

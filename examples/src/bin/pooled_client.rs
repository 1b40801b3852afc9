//! hyper-util's pooled client on ply: `hyper_util::client::legacy::Client` with a
//! connector that dials with `ply_net::TcpStream`, sending many requests over a few
//! kept-alive connections.
//!
//! The connector ([`PlyConnector`]) is a `tower::Service<Uri>` whose connections
//! ([`PlyConnection`]) implement hyper's `Read`/`Write` (through ply-net's `hyper`
//! feature) and hyper-util's `Connection`. The client spawns its connection tasks
//! through [`HyperExecutor`] and runs its pool's idle timer on [`HyperTimer`]. The
//! connector counts its connects, so the run shows the pool at work: with `--concurrency
//! C`, N requests need about C connections, not N.
//!
//! Start the server of `axum_hello` first, then run:
//!
//! ```text
//! cargo run --release -p ply-examples --bin axum_hello -- --addr 127.0.0.1:3000 --seconds 60
//! cargo run --release -p ply-examples --bin pooled_client -- --addr 127.0.0.1:3000 --path /json --requests 1000 --concurrency 8
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::rt::ReadBufCursor;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use ply_examples::{human_duration, thousands, Args};
use ply_net::hyper::{HyperExecutor, HyperTimer};
use ply_net::TcpStream;

const USAGE: &str = "\
usage: pooled_client [--addr IP:PORT] [--path PATH] [--requests N] [--concurrency C] [--threads N]

  --addr IP:PORT     loopback address of the server (default 127.0.0.1:3000)
  --path PATH        path to GET (default /json)
  --requests N       how many requests (default 1000)
  --concurrency C    how many in flight at once (default 8)
  --threads N        0 = current-thread runtime, N = N workers (default: cores)";

fn main() {
    let mut args = Args::parse(USAGE);
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:3000");
    let path: String = args.value("--path", "/json".to_owned());
    let requests = ply_examples::count(&mut args, "--requests", 1000, 1..=10_000_000);
    let concurrency = ply_examples::count(&mut args, "--concurrency", 8, 1..=10_000);
    let threads = ply_examples::threads(&mut args);
    args.finish();
    let uri: Uri = match format!("http://{addr}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => ply_examples::usage_error(USAGE, &format!("--path {path}: {e}")),
    };

    let rt = match ply_examples::build_runtime(threads, None) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pooled_client: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let connector = PlyConnector::new();
    let start = Instant::now();
    let outcome = rt.block_on(get_many(
        &client(connector.clone()),
        &uri,
        requests,
        concurrency,
    ));
    let took = start.elapsed();
    match outcome {
        Ok(bytes) => println!(
            "pooled_client: {} requests to {uri} answered 200 ({} body bytes) in {} over {} connections",
            thousands(requests as u64),
            thousands(bytes),
            human_duration(took),
            thousands(connector.connects()),
        ),
        Err(e) => {
            eprintln!("pooled_client: {uri}: {e}");
            std::process::exit(1);
        }
    }
}

/// A pooled client on ply: connections from `connector`, tasks on the current runtime,
/// idle connections closed after 30 s by ply's timer.
pub(crate) fn client(connector: PlyConnector) -> Client<PlyConnector, Empty<Bytes>> {
    Client::builder(HyperExecutor::new())
        .timer(HyperTimer::new())
        .pool_timer(HyperTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// GETs `uri` `requests` times, `concurrency` at a time; the total body bytes.
///
/// # Errors
///
/// The first request that fails or answers other than 200.
pub(crate) async fn get_many(
    client: &Client<PlyConnector, Empty<Bytes>>,
    uri: &Uri,
    requests: usize,
    concurrency: usize,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let mut answers = futures::stream::iter(0..requests)
        .map(|_| async {
            let res = client.get(uri.clone()).await?;
            if res.status() != hyper::StatusCode::OK {
                return Err(format!("status {}", res.status()).into());
            }
            let body = res.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(body.len() as u64)
        })
        .buffer_unordered(concurrency);
    let mut total = 0;
    while let Some(answer) = answers.next().await {
        total += answer?;
    }
    Ok(total)
}

/// A connector for hyper-util's legacy [`Client`] that dials with ply's [`TcpStream`]
/// (host names resolve on ply's blocking pool) and counts its connects. Plain `http`
/// only.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlyConnector {
    connects: Arc<AtomicU64>,
}

impl PlyConnector {
    /// A connector that has made no connection yet.
    pub(crate) fn new() -> PlyConnector {
        PlyConnector::default()
    }

    /// How many connections it has made (clones share the count).
    pub(crate) fn connects(&self) -> u64 {
        self.connects.load(Relaxed)
    }
}

impl tower_service::Service<Uri> for PlyConnector {
    type Response = PlyConnection;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PlyConnection>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Every connect is independent: always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connects = self.connects.clone();
        Box::pin(async move {
            let invalid =
                |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {uri}"));
            if uri.scheme_str() != Some("http") {
                return Err(invalid("PlyConnector speaks plain http only"));
            }
            // `Uri::host` keeps the brackets of an IPv6 literal.
            let host = uri.host().ok_or_else(|| invalid("no host in"))?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(80);
            let stream = TcpStream::connect((host, port)).await?;
            stream.set_nodelay(true)?;
            connects.fetch_add(1, Relaxed);
            Ok(PlyConnection(stream))
        })
    }
}

/// A connection made by [`PlyConnector`]: a ply [`TcpStream`] with hyper's I/O traits and
/// hyper-util's [`Connection`].
#[derive(Debug)]
pub(crate) struct PlyConnection(TcpStream);

impl PlyConnection {
    /// The server's address.
    #[allow(dead_code, reason = "for the tests")]
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

impl Connection for PlyConnection {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for PlyConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        hyper::rt::Read::poll_read(Pin::new(&mut self.get_mut().0), cx, buf)
    }
}

impl hyper::rt::Write for PlyConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write(Pin::new(&mut self.get_mut().0), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_shutdown(Pin::new(&mut self.get_mut().0), cx)
    }

    fn is_write_vectored(&self) -> bool {
        hyper::rt::Write::is_write_vectored(&self.0)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write_vectored(Pin::new(&mut self.get_mut().0), cx, bufs)
    }
}

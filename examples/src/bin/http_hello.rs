//! hyper 1.x on ply: an HTTP/1.1 server answering `Hello, world!` to every request.
//!
//! hyper runs unchanged: `ply_net::TcpStream` implements hyper's `Read` and `Write`,
//! [`HyperTimer`] gives hyper its timers (the header read timeout, here 10 s) on
//! ply-timer's wheel, and [`HyperExecutor`] spawns each connection as a ply task, the same
//! executor hyper's HTTP/2 builders take. Connections are kept alive between requests.
//! It listens on loopback only, prints its address, and serves until killed or, with
//! `--seconds N`, for N seconds, then prints how many requests it answered.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin http_hello -- --addr 127.0.0.1:3000 --seconds 30
//! ```
//!
//! and from another terminal:
//!
//! ```text
//! curl http://127.0.0.1:3000/
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::rt::Executor as _;
use hyper::{header, Request, Response};
use ply_examples::{thousands, Args};
use ply_net::hyper::{HyperExecutor, HyperTimer};
use ply_net::TcpListener;

const USAGE: &str = "\
usage: http_hello [--addr IP:PORT] [--seconds N] [--threads N]

  --addr IP:PORT   loopback address to listen on (default 127.0.0.1:3000)
  --seconds N      stop after N seconds (default: serve until killed)
  --threads N      0 = current-thread runtime, N = N workers (default: cores)";

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server counts.
#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    requests: AtomicU64,
}

fn main() {
    let mut args = Args::parse(USAGE);
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:3000");
    let seconds = ply_examples::seconds(&mut args, "--seconds", None);
    let threads = ply_examples::threads(&mut args);
    args.finish();

    let rt = ply_examples::start_runtime("http_hello", threads, None);
    let counts = Arc::new(Counts::default());
    if let Err(e) = rt.block_on(serve(addr, seconds, counts.clone())) {
        eprintln!("http_hello: {addr}: {e}");
        std::process::exit(1);
    }
    println!(
        "http_hello: answered {} requests on {} connections",
        thousands(counts.requests.load(Relaxed)),
        thousands(counts.connections.load(Relaxed)),
    );
}

/// Binds and accepts until `seconds` have passed (or forever).
async fn serve(addr: SocketAddr, seconds: Option<Duration>, counts: Arc<Counts>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "http_hello: listening on http://{}/",
        listener.local_addr()?
    );
    match seconds {
        Some(limit) => {
            println!("http_hello: stopping after {} s", limit.as_secs());
            // The timeout ends the accept loop; open connections are dropped with the
            // runtime.
            let _ = ply_net::timeout(limit, accept_loop(&listener, &counts)).await;
        }
        None => accept_loop(&listener, &counts).await,
    }
    Ok(())
}

/// Accepts forever; hyper serves each connection in its own task.
async fn accept_loop(listener: &TcpListener, counts: &Arc<Counts>) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(HyperTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            // Out of fds: the listener backs off by itself before the next accept.
            Err(e) => {
                eprintln!("http_hello: accept: {e}");
                continue;
            }
        };
        counts.connections.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let counts = counts.clone();
        let service = hyper::service::service_fn(move |req| hello(req, counts.clone()));
        let connection = http.serve_connection(stream, service);
        HyperExecutor::new().execute(async move {
            if let Err(e) = connection.await {
                // Clients that hang up mid-request are routine; say so and move on.
                if !e.is_incomplete_message() {
                    eprintln!("http_hello: connection: {e}");
                }
            }
        });
    }
}

/// The one page this server has.
async fn hello(
    _req: Request<Incoming>,
    counts: Arc<Counts>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    counts.requests.fetch_add(1, Relaxed);
    let mut res = Response::new(Full::new(Bytes::from_static(b"Hello, world!\n")));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

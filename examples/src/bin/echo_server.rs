//! A TCP echo server on the ply runtime: every byte a client sends comes straight back.
//!
//! One task accepts connections; each connection gets a task of its own that reads into a
//! buffer and writes the bytes back until the client closes. Choose the runtime with
//! `--threads` (0 = current-thread: tasks, reactor and timers all on the main thread; N =
//! N workers with work stealing) and the kernel mechanism with `--selector`. With
//! `--seconds N` it stops by itself after N seconds and prints what each layer did;
//! without, it serves until Ctrl-C, which stops it just as cleanly. It listens on loopback only.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin echo_server -- --addr 127.0.0.1:7000 --threads 2 --selector epoll --seconds 10
//! ```
//!
//! and drive it from another terminal with `echo_client` (or `nc 127.0.0.1 7000`):
//!
//! ```text
//! cargo run --release -p ply-examples --bin echo_client -- --addr 127.0.0.1:7000 --connections 50 --seconds 5
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ply_examples::{layer_table, thousands, Args};
use ply_net::Backend;
use ply_net::{TcpListener, TcpStream};

const USAGE: &str = "\
usage: echo_server [--addr IP:PORT] [--threads N] [--selector epoll|poll|select] [--seconds N]

  --addr IP:PORT    loopback address to listen on (default 127.0.0.1:7000)
  --threads N       0 = current-thread runtime, N = N worker threads (default: cores)
  --selector NAME   epoll, poll or select (default: PLY_SELECTOR, else epoll)
  --seconds N       stop after N seconds and print what each layer did (default: run
                    until Ctrl-C)";

/// What the connections did, shared by their tasks.
#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    bytes: AtomicU64,
}

fn main() {
    let mut args = Args::parse(USAGE);
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:7000");
    let threads = ply_examples::threads(&mut args);
    let selector: Option<Backend> = args.opt("--selector");
    let seconds = ply_examples::seconds(&mut args, "--seconds", None);
    args.finish();

    // Block SIGINT before any other thread exists: the runtime's workers inherit the mask,
    // so Ctrl-C reaches `ply_net::signal::ctrl_c()` instead of killing the process, and
    // the server stops cleanly and prints its layer table.
    ply_examples::block_sigint();

    let rt = ply_examples::start_runtime("echo_server", threads, selector);
    let backend = rt.handle().reactor().backend();
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let result = rt.block_on(serve(addr, seconds, counts.clone(), threads, backend));
    if let Err(e) = result {
        eprintln!("echo_server: {addr}: {e}");
        std::process::exit(1);
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = counts.bytes.load(Relaxed);
    println!(
        "\nserved {} connections, echoed {} bytes in {secs:.1} s ({:.1} MB/s)\n",
        thousands(counts.connections.load(Relaxed)),
        thousands(bytes),
        bytes as f64 / secs / 1e6,
    );
    println!("What each layer did:\n{}", layer_table(&rt.stats(), None));
}

/// Binds, then accepts until `seconds` have passed (or forever).
async fn serve(
    addr: SocketAddr,
    seconds: Option<Duration>,
    counts: Arc<Counts>,
    threads: usize,
    backend: Backend,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "echo_server: listening on {} ({})",
        listener.local_addr()?,
        ply_examples::describe_runtime(threads, backend)
    );
    let interrupted = Box::pin(ply_net::signal::ctrl_c());
    let serving = Box::pin(async {
        match seconds {
            Some(limit) => {
                println!("echo_server: stopping after {} s", limit.as_secs());
                // The timeout ends the accept loop; the connection tasks are dropped with
                // the runtime.
                let _ = ply_net::timeout(limit, accept_loop(&listener, &counts)).await;
            }
            None => accept_loop(&listener, &counts).await,
        }
    });
    if let futures::future::Either::Left((signal, _)) =
        futures::future::select(interrupted, serving).await
    {
        signal?;
        println!("\necho_server: Ctrl-C, stopping");
    }
    Ok(())
}

/// Accepts connections forever, one task each.
async fn accept_loop(listener: &TcpListener, counts: &Arc<Counts>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                counts.connections.fetch_add(1, Relaxed);
                let counts = counts.clone();
                // Detached: the task ends when its client closes.
                drop(ply_net::spawn(async move {
                    if let Err(e) = echo(&stream, &counts).await {
                        // A client that resets is its own business, not the server's.
                        if e.kind() != io::ErrorKind::ConnectionReset {
                            eprintln!("echo_server: connection: {e}");
                        }
                    }
                }));
            }
            // Out of fds: the listener backs off by itself before the next accept.
            Err(e) => eprintln!("echo_server: accept: {e}"),
        }
    }
}

/// Echoes until the client closes its side.
async fn echo(stream: &TcpStream, counts: &Counts) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        counts.bytes.fetch_add(n as u64, Relaxed);
    }
}

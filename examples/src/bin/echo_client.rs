//! A load generator for an echo server: many connections, each sending a message and
//! waiting for its echo, again and again, for a fixed time.
//!
//! Each connection is one task on a ply runtime. A round trip writes `--size` bytes and
//! reads them back (both at once, so a message larger than the socket buffers cannot
//! deadlock), checks every byte, and records the latency in the task's own histogram; the
//! histograms are merged at the end. Every round trip has a 2-second timeout, connecting
//! has one too, and the run stops after `--seconds`, so the client always ends by itself.
//! It prints the progress each second, then requests/s, MB/s and latency percentiles, and
//! exits with status 1 if any echo was wrong, timed out or failed.
//!
//! Start a server first (`echo_server`), then run:
//!
//! ```text
//! cargo run --release -p ply-examples --bin echo_client -- --addr 127.0.0.1:7000 --connections 50 --size 64 --seconds 5
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::try_join;
use ply_examples::{human_duration, thousands, Args, Histogram};
use ply_net::Backend;
use ply_net::TcpStream;

const USAGE: &str = "\
usage: echo_client [--addr IP:PORT] [--connections N] [--size BYTES] [--seconds N]
                   [--threads N] [--selector epoll|poll|select]

  --addr IP:PORT     the echo server, on loopback (default 127.0.0.1:7000)
  --connections N    concurrent connections, 1 to 10000 (default 50)
  --size BYTES       message size, 1 to 4194304 (default 64)
  --seconds N        how long to run (default 5)
  --threads N        0 = current-thread runtime, N = N workers (default: cores)
  --selector NAME    epoll, poll or select (default: PLY_SELECTOR, else epoll)";

/// How long one round trip may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What one connection did.
struct Report {
    latency: Histogram,
    wrong: u64,
    timeouts: u64,
    error: Option<io::Error>,
}

fn main() {
    let mut args = Args::parse(USAGE);
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:7000");
    let connections = ply_examples::count(&mut args, "--connections", 50, 1..=10_000);
    let size = ply_examples::count(&mut args, "--size", 64, 1..=4 << 20);
    let seconds = ply_examples::seconds(&mut args, "--seconds", Some(5)).unwrap_or_default();
    let threads = ply_examples::threads(&mut args);
    let selector: Option<Backend> = args.opt("--selector");
    args.finish();

    let rt = ply_examples::start_runtime("echo_client", threads, selector);
    println!(
        "echo_client: {connections} connections to {addr}, {size}-byte messages, {} s ({})",
        seconds.as_secs(),
        ply_examples::describe_runtime(threads, rt.handle().reactor().backend()),
    );
    let ok = rt.block_on(run(addr, connections, size, seconds));
    std::process::exit(if ok { 0 } else { 1 });
}

/// Connects, runs the load, prints the results; `false` if anything went wrong.
async fn run(addr: SocketAddr, connections: usize, size: usize, seconds: Duration) -> bool {
    // Connect everything first, so the measured time is all round trips.
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT).await {
            Ok(s) => streams.push(s),
            Err(e) => {
                eprintln!("echo_client: connect to {addr}: {e} (is echo_server running?)");
                return false;
            }
        }
    }

    let started = Instant::now();
    let until = started + seconds;
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, stream)| ply_net::spawn(client(stream, id as u64, size, until, done.clone())))
        .collect();
    let progress = ply_net::spawn(progress(started, until, done.clone(), size));

    let mut total = Histogram::new();
    let (mut wrong, mut timeouts, mut failed) = (0, 0, 0);
    for task in tasks {
        match task.await {
            Ok(r) => {
                total.merge(&r.latency);
                wrong += r.wrong;
                timeouts += r.timeouts;
                if let Some(e) = r.error {
                    failed += 1;
                    if failed <= 3 {
                        eprintln!("echo_client: a connection failed: {e}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("echo_client: a client task failed: {e}");
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = progress.await;

    let n = total.count();
    println!(
        "\n{} round trips in {elapsed:.2} s: {} requests/s, {:.1} MB/s each way",
        thousands(n),
        thousands((n as f64 / elapsed) as u64),
        (n * size as u64) as f64 / elapsed / 1e6,
    );
    println!(
        "latency: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        human_duration(total.percentile(50.0)),
        human_duration(total.percentile(90.0)),
        human_duration(total.percentile(99.0)),
        human_duration(total.percentile(99.9)),
        human_duration(total.max()),
    );
    if wrong + timeouts + failed > 0 {
        eprintln!(
            "echo_client: FAILED: {wrong} wrong echoes, {timeouts} timeouts, {failed} failed \
             connections"
        );
        return false;
    }
    println!("every echo matched what was sent");
    true
}

/// One connection's loop: send, wait for the echo, check it, until `until`.
async fn client(
    stream: TcpStream,
    id: u64,
    size: usize,
    until: Instant,
    done: Arc<AtomicU64>,
) -> Report {
    let mut report = Report {
        latency: Histogram::new(),
        wrong: 0,
        timeouts: 0,
        error: None,
    };
    if let Err(e) = stream.set_nodelay(true) {
        report.error = Some(e);
        return report;
    }
    let mut msg = vec![0u8; size];
    let mut echo = vec![0u8; size];
    let mut seq = 0u64;
    while Instant::now() < until {
        fill(&mut msg, id, seq);
        let t0 = Instant::now();
        let round_trip = try_join(stream.write_all(&msg), stream.read_exact(&mut echo));
        match ply_net::timeout(REQUEST_TIMEOUT, round_trip).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                report.error = Some(e);
                break;
            }
            Err(_elapsed) => {
                // Half a message may still be in flight: this connection is done.
                report.timeouts += 1;
                break;
            }
        }
        report.latency.record(t0.elapsed());
        if echo != msg {
            report.wrong += 1;
            break;
        }
        done.fetch_add(1, Relaxed);
        seq += 1;
    }
    report
}

/// A message no other connection or round trip sends, so a misrouted echo shows.
fn fill(msg: &mut [u8], id: u64, seq: u64) {
    let seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq;
    for (i, b) in msg.iter_mut().enumerate() {
        *b = (seed.wrapping_add(i as u64).wrapping_mul(31) >> 3) as u8;
    }
}

/// Prints the round trips of each second until `until`.
async fn progress(started: Instant, until: Instant, done: Arc<AtomicU64>, size: usize) {
    let mut tick = ply_net::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick is immediate
    let mut last = 0;
    while Instant::now() + Duration::from_millis(100) < until {
        tick.tick().await;
        let now = done.load(Relaxed);
        let per_sec = now - last;
        last = now;
        println!(
            "  {:>4.1} s  {:>10} round trips/s  {:>7.1} MB/s",
            started.elapsed().as_secs_f64(),
            thousands(per_sec),
            (per_sec * size as u64) as f64 / 1e6,
        );
    }
}

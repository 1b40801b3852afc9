//! The ply demo: an echo server and 200 clients on one runtime for three seconds, then
//! what each layer did to make it happen.
//!
//! Everything runs in this process, over loopback, on one [`ply_net::Runtime`]
//! (multi-threaded, one worker per core, unless `--threads` says otherwise):
//!
//! - **the server**: one task accepts; each connection gets a task that reads and writes
//!   the bytes back. A connection silent for a second is closed, by a `ply_net::timeout`
//!   around each read.
//! - **the busy clients** (`--connections`, default 200): each sends a 64-byte message
//!   that no other client sends, waits for the echo under a 2-second `ply_net::timeout`,
//!   checks every byte, and goes again until the time is up.
//! - **four idle clients**: they connect and say nothing, so the server's idle timeout
//!   closes them: timers firing, not just being cancelled.
//! - **the progress line**: a `ply_net::interval` prints, once a second, the echoes of the
//!   last second and what the kernel and the executor did for them.
//!
//! Then it prints the throughput, the latency percentiles, and the counters of every
//! layer from [`ply_net::Runtime::stats`], bottom up (the kernel's selector, the reactor,
//! the executor, the timer wheel), divided per echo, with a few lines on how to read them.
//! It ends by itself after about `--seconds` (default 3) plus a fraction of a second, with
//! status 0, or 1 if any echo came back wrong, late or not at all.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin demo
//! ```
//!
//! or, to compare runtimes and kernel mechanisms:
//!
//! ```text
//! cargo run --release -p ply-examples --bin demo -- --threads 0 --selector poll --seconds 3
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::try_join;
use ply_examples::{human_duration, layer_table, thousands, Args, Histogram};
use ply_net::Backend;
use ply_net::{Runtime, RuntimeStats, TcpListener, TcpStream};

const USAGE: &str = "\
usage: demo [--seconds N] [--connections N] [--size BYTES] [--threads N]
            [--selector epoll|poll|select]

  --seconds N        how long the clients run (default 3)
  --connections N    busy client connections, 1 to 5000 (default 200)
  --size BYTES       message size, 1 to 65536 (default 64)
  --threads N        0 = current-thread runtime, N = N workers (default: cores)
  --selector NAME    epoll, poll or select (default: PLY_SELECTOR, else epoll)";

/// The server closes a connection that has been silent this long.
const IDLE: Duration = Duration::from_secs(1);
/// A round trip that takes longer than this counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How many clients connect and say nothing.
const IDLE_CLIENTS: usize = 4;

/// What the server's tasks count.
#[derive(Default)]
struct Server {
    accepted: AtomicU64,
    open: AtomicU64,
    idle_closed: AtomicU64,
}

/// The settings of one run.
#[derive(Clone, Copy)]
struct Plan {
    connections: usize,
    size: usize,
    seconds: Duration,
}

/// What one busy client did.
#[derive(Default)]
struct ClientReport {
    latency: Histogram,
    wrong: u64,
    timeouts: u64,
    error: Option<String>,
}

fn main() {
    let mut args = Args::parse(USAGE);
    let plan = Plan {
        seconds: ply_examples::seconds(&mut args, "--seconds", Some(3)).unwrap_or_default(),
        connections: ply_examples::count(&mut args, "--connections", 200, 1..=5000),
        size: ply_examples::count(&mut args, "--size", 64, 1..=65536),
    };
    let threads = ply_examples::threads(&mut args);
    let selector: Option<Backend> = args.opt("--selector");
    args.finish();

    // Ctrl-C ends the demo early but cleanly, with the layer table: block SIGINT before
    // any other thread exists (the workers inherit the mask) and listen for it below.
    ply_examples::block_sigint();

    let rt = ply_examples::start_runtime("demo", threads, selector);
    let shape = ply_examples::describe_runtime(threads, rt.handle().reactor().backend());
    let outcome = rt.block_on(async {
        let interrupted = Box::pin(ply_net::signal::ctrl_c());
        match futures::future::select(interrupted, Box::pin(run(&rt, plan, &shape))).await {
            futures::future::Either::Left((signal, _)) => {
                signal?;
                println!("\ndemo: Ctrl-C, stopping early");
                println!("What each layer did:\n{}", layer_table(&rt.stats(), None));
                Ok(true)
            }
            futures::future::Either::Right((done, _)) => done,
        }
    });
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::exit(1);
        }
    }
}

/// The whole run; `Ok(false)` if a check failed.
async fn run(rt: &Runtime, plan: Plan, shape: &str) -> io::Result<bool> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Arc::new(Server::default());
    drop(ply_net::spawn(accept_loop(listener, server.clone())));

    println!("ply demo: an echo server and its clients on one runtime\n");
    println!("  runtime   {shape}");
    println!(
        "  server    {addr}: a task per connection; closes connections idle for {} ms",
        IDLE.as_millis()
    );
    println!(
        "  clients   {} busy connections ({}-byte echoes, each under a {} s timeout)",
        plan.connections,
        plan.size,
        REQUEST_TIMEOUT.as_secs()
    );
    println!("            + {IDLE_CLIENTS} idle connections that never say a word");
    println!("  run       {} s\n", plan.seconds.as_secs());

    // Connect everything before the clock starts.
    let mut streams = Vec::with_capacity(plan.connections);
    for i in 0..plan.connections {
        match TcpStream::connect_timeout(addr, REQUEST_TIMEOUT).await {
            Ok(s) => streams.push(s),
            Err(e) => {
                let n = plan.connections;
                return Err(io::Error::new(
                    e.kind(),
                    format!("connecting client {i} of {n}: {e}"),
                ));
            }
        }
    }
    let mut idle = Vec::with_capacity(IDLE_CLIENTS);
    for _ in 0..IDLE_CLIENTS {
        idle.push(ply_net::spawn(idle_client(addr)));
    }

    let started = Instant::now();
    let until = started + plan.seconds;
    let echoes = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| {
            let (echoes, stop) = (echoes.clone(), stop.clone());
            ply_net::spawn(busy_client(s, id as u64, plan.size, until, echoes, stop))
        })
        .collect();

    progress(rt, started, until, &echoes, plan.size).await;

    let mut latency = Histogram::new();
    let (mut wrong, mut timeouts, mut errors) = (0, 0, Vec::new());
    for client in clients {
        match client.await {
            Ok(r) => {
                latency.merge(&r.latency);
                wrong += r.wrong;
                timeouts += r.timeouts;
                errors.extend(r.error);
            }
            Err(e) => errors.push(format!("client task: {e}")),
        }
    }
    let elapsed = started.elapsed();
    let mut idle_ok = 0;
    for task in idle {
        match task.await {
            Ok(Ok(after)) if after >= IDLE => idle_ok += 1,
            Ok(Ok(after)) => errors.push(format!("an idle client was closed after {after:?}")),
            Ok(Err(e)) => errors.push(format!("idle client: {e}")),
            Err(e) => errors.push(format!("idle client task: {e}")),
        }
    }
    // Let the server's tasks see their clients go, so the counters add up.
    let settle = Instant::now();
    while server.open.load(Relaxed) > 0 && settle.elapsed() < Duration::from_secs(1) {
        ply_net::sleep(Duration::from_millis(2)).await;
    }
    let stats = rt.stats();

    let n = latency.count();
    let secs = elapsed.as_secs_f64();
    println!("\nResults\n");
    println!(
        "  echoes        {} in {secs:.2} s: {} per second, {:.1} MB/s each way",
        thousands(n),
        thousands((n as f64 / secs) as u64),
        (n * plan.size as u64) as f64 / secs / 1e6,
    );
    println!(
        "  latency       p50 {}   p99 {}   p99.9 {}   max {}",
        human_duration(latency.percentile(50.0)),
        human_duration(latency.percentile(99.0)),
        human_duration(latency.percentile(99.9)),
        human_duration(latency.max()),
    );
    println!(
        "  server        accepted {} connections; closed {} for idling",
        server.accepted.load(Relaxed),
        server.idle_closed.load(Relaxed),
    );
    println!(
        "  idle clients  {idle_ok} of {IDLE_CLIENTS} were closed by the server's idle timeout"
    );
    let ok = wrong == 0 && timeouts == 0 && errors.is_empty() && idle_ok == IDLE_CLIENTS;
    if ok {
        println!("  checks        every echo matched what its client sent");
    } else {
        println!("  checks        FAILED: {wrong} wrong echoes, {timeouts} timeouts");
        for e in errors.iter().take(5) {
            println!("                {e}");
        }
    }

    println!(
        "\nWhat each layer did (bottom up, as a read travels: kernel event, waker, task poll)\n"
    );
    print!("{}", layer_table(&stats, Some((n, "echo"))));
    explain(&stats, rt.handle().reactor().backend(), n, secs);
    Ok(ok)
}

/// Accepts forever; dropped with the runtime.
async fn accept_loop(listener: TcpListener, server: Arc<Server>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                server.accepted.fetch_add(1, Relaxed);
                server.open.fetch_add(1, Relaxed);
                let server = server.clone();
                drop(ply_net::spawn(async move {
                    // An error ends this connection only; the clients report their own.
                    let _ = serve(&stream, &server).await;
                    server.open.fetch_sub(1, Relaxed);
                }));
            }
            // Out of fds: the listener backs off by itself.
            Err(e) => eprintln!("demo: accept: {e}"),
        }
    }
}

/// Echoes until the client closes, or closes the connection after [`IDLE`] of silence.
async fn serve(stream: &TcpStream, server: &Server) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match ply_net::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_elapsed) => {
                server.idle_closed.fetch_add(1, Relaxed);
                return Ok(()); // dropping the stream closes it
            }
        };
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Sends, waits for the echo and checks it, until `until` (or a failure elsewhere).
async fn busy_client(
    stream: TcpStream,
    id: u64,
    size: usize,
    until: Instant,
    echoes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> ClientReport {
    let mut report = ClientReport::default();
    if let Err(e) = stream.set_nodelay(true) {
        report.error = Some(e.to_string());
        return report;
    }
    let mut msg = vec![0u8; size];
    let mut echo = vec![0u8; size];
    let mut seq = 0u64;
    while Instant::now() < until && !stop.load(Relaxed) {
        fill(&mut msg, id, seq);
        let t0 = Instant::now();
        // Write and read at once: a message larger than the socket buffers cannot deadlock.
        let round_trip = try_join(stream.write_all(&msg), stream.read_exact(&mut echo));
        match ply_net::timeout(REQUEST_TIMEOUT, round_trip).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                report.error = Some(format!("client {id}: {e}"));
                break;
            }
            Err(_elapsed) => {
                report.timeouts += 1;
                break;
            }
        }
        report.latency.record(t0.elapsed());
        if echo != msg {
            report.wrong += 1;
            break;
        }
        echoes.fetch_add(1, Relaxed);
        seq += 1;
    }
    if report.error.is_some() || report.wrong + report.timeouts > 0 {
        // Something is broken: stop the others early rather than run out the clock.
        stop.store(true, Relaxed);
    }
    report
}

/// Connects, says nothing, and returns how long the server took to close the connection.
async fn idle_client(addr: SocketAddr) -> io::Result<Duration> {
    // Measured from before the connect, so the server (whose clock starts at its first
    // read, after the accept) can never seem to have closed early.
    let t0 = Instant::now();
    let stream = TcpStream::connect_timeout(addr, REQUEST_TIMEOUT).await?;
    let mut buf = [0u8; 16];
    match ply_net::timeout(IDLE * 4, stream.read(&mut buf)).await {
        Ok(Ok(0)) => Ok(t0.elapsed()),
        Ok(Ok(_)) => Err(io::Error::other("the server sent bytes nobody asked for")),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::other(
            "the server never closed the idle connection",
        )),
    }
}

/// A message no other client or round trip sends, so a misrouted echo shows.
fn fill(msg: &mut [u8], id: u64, seq: u64) {
    let seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq;
    for (i, b) in msg.iter_mut().enumerate() {
        *b = (seed.wrapping_add(i as u64).wrapping_mul(31) >> 3) as u8;
    }
}

/// Prints a line a second until `until`: the echoes of that second, and what the kernel
/// and the executor did for them.
async fn progress(rt: &Runtime, started: Instant, until: Instant, echoes: &AtomicU64, size: usize) {
    println!(
        "  {:>6}  {:>10}  {:>6}  {:>14}  {:>11}  {:>13}",
        "time", "echoes/s", "MB/s", "kernel waits/s", "events/wait", "polls/echo"
    );
    let mut tick = ply_net::interval(Duration::from_secs(1));
    tick.tick().await; // the first tick completes at once
    let mut last = (0, rt.stats(), Instant::now());
    loop {
        // The last line comes at `until` itself, however long the run.
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if left < Duration::from_millis(1500) {
            ply_net::sleep_until(until).await;
        } else {
            tick.tick().await;
        }
        let now = (echoes.load(Relaxed), rt.stats(), Instant::now());
        let dt = (now.2 - last.2).as_secs_f64().max(1e-3);
        let span = now.0 - last.0;
        let waits = now.1.selector.waits - last.1.selector.waits;
        let events = now.1.selector.events - last.1.selector.events;
        let polls = now.1.executor.polled - last.1.executor.polled;
        println!(
            "  {:>4.1} s  {:>10}  {:>6.1}  {:>14}  {:>11.1}  {:>13.2}",
            (now.2 - started).as_secs_f64(),
            thousands((span as f64 / dt) as u64),
            (span * size as u64) as f64 / dt / 1e6,
            thousands((waits as f64 / dt) as u64),
            ratio(events, waits),
            ratio(polls, span),
        );
        last = now;
    }
}

/// `a / b`, or 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A few sentences on what the table says, with this run's numbers.
fn explain(s: &RuntimeStats, backend: Backend, echoes: u64, secs: f64) {
    let (sel, r, e, t) = (&s.selector, &s.reactor, &s.executor, &s.timer);
    let call = match backend {
        Backend::Epoll => "epoll_wait",
        Backend::Uring => "io_uring_enter",
        Backend::Poll => "poll",
        Backend::Select => "select",
    };
    println!("\nReading the table\n");
    println!(
        "  - Each {call} returned {:.1} readiness events on average: one kernel wait",
        ratio(sel.events, sel.waits)
    );
    println!("    reports every connection that became ready since the last one.");
    println!(
        "  - An echo took {:.2} waker calls and {:.2} task polls: the server's task is woken",
        ratio(r.wakes, echoes),
        ratio(e.polled, echoes)
    );
    println!("    by the request, the client's task by the echo, and each wake is one poll.");
    println!(
        "  - The executor parked {} times ({} per second): with no task to run, a thread",
        thousands(e.parks),
        thousands((e.parks as f64 / secs) as u64)
    );
    println!("    waits in the reactor (on a multi-threaded runtime, one waits there and the");
    println!(
        "    others sleep); {} wake-ups had to go through the selector's wake-up fd because",
        thousands(r.unparks)
    );
    println!("    the thread to wake was blocked in the kernel.");
    if e.steals > 0 {
        println!(
            "  - Idle workers stole {} times, moving {} tasks out of a busy worker's queue.",
            thousands(e.steals),
            thousands(e.stolen)
        );
    }
    println!(
        "  - {} timers were armed and {} cancelled: every read that had to wait armed its",
        thousands(t.inserted),
        thousands(t.cancelled)
    );
    println!("    timeout, and the data won the race; insert and cancel are O(1) in the wheel.");
    println!(
        "    {} fired: the progress ticks, the idle connections' timeouts, a few sleeps.",
        thousands(t.fired)
    );
}

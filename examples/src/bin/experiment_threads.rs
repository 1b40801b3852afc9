//! Event loop against thread per connection: what N mostly idle connections cost a
//! server, and what they do to the few busy ones.
//!
//! The seed article says that "system threads are heavyweight, so the upper bound of the
//! threads you can have becomes the bottleneck", while an event loop multiplexes one
//! thread over every connection. This experiment measures both servers with the same
//! load:
//!
//! - **N idle connections** (N = 100, 1,000, 10,000), each of which has sent one byte and
//!   had it echoed (so the server has really accepted it and is waiting on it), then stays
//!   silent;
//! - **4 busy connections**, each doing request/response echo of 64 bytes as fast as it
//!   can for 2 seconds (write 64 B, read the 64 B back, repeat: one request outstanding
//!   per connection), recording the latency of every round trip. One client thread drives
//!   the four through a `ply_sys::Selector`, so that the client adds one runnable thread to
//!   the machine, not four.
//!
//! The servers, all echo servers on 127.0.0.1:
//!
//! - `ply current-thread`: a `ply_net::Runtime` with one thread; a task per connection;
//! - `ply 2 workers`: the multi-threaded `ply_net::Runtime` with 2 worker threads;
//! - `thread per connection`: `std::net`, blocking, one `std::thread` per accepted
//!   connection, each with a **64 KiB stack** (Rust's default is 2 MiB; 64 KiB is what a
//!   careful thread-per-connection server would choose, and is plenty for this loop).
//!
//! Each server runs in a child process (this binary, re-executed with the environment
//! variable `PLY_EXPERIMENT_THREADS_SERVER` naming the server), so its fds, threads and
//! memory are its own and are read from `/proc/<pid>/status`: `VmRSS` (resident memory),
//! `VmSize` (address space reserved, which includes every thread's stack) and `Threads`.
//! The kernel's own per-thread memory (a 16 KiB kernel stack on x86-64, the task struct)
//! is not in RSS; the `KernelStack` line of `/proc/meminfo` is read before and after to
//! show it (system-wide, so other work on the machine adds noise). The server's CPU time
//! during the busy phase (`utime + stime` of `/proc/<pid>/stat`) divided by the requests
//! served gives its CPU cost per request, which, unlike latency, does not depend on how
//! the scheduler shares the CPUs. The client side of every connection is this process,
//! the same for every server.
//!
//! If a thread cannot be created, the thread server says so and closes that connection;
//! the run records how many connections were really served (a data point, not a crash).
//! Each connection costs one fd in each process; the soft `RLIMIT_NOFILE` is raised to
//! the hard limit, and N is capped, with a message, if that is too low.
//!
//! On 2 cores the client thread and the server share the CPUs, so throughput is that of
//! the whole loopback system, and latency includes waiting for a CPU: a server with more
//! runnable threads gets a larger share of the CPUs from the scheduler.
//!
//! Results: a table on stdout, `docs/figures/threads.csv` and `docs/figures/threads.svg`
//! (against N: server memory, the busy connections' p99 latency, the server's CPU time
//! per request). Run it with (about a minute and a half on 2 cores):
//!
//! ```text
//! cargo run --release -p ply-examples --bin experiment_threads
//! ```
//!
//! Each server is measured 3 times at each N, the servers interleaved, a fresh process
//! each time; memory figures are medians, latencies are pooled over the runs.
//!
//! Flags: `--max-n N` drops larger sizes; `--seconds S` sets the busy phase (default 2);
//! `--reps R` the runs per server and N (default 3); `--replot` redraws the SVG from the
//! CSV without measuring.

use ply_examples::experiment::{arg_or, arg_switch, figures_dir, raise_fd_limit};
use ply_examples::plot::{legend, series};
use ply_examples::proc::{meminfo_kib, proc_cpu_time, proc_status, ProcStatus};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use ply_sys::{Events, Interest, Selector, Token};

/// The idle connection counts measured.
const SIZES: [usize; 3] = [100, 1_000, 10_000];
/// Busy connections, each driven by its own client thread.
const BUSY: usize = 4;
/// Bytes per request and per response on a busy connection.
const MESSAGE: usize = 64;
/// Stack size of each thread of the thread-per-connection server.
const THREAD_STACK: usize = 64 * 1024;
/// The environment variable that turns this binary into a server.
const SERVER_ENV: &str = "PLY_EXPERIMENT_THREADS_SERVER";
/// fds a process needs besides one per connection: stdio, the listener, the runtime's
/// epoll and eventfd, the pipe to the parent, some slack.
const FD_MARGIN: usize = 64;
/// Idle connections opened before their greetings are echoed: below every listen
/// backlog (std's is 128), so no SYN is dropped and retried a second later.
const CONNECT_BATCH: usize = 64;

/// The prefix of a server's stderr lines, as the parent receives them.
const STDERR: &str = "stderr: ";
/// How a failure note starts when the server process died.
const DIED: &str = "the server process died";

/// Pause before each run, and before reading a server's memory.
const SETTLE: Duration = Duration::from_millis(500);

/// The three servers, by the name passed in `SERVER_ENV`.
const SERVERS: [Server; 3] = [Server::PlyCurrent, Server::PlyMulti, Server::Threads];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    PlyCurrent,
    PlyMulti,
    Threads,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::PlyCurrent => "ply current-thread",
            Server::PlyMulti => "ply 2 workers",
            Server::Threads => "thread per connection",
        }
    }

    fn env_value(self) -> &'static str {
        match self {
            Server::PlyCurrent => "ply-current",
            Server::PlyMulti => "ply-multi",
            Server::Threads => "threads",
        }
    }

    fn from_env_value(v: &str) -> Option<Server> {
        SERVERS.into_iter().find(|s| s.env_value() == v)
    }
}

fn main() -> io::Result<()> {
    let limit = raise_fd_limit()?;
    if let Ok(which) = std::env::var(SERVER_ENV) {
        let server = Server::from_env_value(&which)
            .ok_or_else(|| io::Error::other(format!("{SERVER_ENV}={which}: no such server")))?;
        return serve(server);
    }

    if arg_switch("--replot") {
        let dir = figures_dir();
        let results = read_csv(&dir.join("threads.csv"))?;
        plot(&dir.join("threads.svg"), &results).map_err(|e| io::Error::other(e.to_string()))?;
        println!("redrew {}/threads.svg from threads.csv", dir.display());
        return Ok(());
    }
    let max_n: usize = arg_or("--max-n", 10_000);
    let busy_for = Duration::from_secs_f64(arg_or("--seconds", 2.0));
    let reps: usize = arg_or("--reps", 3).max(1);
    let started = Instant::now();
    println!("# Event loop against thread per connection");
    println!();
    println!("open-file limit: {limit} (soft raised to hard); {BUSY} busy connections, {MESSAGE} B echo, {busy_for:?} each");
    println!(
        "thread-per-connection stacks: {} KiB; servers run in child processes",
        THREAD_STACK / 1024
    );
    println!(
        "each server is measured {reps} times per N, interleaved; latencies are pooled, memory is the median"
    );

    let fit = limit.saturating_sub(BUSY + FD_MARGIN);
    let mut sizes: Vec<usize> = Vec::new();
    for n in SIZES.into_iter().filter(|&n| n <= max_n) {
        if n > fit {
            println!(
                "\nN = {n} capped to {fit}: RLIMIT_NOFILE's hard limit is {limit}, and each \
                 connection costs one fd in the server and one in this client"
            );
            sizes.push(fit);
        } else {
            sizes.push(n);
        }
    }
    sizes.dedup();

    let mut results = Vec::new();
    for &n in &sizes {
        println!("\n### N = {n} idle connections\n");
        println!("| server | served | RSS | VmSize | threads | kernel stacks (system) | setup | req/s | p50 | p99 | server CPU/req |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut runs: Vec<Vec<Run>> = SERVERS.iter().map(|_| Vec::new()).collect();
        for rep in 0..reps {
            for k in 0..SERVERS.len() {
                let i = (rep + k) % SERVERS.len();
                runs[i].push(measure(SERVERS[i], n, busy_for)?);
            }
        }
        for (server, runs) in SERVERS.into_iter().zip(runs) {
            let m = Measurement::pool(server, n, busy_for * reps as u32, runs);
            println!(
                "| {} | {} | {:.1} MiB | {:.0} MiB | {} | {:+.1} MiB | {:.2} s | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs |",
                server.name(),
                m.served_label(),
                kib_to_mib(m.rss_kib),
                kib_to_mib(m.vm_size_kib),
                m.threads,
                m.kernel_stack_delta_kib as f64 / 1024.0,
                m.setup.as_secs_f64(),
                m.requests_per_sec,
                m.p50_us,
                m.p99_us,
                m.cpu_us_per_request,
            );
            if let Some(note) = &m.failure {
                println!("|  | {note} | | | | | | | | | |");
            }
            results.push(m);
        }
    }

    summary(&results);
    let dir = figures_dir();
    std::fs::create_dir_all(&dir)?;
    write_csv(&dir.join("threads.csv"), &results)?;
    plot(&dir.join("threads.svg"), &results).map_err(|e| io::Error::other(e.to_string()))?;
    println!("\nwrote {}/threads.{{csv,svg}}", dir.display());
    println!("total time: {:.0?}", started.elapsed());
    Ok(())
}

/// What one server did with N idle and `BUSY` busy connections.
struct Measurement {
    server: Server,
    n: usize,
    /// Idle connections whose greeting was echoed.
    served: usize,
    rss_kib: u64,
    /// Peak RSS over the whole run, the busy phase included.
    hwm_kib: u64,
    vm_size_kib: u64,
    threads: u64,
    /// Change of the system-wide `KernelStack` in `/proc/meminfo`.
    kernel_stack_delta_kib: i64,
    /// Time to open the N + `BUSY` connections and have each greeting echoed.
    setup: Duration,
    requests_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    /// Server CPU time per busy request (user + system).
    cpu_us_per_request: f64,
    /// What went wrong, if not every connection was served.
    failure: Option<String>,
}

impl Measurement {
    /// Combines the runs of one server at one N: memory and setup time are medians,
    /// latencies are pooled, throughput is over the busy time of every run.
    fn pool(server: Server, n: usize, busy_total: Duration, runs: Vec<Run>) -> Measurement {
        fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
            v.sort_unstable();
            v[v.len() / 2]
        }
        let mut latencies: Vec<u64> = runs.iter().flat_map(|r| r.latencies.clone()).collect();
        latencies.sort_unstable();
        let count = latencies.len();
        let percentile = |p: f64| -> f64 {
            match count {
                0 => f64::NAN,
                _ => latencies[((count - 1) as f64 * p).round() as usize] as f64 / 1e3,
            }
        };
        Measurement {
            server,
            n,
            served: runs.iter().map(|r| r.served).min().unwrap_or(0),
            rss_kib: median(
                runs.iter()
                    .map(|r| r.status.as_ref().map_or(0, |s| s.rss_kib))
                    .collect(),
            ),
            hwm_kib: runs.iter().map(|r| r.hwm_kib).max().unwrap_or(0),
            vm_size_kib: median(
                runs.iter()
                    .map(|r| r.status.as_ref().map_or(0, |s| s.vm_size_kib))
                    .collect(),
            ),
            threads: median(
                runs.iter()
                    .map(|r| r.status.as_ref().map_or(0, |s| s.threads))
                    .collect(),
            ),
            kernel_stack_delta_kib: median(runs.iter().map(|r| r.kernel_stack_delta_kib).collect()),
            setup: median(runs.iter().map(|r| r.setup).collect()),
            requests_per_sec: count as f64 / busy_total.as_secs_f64(),
            p50_us: percentile(0.50),
            p99_us: percentile(0.99),
            cpu_us_per_request: match count {
                0 => f64::NAN,
                _ => {
                    let cpu: Duration = runs.iter().map(|r| r.server_cpu).sum();
                    cpu.as_secs_f64() * 1e6 / count as f64
                }
            },
            failure: runs.into_iter().find_map(|r| r.failure),
        }
    }

    fn served_label(&self) -> String {
        match self.served == self.n {
            true => "all".to_string(),
            false => format!("{} of {}", self.served, self.n),
        }
    }
}

/// One server process, measured once.
struct Run {
    served: usize,
    /// `None` if the server was gone when its memory was to be read.
    status: Option<ProcStatus>,
    hwm_kib: u64,
    kernel_stack_delta_kib: i64,
    setup: Duration,
    /// Every busy round trip, in ns.
    latencies: Vec<u64>,
    /// CPU time (user + system) the server used during the busy phase.
    server_cpu: Duration,
    failure: Option<String>,
}

/// Starts `server` in a child process, opens the connections, measures, and kills it.
fn measure(server: Server, n: usize, busy_for: Duration) -> io::Result<Run> {
    // Let the previous server's exit (up to 10,000 threads torn down, sockets closed)
    // finish before this one is measured.
    std::thread::sleep(SETTLE);
    let kernel_stack_before = meminfo_kib("KernelStack").unwrap_or(0);
    let (mut child, lines, addr) = spawn_server(server)?;
    let result = drive(n, busy_for, &mut child, &lines, addr, kernel_stack_before);
    // Kill first, so the server side closes: the client ends then close passively and
    // leave no TIME_WAIT behind on this side.
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Opens `BUSY` busy and `n` idle connections to the server, reads its memory, runs the
/// busy phase.
fn drive(
    n: usize,
    busy_for: Duration,
    child: &mut Child,
    lines: &Receiver<String>,
    addr: SocketAddr,
    kernel_stack_before: u64,
) -> io::Result<Run> {
    let pid = child.id();
    let setup_start = Instant::now();
    let mut failure = None;
    // Busy connections first, so that they are served even if the server runs out of
    // threads for the idle ones.
    let mut busy = Vec::with_capacity(BUSY);
    for _ in 0..BUSY {
        let s = TcpStream::connect(addr).and_then(|s| {
            s.set_nodelay(true)?;
            greet(&s).map(|()| s)
        });
        match s {
            Ok(s) => busy.push(s),
            Err(e) => {
                failure = Some(format!("a busy connection failed: {e}"));
                break;
            }
        }
    }
    let mut idle = Vec::with_capacity(n);
    let mut served = 0;
    while idle.len() < n && busy.len() == BUSY {
        let batch = CONNECT_BATCH.min(n - idle.len());
        let mut opened = Vec::with_capacity(batch);
        for _ in 0..batch {
            match TcpStream::connect(addr) {
                Ok(s) => opened.push(s),
                Err(e) => {
                    failure.get_or_insert(format!("connect failed: {e}"));
                    break;
                }
            }
        }
        if opened.is_empty() {
            break;
        }
        // Greetings that fail are counted, not fatal: a server that could not serve a
        // connection closes it.
        let mut sent = Vec::with_capacity(opened.len());
        for s in &opened {
            let write = s
                .set_read_timeout(Some(Duration::from_secs(10)))
                .and_then(|()| (&mut &*s).write_all(b"!"));
            sent.push(write.is_ok());
        }
        for (s, sent) in opened.into_iter().zip(sent) {
            let mut b = [0u8; 1];
            match (sent, (&s).read(&mut b)) {
                (true, Ok(1)) => served += 1,
                (_, Ok(_)) => {
                    failure.get_or_insert_with(|| "the server closed a connection".into());
                }
                (_, Err(e)) => {
                    failure.get_or_insert_with(|| format!("greeting not echoed: {e}"));
                }
            }
            idle.push(s);
        }
        if child.try_wait()?.is_some() {
            break;
        }
    }
    let setup = setup_start.elapsed();

    // Let the server settle (threads started, buffers freed), then read its memory.
    std::thread::sleep(SETTLE);
    let status = proc_status(pid).ok();
    let kernel_stack_after = meminfo_kib("KernelStack").unwrap_or(0);

    let mut latencies = Vec::new();
    let mut server_cpu = Duration::ZERO;
    if status.is_some() && busy.len() == BUSY {
        let cpu_before = proc_cpu_time(pid).unwrap_or_default();
        match busy_phase(busy, busy_for) {
            Ok(l) => latencies = l,
            Err(e) => {
                failure.get_or_insert_with(|| format!("busy phase: {e}"));
            }
        }
        server_cpu = proc_cpu_time(pid)
            .unwrap_or_default()
            .saturating_sub(cpu_before);
    }
    let hwm_kib = proc_status(pid).map_or(0, |s| s.hwm_kib);
    drop(idle);

    // What the server said: the thread server reports the first thread it could not
    // create; a server that died has its last words on stderr.
    let mut stderr: Vec<String> = Vec::new();
    while let Ok(line) = lines.try_recv() {
        if let Some(why) = line.strip_prefix("failed ") {
            failure = Some(why.to_string());
        } else if let Some(text) = line.strip_prefix(STDERR) {
            // A panic's first two lines: where, and what.
            if !text.trim().is_empty() && stderr.len() < 2 {
                stderr.push(text.trim().to_string());
            }
        }
    }
    if let Some(exit) = child.try_wait()? {
        failure = Some(format!(
            "{DIED} ({exit}) after serving {served} of {n}: {}",
            match stderr.is_empty() {
                true => "no message".to_string(),
                false => stderr.join(" "),
            }
        ));
    }
    if served < n && failure.is_none() {
        failure = Some(format!("{} connections not served", n - served));
    }
    Ok(Run {
        served,
        hwm_kib: hwm_kib.max(status.as_ref().map_or(0, |s| s.hwm_kib)),
        status,
        kernel_stack_delta_kib: kernel_stack_after as i64 - kernel_stack_before as i64,
        setup,
        latencies,
        server_cpu,
        failure,
    })
}

/// One byte there and back: the server has accepted this connection and serves it.
fn greet(s: &TcpStream) -> io::Result<()> {
    let mut s = s;
    s.write_all(b"!")?;
    let mut b = [0u8; 1];
    s.read_exact(&mut b)
}

/// The busy phase: each busy connection echoes `MESSAGE` bytes in a loop for `busy_for`,
/// one request outstanding per connection. One client thread drives all of them with a
/// `ply_sys::Selector`, so that the client adds one runnable thread, not one per
/// connection, to the two CPUs the server runs on. Returns every round trip's latency in
/// ns.
fn busy_phase(busy: Vec<TcpStream>, busy_for: Duration) -> io::Result<Vec<u64>> {
    struct Conn {
        stream: TcpStream,
        sent_at: Instant,
        /// Bytes of the current response received so far.
        got: usize,
        done: bool,
    }
    let request = [7u8; MESSAGE];
    let selector = Selector::new()?;
    let mut conns = Vec::with_capacity(busy.len());
    for (i, stream) in busy.into_iter().enumerate() {
        stream.set_nonblocking(true)?;
        selector.register(stream.as_raw_fd(), Token(i), Interest::READABLE)?;
        conns.push(Conn {
            stream,
            sent_at: Instant::now(),
            got: 0,
            done: false,
        });
    }
    let mut latencies = Vec::with_capacity(1 << 18);
    let mut events = Events::with_capacity(16);
    let mut buf = [0u8; MESSAGE];
    let end = Instant::now() + busy_for;
    for c in &mut conns {
        c.sent_at = Instant::now();
        // An empty send buffer takes 64 bytes at once: a short write would be a surprise
        // worth an error, not a case to handle.
        (&c.stream).write_all(&request)?;
    }
    let stuck = end + Duration::from_secs(10);
    while conns.iter().any(|c| !c.done) {
        if Instant::now() > stuck {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a busy connection stopped answering",
            ));
        }
        selector.select(&mut events, Some(Duration::from_millis(100)))?;
        for event in &events {
            let c = &mut conns[event.token().0];
            // Edge-triggered: read until WouldBlock, then rearm.
            loop {
                match (&c.stream).read(&mut buf[c.got..]) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(k) => {
                        c.got += k;
                        if c.got < MESSAGE {
                            continue;
                        }
                        let now = Instant::now();
                        latencies.push((now - c.sent_at).as_nanos() as u64);
                        c.got = 0;
                        if now < end {
                            c.sent_at = now;
                            (&c.stream).write_all(&request)?;
                        } else {
                            c.done = true;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        selector.rearm(c.stream.as_raw_fd(), event.token(), Interest::READABLE)?;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for c in &conns {
        selector.deregister(c.stream.as_raw_fd())?;
        c.stream.shutdown(Shutdown::Both)?;
    }
    Ok(latencies)
}

/// Re-executes this binary as `server`; returns it, its output lines (stdout as they
/// are, stderr prefixed with [`STDERR`]) and its address.
fn spawn_server(server: Server) -> io::Result<(Child, Receiver<String>, SocketAddr)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(SERVER_ENV, server.env_value())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped above");
    let stderr = child.stderr.take().expect("piped above");
    forward_lines(stdout, "", tx.clone());
    forward_lines(stderr, STDERR, tx);
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(wait) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "{}: the server did not start",
                server.name()
            )));
        };
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr
                .parse()
                .map_err(|_| io::Error::other(format!("unexpected line {line:?}")))?;
        }
        eprintln!("{}: {line}", server.name());
    };
    Ok((child, rx, addr))
}

/// Sends each line of `from`, with `prefix`, to `to`, from a thread of its own.
fn forward_lines(from: impl Read + Send + 'static, prefix: &'static str, to: Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if to.send(format!("{prefix}{line}")).is_err() {
                break;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// The servers (in the child process).

/// Runs `server` until killed. The first line on stdout is `listening <addr>`.
fn serve(server: Server) -> io::Result<()> {
    match server {
        Server::Threads => serve_threads(),
        Server::PlyCurrent => serve_ply(ply_net::Runtime::builder().current_thread().build()?),
        Server::PlyMulti => serve_ply(
            ply_net::Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()?,
        ),
    }
}

/// An echo server on ply: one task per connection.
fn serve_ply(rt: ply_net::Runtime) -> io::Result<()> {
    let accept_loop = rt.spawn(accept_loop());
    rt.block_on(accept_loop)
        .map_err(|e| io::Error::other(format!("the accept loop failed: {e:?}")))?
}

async fn accept_loop() -> io::Result<()> {
    let listener = ply_net::TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?)?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        ply_net::spawn(async move {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// An echo server with one blocking thread (and a `THREAD_STACK` stack) per connection.
fn serve_threads() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    announce(listener.local_addr()?)?;
    let mut spawned = 0usize;
    let mut reported = false;
    loop {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        let handler = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    if stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        match handler {
            Ok(_detached) => spawned += 1,
            Err(e) => {
                // The connection was moved into the closure, which is dropped: closed.
                if !reported {
                    reported = true;
                    println!("failed thread {} could not be created: {e}", spawned + 1);
                    io::stdout().flush()?;
                }
            }
        }
    }
}

fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening {addr}")?;
    out.flush()
}

// ---------------------------------------------------------------------------------------
// Output

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Memory per idle connection between the smallest and the largest N, per server.
fn summary(results: &[Measurement]) {
    println!("\n### Summary\n");
    println!("| server | RSS per idle connection | kernel stacks per connection (system, noisy) | p99 at smallest N | p99 at largest N | CPU/req at largest N |");
    println!("|---|---:|---:|---:|---:|---:|");
    for server in SERVERS {
        let mine: Vec<&Measurement> = results.iter().filter(|m| m.server == server).collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else {
            continue;
        };
        let conns = last.served as f64 - first.served as f64;
        // Nothing to say if a server was gone when its memory was to be read.
        let measured = first.rss_kib > 0 && last.rss_kib > 0;
        let per = |a: f64, b: f64| match conns > 0.0 && measured {
            true => format!("{:.1} KiB", (b - a) / conns),
            false => "-".into(),
        };
        println!(
            "| {} | {} | {} | {:.1} µs | {:.1} µs | {:.1} µs |",
            server.name(),
            per(first.rss_kib as f64, last.rss_kib as f64),
            per(
                first.kernel_stack_delta_kib as f64,
                last.kernel_stack_delta_kib as f64
            ),
            first.p99_us,
            last.p99_us,
            last.cpu_us_per_request,
        );
    }
}

fn write_csv(path: &Path, results: &[Measurement]) -> io::Result<()> {
    let mut out = String::from(
        "server,idle_connections,served,rss_kib,rss_peak_kib,vm_size_kib,threads,\
         thread_stacks_reserved_kib,kernel_stack_delta_kib,setup_s,busy_requests_per_s,\
         busy_p50_us,busy_p99_us,server_cpu_us_per_request,failure\n",
    );
    for m in results {
        // Only the thread server's connection threads have a known, chosen stack size.
        let stacks = match m.server {
            Server::Threads => (m.served + BUSY) * THREAD_STACK / 1024,
            _ => 0,
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:.3},{:.0},{:.1},{:.1},{:.2},{}\n",
            m.server.name(),
            m.n,
            m.served,
            m.rss_kib,
            m.hwm_kib,
            m.vm_size_kib,
            m.threads,
            stacks,
            m.kernel_stack_delta_kib,
            m.setup.as_secs_f64(),
            m.requests_per_sec,
            m.p50_us,
            m.p99_us,
            m.cpu_us_per_request,
            m.failure.as_deref().unwrap_or("").replace(',', ";"),
        ));
    }
    std::fs::write(path, out)
}

/// Reads back what [`write_csv`] wrote (for `--replot`).
fn read_csv(path: &Path) -> io::Result<Vec<Measurement>> {
    let text = std::fs::read_to_string(path)?;
    let bad = |line: &str| io::Error::other(format!("{}: cannot parse {line:?}", path.display()));
    let mut results = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let server = SERVERS
            .into_iter()
            .find(|s| Some(&s.name()) == f.first())
            .ok_or_else(|| bad(line))?;
        let num = |i: usize| -> io::Result<f64> {
            f.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(line))
        };
        results.push(Measurement {
            server,
            n: num(1)? as usize,
            served: num(2)? as usize,
            rss_kib: num(3)? as u64,
            hwm_kib: num(4)? as u64,
            vm_size_kib: num(5)? as u64,
            threads: num(6)? as u64,
            kernel_stack_delta_kib: num(8)? as i64,
            setup: Duration::from_secs_f64(num(9)?),
            requests_per_sec: num(10)?,
            p50_us: num(11)?,
            p99_us: num(12)?,
            cpu_us_per_request: num(13)?,
            failure: f.get(14).filter(|v| !v.is_empty()).map(|v| v.to_string()),
        });
    }
    Ok(results)
}

/// Three panels against N (log x, linear y): the server's RSS, the busy connections' p99, and the
/// server's CPU time per busy request.
fn plot(path: &Path, results: &[Measurement]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let colors = [
        RGBColor(0, 114, 178),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
    ];
    let max_n = results.iter().map(|m| m.n).max().unwrap_or(10) as f64;
    let min_n = results.iter().map(|m| m.n).min().unwrap_or(1) as f64;
    let root = SVGBackend::new(path, (1260, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((1, 3));

    type Pick = fn(&Measurement) -> f64;
    let panels: [(_, &str, &str, Pick); 3] = [
        (
            &areas[0],
            "Server memory with N idle connections",
            "server memory, MiB (solid: VmRSS)",
            |m| match m.rss_kib {
                0 => f64::NAN, // the server was gone
                kib => kib_to_mib(kib),
            },
        ),
        (
            &areas[1],
            "Busy connections' p99 latency (4 x 64 B echo)",
            "p99 round trip, µs",
            |m| m.p99_us,
        ),
        (
            &areas[2],
            "Server CPU time per busy request",
            "server user + system CPU, µs per request",
            |m| m.cpu_us_per_request,
        ),
    ];
    for (k, (area, title, y_desc, pick)) in panels.into_iter().enumerate() {
        // The memory panel also shows the thread server's kernel stacks, outside its RSS.
        let with_kernel = |m: &Measurement| match m.rss_kib {
            0 => f64::NAN,
            kib => kib_to_mib(kib) + m.kernel_stack_delta_kib.max(0) as f64 / 1024.0,
        };
        let mut values: Vec<f64> = results.iter().map(pick).filter(|v| v.is_finite()).collect();
        if k == 0 {
            values.extend(results.iter().map(with_kernel).filter(|v| v.is_finite()));
        }
        let hi = values.iter().cloned().fold(0f64, f64::max).max(1.0);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 15))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((min_n / 2.0..max_n * 2.0).log_scale(), 0f64..hi * 1.15)?;
        chart
            .configure_mesh()
            .x_desc("idle connections (N)")
            .y_desc(y_desc)
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| match *v >= 10.0 {
                true => format!("{v:.0}"),
                false => format!("{v:.1}"),
            })
            .draw()?;
        for (server, color) in SERVERS.into_iter().zip(colors) {
            let mine: Vec<&Measurement> = results.iter().filter(|m| m.server == server).collect();
            let points: Vec<(f64, f64)> = mine
                .iter()
                .map(|m| (m.n as f64, pick(m)))
                .filter(|p| p.1.is_finite())
                .collect();
            series(&mut chart, points, server.name(), color)?;
            // A run where not every connection was served: a cross, labelled; at the
            // bottom of the panel if the server died and left nothing to plot.
            for m in mine.iter().filter(|m| m.failure.is_some()) {
                let y = pick(m);
                let p = (m.n as f64, if y.is_finite() { y } else { hi * 0.04 });
                let died = m.failure.as_deref().is_some_and(|f| f.starts_with(DIED));
                let label = match died {
                    true => format!("{}: died", server.name()),
                    false => format!("served {} of {}", m.served, m.n),
                };
                chart.draw_series(std::iter::once(Cross::new(p, 7, RED.stroke_width(2))))?;
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    p,
                    ("sans-serif", 12).into_font().color(&RED),
                )))?;
            }
        }
        if k == 0 {
            let color = colors[2];
            let points: Vec<(f64, f64)> = results
                .iter()
                .filter(|m| m.server == Server::Threads)
                .map(|m| (m.n as f64, with_kernel(m)))
                .filter(|p| p.1.is_finite())
                .collect();
            chart
                .draw_series(DashedLineSeries::new(points, 6, 4, color.stroke_width(2)))?
                .label("thread per connection + kernel stacks")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(1))
                });
        }
        // One legend, on the memory panel, where the lines leave room for it.
        if k == 0 {
            legend(&mut chart)?;
        }
    }
    root.present()?;
    Ok(())
}

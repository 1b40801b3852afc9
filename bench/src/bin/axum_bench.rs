//! The axum benchmark of issue 15: the same axum app served on ply and on tokio, both
//! current-thread and multi-threaded, under `wrk -t1 -c100`, in one run, interleaved.
//!
//! The app is `examples/src/bin/axum_hello.rs`'s `/` route (a plain-text hello, through
//! axum's `Router`), served by hyper-util's `auto::Builder` (HTTP/1.1, keep-alive, a
//! header-read timeout on the runtime's timer) with one task per connection. The four
//! servers differ only in the runtime underneath:
//!
//! - `ply-ct`, `ply-mt`: ply-net's `TcpListener`, its `tokio-io` traits under hyper-util's
//!   `TokioIo`, `HyperExecutor` and `HyperTimer` (ply-timer's wheel);
//! - `tokio-ct`, `tokio-mt`: tokio's `TcpListener`, `TokioExecutor` and `TokioTimer`.
//!
//! Each server runs in a child process of its own (this binary re-executed with
//! `--serve NAME`), pinned as `echo_bench` pins its servers: the current-thread ones on
//! core 0, the multi-threaded ones (2 workers) on cores 0 and 1; `wrk` runs on core 1
//! (`taskset`, if present). One run: start the server, warm it up with one untimed `wrk`
//! of `--warmup` seconds, read the server's CPU time (utime + stime of all its threads,
//! `/proc/<pid>/stat`), run `wrk -t1 -c100 -d<secs> --latency`, read the CPU time again,
//! kill the server. Every server runs once per round in an order that rotates each round.
//!
//! Reported per server: the median over rounds of requests/s, p99 latency (wrk's) and
//! server CPU µs per request, and the median of the per-round ratios against its tokio
//! peer (`tokio-ct` for `ply-ct`, `tokio-mt` for `ply-mt`), which cancels most of the
//! machine's drift. A run with non-2xx responses or socket errors is reported and fails.
//!
//! ```text
//! apt-get install -y wrk
//! cd bench && cargo build --release --bin axum_bench && ../target/release/axum_bench
//! ```
//!
//! (or with `CARGO_TARGET_DIR`). Flags: `--rounds R` (default 5), `--secs T` (default 10),
//! `--warmup W` (default 1; 0 skips it), `--connections C` (default 100),
//! `--servers a,b,..` (default the four above). About R × 4 × (T + W + 1) seconds.

use axum::routing::get;
use axum::Router;
use hyper::rt::Executor as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use ply_bench::{arg_or, median_f64};
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVERS: [&str; 4] = ["tokio-ct", "ply-ct", "tokio-mt", "ply-mt"];

/// How long a client may take to send a request's headers (as in `axum_hello`).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The application: `axum_hello`'s `/` route.
fn app() -> Router {
    Router::new().route("/", get(|| async { "Hello from axum on ply!\n" }))
}

/// The peer each server's ratios are taken against.
fn peer(server: &str) -> &'static str {
    if server.ends_with("-mt") {
        "tokio-mt"
    } else {
        "tokio-ct"
    }
}

fn cpus(server: &str) -> &'static str {
    if server.ends_with("-mt") {
        "0,1"
    } else {
        "0"
    }
}

fn main() -> io::Result<()> {
    let serve: String = arg_or("--serve", String::new());
    if !serve.is_empty() {
        return serve_role(&serve);
    }
    let rounds: usize = arg_or("--rounds", 5);
    let secs: u64 = arg_or("--secs", 10);
    let warmup: u64 = arg_or("--warmup", 1);
    let connections: usize = arg_or("--connections", 100);
    let list: String = arg_or("--servers", SERVERS.join(","));
    let servers: Vec<&str> = list.split(',').collect();
    if rounds == 0 || secs == 0 || servers.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--rounds and --secs must be at least 1, --servers not empty",
        ));
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "wrk not found: apt-get install -y wrk",
        ));
    }
    let n = servers.len();
    println!(
        "# axum: wrk -t1 -c{connections} -d{secs}s --latency, {rounds} rounds, warm-up {warmup} s\n"
    );
    let mut rps = vec![Vec::new(); n];
    let mut p99 = vec![Vec::new(); n];
    let mut cpu = vec![Vec::new(); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            let r = run_once(servers[i], connections, secs, warmup)?;
            rps[i].push(r.rps);
            p99[i].push(r.p99_us);
            cpu[i].push(r.cpu_us_per_req);
        }
        eprint!(".");
    }
    eprintln!();
    let idx = |name: &str| servers.iter().position(|s| *s == name);
    let ratio = |v: &Vec<Vec<f64>>, i: usize, j: usize| {
        let mut r: Vec<f64> = (0..rounds).map(|k| v[i][k] / v[j][k]).collect();
        median_f64(&mut r)
    };
    println!(
        "| server | requests/s | p99 | server CPU µs/request | requests/s vs tokio | p99 vs tokio | CPU/request vs tokio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for i in 0..n {
        let p = idx(peer(servers[i])).unwrap_or(0);
        println!(
            "| {} | {:.0} | {:.0} µs | {:.1} | {:.2} | {:.2} | {:.2} |",
            servers[i],
            median_f64(&mut rps[i].clone()),
            median_f64(&mut p99[i].clone()),
            median_f64(&mut cpu[i].clone()),
            ratio(&rps, i, p),
            ratio(&p99, i, p),
            ratio(&cpu, i, p),
        );
    }
    io::stdout().flush()
}

/// What one measured run gave.
struct Run {
    rps: f64,
    p99_us: f64,
    cpu_us_per_req: f64,
}

fn run_once(server: &str, connections: usize, secs: u64, warmup: u64) -> io::Result<Run> {
    let (mut child, addr) = start(server)?;
    let result = (|| {
        let url = format!("http://{addr}/");
        if warmup > 0 {
            wrk(&url, connections, warmup)?;
        }
        let before = cpu_ticks(child.id())?;
        let out = wrk(&url, connections, secs)?;
        let after = cpu_ticks(child.id())?;
        let report = parse_wrk(&out)
            .map_err(|e| io::Error::other(format!("{server}: {e}; wrk said:\n{out}")))?;
        let cpu_s = (after - before) as f64 / clock_ticks_per_sec();
        Ok(Run {
            rps: report.rps,
            p99_us: report.p99_us,
            cpu_us_per_req: cpu_s * 1e6 / report.requests,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Starts `server` in a child process and returns it with its address.
fn start(server: &str) -> io::Result<(Child, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", server])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    match line.strip_prefix("listening ") {
        Some(a) => Ok((child, a.trim().to_string())),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(io::Error::other(format!("{server}: no address: {line:?}")))
        }
    }
}

/// Runs wrk against `url` (on core 1 if `taskset` exists) and returns its output.
fn wrk(url: &str, connections: usize, secs: u64) -> io::Result<String> {
    let args = [
        "-t1".to_string(),
        format!("-c{connections}"),
        format!("-d{secs}s"),
        "--latency".to_string(),
        url.to_string(),
    ];
    let out = match Command::new("taskset")
        .args(["-c", "1", "wrk"])
        .args(&args)
        .output()
    {
        Ok(out) => out,
        Err(_) => Command::new("wrk").args(&args).output()?,
    };
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "wrk failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What [`parse_wrk`] reads from wrk's report.
#[derive(Debug, PartialEq)]
struct WrkReport {
    rps: f64,
    p99_us: f64,
    requests: f64,
}

/// Reads requests/s, the 99th percentile and the request count from wrk's output;
/// refuses a run with errors or non-2xx responses.
fn parse_wrk(out: &str) -> Result<WrkReport, String> {
    let mut rps = None;
    let mut p99 = None;
    let mut requests = None;
    for line in out.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse::<f64>().ok();
        } else if let Some(v) = line.strip_prefix("99%") {
            p99 = duration_us(v.trim());
        } else if line.contains(" requests in ") {
            requests = line.split_whitespace().next().and_then(|v| v.parse().ok());
        } else if line.starts_with("Non-2xx or 3xx responses:") {
            return Err(format!("bad responses: {line}"));
        } else if line.starts_with("Socket errors:") {
            let errors: u64 = line
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|v| v.parse::<u64>().ok())
                .sum();
            if errors > 0 {
                return Err(format!("socket errors: {line}"));
            }
        }
    }
    match (rps, p99, requests) {
        (Some(rps), Some(p99_us), Some(requests)) if requests > 0.0 => Ok(WrkReport {
            rps,
            p99_us,
            requests,
        }),
        _ => Err("cannot read requests/s, the 99% latency or the request count".into()),
    }
}

/// wrk's durations (`812.00us`, `1.23ms`, `2.00s`, `1.50m`) in microseconds.
fn duration_us(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = v.split_at(split);
    let num: f64 = num.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return None,
    };
    Some(num * scale)
}

/// utime + stime of every thread of process `pid`, in clock ticks (`/proc/<pid>/stat`
/// fields 14 and 15).
fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: the fields after it follow the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("unreadable /proc/<pid>/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let field = |i: usize| -> io::Result<u64> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no field {i} in /proc/{pid}/stat")))
    };
    Ok(field(14)? + field(15)?)
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no memory preconditions; it returns -1 for an unknown name.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Pins this process's threads-to-be to `cpus` (comma-separated core numbers).
fn pin(cpus: &str) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for c in cpus.split(',') {
        let c: usize = c
            .trim()
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpus"))?;
        // SAFETY: `set` is a valid cpu_set_t; CPU_SET bounds-checks `c`.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this thread, and
    // the threads it starts afterwards inherit the mask.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The child's side: serves `app()` on the runtime `name` names until killed.
fn serve_role(name: &str) -> io::Result<()> {
    // A machine with one core: run unpinned rather than fail.
    let _ = pin(cpus(name));
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    match name {
        "ply-ct" | "ply-mt" => {
            let rt = if name == "ply-ct" {
                ply_net::Runtime::builder().current_thread().build()?
            } else {
                ply_net::Runtime::builder()
                    .multi_thread()
                    .worker_threads(2)
                    .build()?
            };
            rt.block_on(serve_ply(addr))
        }
        "tokio-ct" | "tokio-mt" => {
            let rt = if name == "tokio-ct" {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?
            };
            rt.block_on(serve_tokio(addr))
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown server {other:?} (known: {})", SERVERS.join(", ")),
        )),
    }
}

fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout();
    writeln!(out, "listening {addr}")?;
    out.flush()
}

async fn serve_ply(addr: SocketAddr) -> io::Result<()> {
    use ply_net::hyper::{HyperExecutor, HyperTimer};
    let listener = ply_net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?)?;
    let mut http = auto::Builder::new(HyperExecutor::new());
    http.http1()
        .timer(HyperTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let app = app();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let http = http.clone();
        let service = TowerToHyperService::new(app.clone());
        HyperExecutor::new().execute(async move {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn serve_tokio(addr: SocketAddr) -> io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?)?;
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let app = app();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let http = http.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Running 1s test @ http://127.0.0.1:40000/
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.06ms  310.51us   9.92ms   90.12%
    Req/Sec    95.01k     3.20k  100.12k    80.00%
  Latency Distribution
     50%    1.01ms
     75%    1.10ms
     90%    1.29ms
     99%  812.00us
  94514 requests in 1.00s, 13.61MB read
Requests/sec:  94496.34
Transfer/sec:     13.61MB
";

    #[test]
    fn reads_wrks_report() {
        assert_eq!(
            parse_wrk(SAMPLE),
            Ok(WrkReport {
                rps: 94496.34,
                p99_us: 812.0,
                requests: 94514.0
            })
        );
        assert_eq!(duration_us("1.50ms"), Some(1500.0));
        assert_eq!(duration_us("2.00s"), Some(2e6));
        assert_eq!(duration_us("x"), None);
    }

    #[test]
    fn refuses_runs_with_errors() {
        let bad = SAMPLE.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 3\nRequests/sec",
        );
        assert!(parse_wrk(&bad).is_err());
        let bad = SAMPLE.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 2, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&bad).is_err());
        let ok = SAMPLE.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 0, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&ok).is_ok());
        assert!(parse_wrk("").is_err());
    }
}

//! The load generator of the echo benchmark (issue 6), the same for every server.
//!
//! One thread, pinned (`--cpus`, default `1`), drives C connections through its own
//! edge-triggered epoll loop: each connection sends a message of S bytes, waits for all S
//! bytes to come back, and sends the next one at once (a closed loop, one request in
//! flight per connection). One thread and one `epoll_wait` for all connections keeps the
//! generator's own cost per request at about one `send` and one `recv`, whatever C is.
//!
//! Modes:
//!
//! - `--seconds T` (default): run `--warmup W` seconds (default 0.3), then measure for T
//!   seconds. With `--server-pid P` it also reads the server's CPU time at both ends of
//!   the measured window (the sum of `/proc/P/task/*/schedstat` run times, in ns: user
//!   and system time of every thread) and reports it per request. It also records the
//!   round-trip time of every request completed in the window and reports the median and
//!   the 99th percentile (`p50_us`, `p99_us`).
//! - `--requests N`: run exactly N round trips in total (spread over the connections),
//!   close every connection and exit: with the server's `--conns C`, a fixed load for
//!   callgrind and strace.
//! - `--idle K` (with `--server-pid P`): read the server's `VmRSS`, open K connections,
//!   each one used for a single 64-byte round trip (so the server has accepted it and
//!   its task is parked in a read), wait 300 ms, read `VmRSS` again and report the growth
//!   per connection.
//!
//! Output: one line of `key=value` pairs, which `echo_bench` parses.
//!
//! ```text
//! cd bench && cargo run --release --bin echo_load -- --addr 127.0.0.1:7000 \
//!     --connections 50 --size 64 --seconds 2
//! ```

use ply_bench::arg_or;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

struct Conn {
    stream: TcpStream,
    /// Bytes of the current request sent and received back.
    sent: usize,
    recvd: usize,
    /// A request is in flight.
    busy: bool,
    /// When the request in flight was issued (for the latency percentiles).
    started: Instant,
}

fn main() -> io::Result<()> {
    let addr: SocketAddr = arg_or("--addr", "127.0.0.1:7000".parse().unwrap());
    let conns: usize = arg_or("--connections", 1);
    let size: usize = arg_or("--size", 64);
    let seconds: f64 = arg_or("--seconds", 2.0);
    let warmup: f64 = arg_or("--warmup", 0.3);
    let requests: u64 = arg_or("--requests", 0);
    let idle: usize = arg_or("--idle", 0);
    let pid: u32 = arg_or("--server-pid", 0);
    let cpus: String = arg_or("--cpus", "1".to_string());
    pin(&cpus)?;
    if idle > 0 {
        return idle_mode(addr, idle, pid);
    }

    let mut cs = Vec::with_capacity(conns);
    for _ in 0..conns {
        let s = connect(addr)?;
        s.set_nonblocking(true)?;
        cs.push(Conn {
            stream: s,
            sent: 0,
            recvd: 0,
            busy: false,
            started: Instant::now(),
        });
    }
    // SAFETY: plain syscall; the result is checked below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep == -1 {
        return Err(io::Error::last_os_error());
    }
    for (i, c) in cs.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32,
            u64: i as u64,
        };
        // SAFETY: `ev` is valid, both fds are open.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.stream.as_raw_fd(), &mut ev) } == -1
        {
            return Err(io::Error::last_os_error());
        }
    }

    let msg = vec![0x5au8; size];
    let mut scratch = vec![0u8; size];
    let fixed = requests > 0;
    let mut budget = Budget {
        left: if fixed { requests } else { u64::MAX },
        done: 0,
        latencies: None,
    };
    for c in cs.iter_mut() {
        budget.start(c, &msg, &mut scratch)?;
    }

    let start = Instant::now();
    let measure_at = start + Duration::from_secs_f64(warmup);
    let end_at = measure_at + Duration::from_secs_f64(seconds);
    let mut window: Option<(Instant, u64, u64)> = None;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    loop {
        if fixed {
            if budget.done >= requests {
                let el = start.elapsed().as_secs_f64();
                let done = budget.done;
                println!("requests={done} secs={el:.3} rps={:.0}", done as f64 / el);
                return Ok(());
            }
        } else {
            let now = Instant::now();
            match window {
                None if now >= measure_at => {
                    window = Some((now, budget.done, cpu_ns(pid)));
                    budget.latencies = Some(Vec::with_capacity(1 << 20));
                }
                Some((t0, d0, c0)) if now >= end_at => {
                    let cpu = cpu_ns(pid) - c0;
                    let n = budget.done - d0;
                    let el = now.duration_since(t0).as_secs_f64();
                    let mut lat = budget.latencies.take().unwrap_or_default();
                    lat.sort_unstable();
                    let pct = |q: f64| {
                        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                            .copied()
                            .unwrap_or(0)
                    };
                    println!(
                        "requests={n} secs={el:.3} rps={:.0} server_cpu_ns={cpu} cpu_ns_per_req={:.1} p50_us={:.1} p99_us={:.1}",
                        n as f64 / el,
                        cpu as f64 / n as f64,
                        pct(0.50) as f64 / 1e3,
                        pct(0.99) as f64 / 1e3
                    );
                    return Ok(());
                }
                _ => {}
            }
        }
        // SAFETY: `events` is a valid buffer of `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 10) };
        if n == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in &events[..n as usize] {
            let c = &mut cs[ev.u64 as usize];
            if c.busy && pump(c, &msg, &mut scratch)? {
                budget.complete(c, &msg, &mut scratch)?;
            }
        }
    }
}

/// Counts round trips and issues new ones while the budget lasts.
struct Budget {
    /// Requests that may still be issued.
    left: u64,
    /// Round trips completed.
    done: u64,
    /// Round-trip times (ns) of the requests completed in the measured window.
    latencies: Option<Vec<u64>>,
}

impl Budget {
    /// Issues a request on an idle connection, if the budget allows.
    fn start(&mut self, c: &mut Conn, msg: &[u8], scratch: &mut [u8]) -> io::Result<()> {
        if self.left == 0 {
            return Ok(());
        }
        self.left -= 1;
        c.busy = true;
        c.started = Instant::now();
        if pump(c, msg, scratch)? {
            self.complete(c, msg, scratch)?;
        }
        Ok(())
    }

    /// Counts a completed round trip on `c` and starts the next. The next one may complete
    /// within the same call (the echo can be back before the read that follows the send),
    /// so this loops rather than recursing.
    fn complete(&mut self, c: &mut Conn, msg: &[u8], scratch: &mut [u8]) -> io::Result<()> {
        loop {
            self.done += 1;
            c.busy = false;
            let now = Instant::now();
            if let Some(lat) = &mut self.latencies {
                lat.push(now.duration_since(c.started).as_nanos() as u64);
            }
            if self.left == 0 {
                return Ok(());
            }
            self.left -= 1;
            c.busy = true;
            c.started = now;
            if !pump(c, msg, scratch)? {
                return Ok(());
            }
        }
    }
}

/// Advances a connection's request as far as the socket allows; `Ok(true)` when the
/// whole echo is back (then `sent`/`recvd` still hold `size`).
fn pump(c: &mut Conn, msg: &[u8], scratch: &mut [u8]) -> io::Result<bool> {
    let size = msg.len();
    while c.sent < size {
        match c.stream.write(&msg[c.sent..]) {
            Ok(n) => c.sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    while c.recvd < c.sent {
        let want = c.sent - c.recvd;
        match c.stream.read(&mut scratch[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                c.recvd += n;
                // A short read drained the socket; the next edge brings the rest.
                if n < want {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if c.recvd == size {
        c.sent = 0;
        c.recvd = 0;
        return Ok(true);
    }
    Ok(false)
}

/// Connects, retrying for up to 60 s while the server starts (under valgrind it is slow).
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if Instant::now() < give_up && e.kind() == io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

fn idle_mode(addr: SocketAddr, k: usize, pid: u32) -> io::Result<()> {
    let before = rss_kib(pid)?;
    let mut held = Vec::with_capacity(k);
    let mut buf = [0u8; 64];
    for _ in 0..k {
        let mut s = connect(addr)?;
        s.write_all(&buf)?;
        s.read_exact(&mut buf)?;
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib(pid)?;
    println!(
        "idle={k} rss_before_kib={before} rss_after_kib={after} bytes_per_conn={:.0}",
        (after - before) as f64 * 1024.0 / k as f64
    );
    Ok(())
}

/// The server's resident set, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> io::Result<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS"))
}

/// The server's CPU time so far in ns: the sum of every thread's run time
/// (`/proc/<pid>/task/*/schedstat`, first field). 0 without `--server-pid`.
fn cpu_ns(pid: u32) -> u64 {
    if pid == 0 {
        return 0;
    }
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Pins this process to `cpus` ("1", "0,1").
fn pin(cpus: &str) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for c in cpus.split(',') {
        let c: usize = c
            .trim()
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "--cpus"))?;
        // SAFETY: `set` is a valid cpu_set_t; CPU_SET bounds-checks `c`.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

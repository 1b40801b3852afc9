//! Out of fds, a ply server neither spins nor dies, and serves again once fds are free.
//!
//! The test binary runs itself a second time as the server (`PLY_NET_CHILD=fd_exhaustion`)
//! with `RLIMIT_NOFILE` lowered to 64, so the exhaustion stays in that child. The parent
//! floods it with more connections than it has fds, holds them, and watches the child's
//! CPU time (from `/proc/<pid>/stat`): a listener that stays readable while accept fails
//! with `EMFILE` would spin a core if the accept loop did not back off. Then the parent
//! closes its connections and checks that a fresh one is echoed.

mod util;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use util::watchdog;

/// The environment variable that makes this binary the server.
const CHILD_ENV: &str = "PLY_NET_CHILD";
const CHILD_ROLE: &str = "fd_exhaustion";
/// The test's name, for the child's `--exact` filter.
const TEST: &str = "out_of_fds_the_server_backs_off_and_recovers";
/// The child's fd limit.
const FD_LIMIT: u64 = 64;
/// Connections the parent opens at once and during the measurement.
const FLOOD_BEFORE: usize = 150;
const FLOOD_DURING: usize = 150;
/// How long the child's CPU time is watched.
const WINDOW: Duration = Duration::from_millis(1500);

#[test]
fn out_of_fds_the_server_backs_off_and_recovers() {
    if std::env::var(CHILD_ENV).as_deref() == Ok(CHILD_ROLE) {
        child_server();
    }
    let _w = watchdog("fd exhaustion", Duration::from_secs(60));
    let mut child = Server::start();
    let addr = child.addr;

    // The first connections are accepted and served.
    let mut held = Vec::new();
    for i in 0..FLOOD_BEFORE {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => held.push(s),
            Err(e) => panic!("connection #{i} to the child failed: {e}"),
        }
    }
    assert_echo(&held[0], b"first");
    // The child ran out of fds: it said so.
    let err = child.wait_line("ACCEPT_ERROR ", Duration::from_secs(10));
    assert!(err.contains("os_error=24"), "not EMFILE: {err}");

    // Exhausted, with connections still coming, the child must mostly sleep. Its CPU time
    // is compared with what one busy thread gets meanwhile, not with the wall clock: on a
    // shared (virtual) machine a process spinning flat out may be charged only a third of
    // the wall time.
    let errors_before = child.accept_errors();
    let cpu_before = child.cpu_time();
    let busy = BusyThread::start();
    let start = Instant::now();
    for _ in 0..FLOOD_DURING {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            held.push(s);
        }
        std::thread::sleep(WINDOW / FLOOD_DURING as u32);
    }
    let wall = start.elapsed();
    let cpu = child.cpu_time() - cpu_before;
    let one_core = busy.stop();
    let errors = child.accept_errors() - errors_before;
    assert!(
        child.is_running(),
        "the server died when out of fds; its log:\n{}",
        child.log()
    );
    eprintln!(
        "out of fds for {wall:?}: the server used {cpu:?} of CPU (a busy thread got \
         {one_core:?}) and failed {errors} accepts"
    );
    assert!(
        cpu < one_core / 2,
        "the server spun while out of fds: {cpu:?} of CPU (a busy thread got {one_core:?}) \
         in {wall:?}, {errors} failed accepts"
    );
    // Backing off from 5 ms doubling to 640 ms, it tries a handful of times, not
    // thousands.
    assert!(errors < 50, "{errors} failed accepts in {wall:?}");
    assert!(
        held.len() > FLOOD_BEFORE + FLOOD_DURING / 2,
        "{} connections held",
        held.len()
    );
    // It still serves the connections it holds.
    assert_echo(&held[1], b"still here");

    // Free the fds: the server drains its backlog of closed connections and accepts anew.
    drop(held);
    let fresh = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    assert_echo(&fresh, b"fds are back");
    assert!(child.is_running(), "{}", child.log());
}

/// Writes `msg` and expects it back within a few seconds.
fn assert_echo(mut stream: &TcpStream, msg: &[u8]) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(msg).unwrap();
    let mut got = vec![0; msg.len()];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|e| panic!("no echo of {:?}: {e}", String::from_utf8_lossy(msg)));
    assert_eq!(got, msg);
}

/// The server child process.
struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: mpsc::Receiver<String>,
    /// The child's stderr: a file, so that logging never blocks the child (a pipe the
    /// parent drains too slowly would, and would hide a spinning accept loop).
    log: PathBuf,
}

impl Server {
    fn start() -> Server {
        let log =
            std::env::temp_dir().join(format!("ply-net-fd-exhaustion-{}.log", std::process::id()));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, CHILD_ROLE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("create the child's log"))
            .spawn()
            .expect("start the server child");
        let stdout = lines(child.stdout.take().unwrap());
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout,
            log,
        };
        let line = server.wait_line("PORT=", Duration::from_secs(20));
        let port: u16 = line["PORT=".len()..].trim().parse().unwrap();
        server.addr.set_port(port);
        server
    }

    /// The next line of the child's stdout holding `prefix`, from `prefix` on.
    fn wait_line(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                // libtest's "test <name> ... " may share the first line.
                Ok(line) => {
                    if let Some(at) = line.find(prefix) {
                        return line[at..].to_owned();
                    }
                }
                Err(_) => panic!(
                    "the child printed no {prefix:?} line within {limit:?}; its log:\n{}",
                    self.log()
                ),
            }
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The accept errors the child logged so far.
    fn accept_errors(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.starts_with("accept:"))
            .count()
    }

    /// What the child wrote to its log (stderr) so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The child's user + system CPU time so far, all threads.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // The fields after the command name (which may hold spaces, in parentheses):
        // state is field 3, utime 14 and stime 15 (proc(5)).
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf only reads a configuration value.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A thread that spins until stopped: how much CPU one thread gets on this machine now.
struct BusyThread {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl BusyThread {
    fn start() -> BusyThread {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = thread_cpu_time();
            let mut x = 0u64;
            while !flag.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            thread_cpu_time() - start
        });
        BusyThread { stop, thread }
    }

    /// Stops the thread; the CPU time it got.
    fn stop(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into `ts`, a valid timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The lines of `pipe`, read on a thread of their own.
fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The child: an echo server with 64 fds that logs accept errors and carries on.
fn child_server() -> ! {
    // Leave when the parent does (it holds our stdin).
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    lower_fd_limit(FD_LIMIT);
    let rt = util::multi_thread();
    let server = rt.spawn(async {
        let listener = ply_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT={}", listener.local_addr().unwrap().port());
        let mut first = true;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(ply_net::spawn(util::echo(stream))),
                Err(e) => {
                    // Log and carry on, as a server would; the listener backs off before
                    // the next accept.
                    eprintln!("accept: {e}");
                    if std::mem::take(&mut first) {
                        println!("ACCEPT_ERROR os_error={}", e.raw_os_error().unwrap_or(0));
                    }
                }
            }
        }
    });
    // The accept loop runs on the workers, as a server's would.
    let end = rt.block_on(server);
    panic!("the accept loop ended: {end:?}");
}

/// Lowers the soft `RLIMIT_NOFILE` of this process to `limit`.
fn lower_fd_limit(limit: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into `lim`, a valid rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = limit;
    // SAFETY: setrlimit reads a valid rlimit; lowering the soft limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

//! One readiness round trip, ply-reactor against async-io's `Async` and tokio's `AsyncFd`,
//! side by side in one run.
//!
//! The workload is a ping-pong, N round trips per run, over a Unix socket pair
//! (`socketpair(2)`, each side reads and writes its own socket), or with `--pipes` over two
//! pipes (one per direction), or with `--tcp` over a loopback TCP connection
//! (`TCP_NODELAY`). The serving side writes byte `i` and waits for `i + 1`; the
//! replying side waits for a byte and writes it back plus one. Each round trip is
//! therefore two readiness wake-ups: a byte is written, the task waiting for readability
//! of the other end wakes, reads it (and the read that finds the fd drained again returns
//! `WouldBlock` and puts the task back to sleep) and answers. Every read and write goes
//! through the library's own readiness path: ply `Async::read_with`/`write_with`,
//! async-io `Async::read_with`/`write_with`, tokio `AsyncFd::async_io(Interest::…)`, over
//! the same fd type doing plain `read(2)`/`write(2)`. The same two `async fn`s (`serve`
//! and `reply`) run on every contender.
//!
//! Who waits in `epoll_wait` decides the cost, so the contenders come in three groups of
//! comparable configurations:
//!
//! 1. **Two threads under a plain `block_on`, the reactor thread** (a reactor used
//!    alone, under an executor that knows nothing of it). Each side runs under
//!    `futures::executor::block_on` on its own thread; the library's fallback reactor
//!    thread waits in epoll for both and wakes them. `ply-global`:
//!    `ply_reactor::Reactor::global()` (thread `ply-reactor`). `async-io-global`:
//!    `async_io::Async` (thread `async-io`).
//! 2. **Two threads, each waiting in the reactor itself.** Each side runs on its own
//!    thread under the library's own runner. `ply-net-ct`: a task spawned on a
//!    `ply_net::Runtime::new_current_thread()` per thread, each with its own reactor.
//!    `tokio-ct`: the same with `tokio::runtime::Builder::new_current_thread()`.
//!    `async-io-blockon`: `async_io::block_on` on both threads, which makes a blocked
//!    thread drive async-io's one global reactor itself (the other blocked thread sleeps
//!    on its parker and is woken by it).
//! 3. **One thread, both sides in one task**, `futures::future::join(serve, reply)`; the
//!    thread waits in its reactor whenever both sides are blocked, so every hop is write,
//!    `epoll_wait`, wake, read, with no other thread. `ply-loop`: a `ply_reactor::Reactor`
//!    driven by a ten-line loop (poll the future; if it is not woken, `Reactor::poll`).
//!    `ply-net-ct-1`: the task spawned on a ply-net current-thread runtime. `tokio-ct-1`:
//!    on a tokio current-thread runtime. `async-io-1`: `async_io::block_on`.
//!
//! Runtimes, fds and registrations are built once per contender and reused by every
//! round; the second thread of groups 1 and 2 is a persistent peer thread told to start
//! each run through a channel. The timed part of a run is from that go signal to the
//! last reply. ply-net's runtime gives its reactor `ply_executor::coop::poll_proceed` as
//! its cooperative budget; `ply-loop` builds its reactor with the same budget, so the ply
//! contenders that wait in their own reactor pay for the same check. `ply-global` uses
//! `Reactor::global()`, which has no budget (under `futures::executor::block_on` a budget
//! would never bite anyway).
//!
//! Rounds interleave all contenders (`ply_bench::compare`, rotating order). The tables
//! give each contender's median time per run and per round trip, and for every ply
//! contender the median over rounds of its time divided by each peer's in the same round
//! (the target is a ratio ≤ 1.0). The results also go to `docs/figures/reactor.csv`
//! (`reactor-pipes.csv` with `--pipes`, `reactor-tcp.csv` with `--tcp`).
//!
//! Run it with (about a minute each on 2 cores):
//!
//! ```text
//! cd bench && cargo run --release --bin reactor
//! cd bench && cargo run --release --bin reactor -- --pipes
//! cd bench && cargo run --release --bin reactor -- --tcp
//! ```
//!
//! Flags: `--rounds R` (default 31); `--scale K` (multiplies the round trips per run:
//! 2,000 for groups 1 and 2, 10,000 for group 3); `--pipes` or `--tcp`; `--group G` (run group G
//! only, for a closer look; no CSV is written then).
//!
//! For counts, `--only <contender> --n <N>` builds one contender and runs N round trips
//! once (after one warm-up round trip), untimed; for `ply-global` it also prints what the
//! global reactor did per round trip (polls, events, wakes), at full speed. Running it at
//! two values of N under `valgrind --tool=callgrind` (userspace instructions, every
//! thread) or `strace -f -c` (system calls, every thread), and dividing the difference by
//! the difference in N, cancels set-up and shutdown:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/reactor --only ply-global --n 2000
//! strace -f -c -o /tmp/trace.txt target/release/reactor --only ply-global --n 2000
//! ```
//!
//! `cargo run --release --bin reactor_counts` does both for every contender and prints
//! the table.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ply_bench::{arg_or, arg_switch, compare, median_f64, only, Contender, Row};

/// Round trips per run at `--scale 1`, for the two-thread groups and the one-thread group.
const TWO_THREAD_TRIPS: u32 = 2_000;
const ONE_THREAD_TRIPS: u32 = 10_000;

// ---------------------------------------------------------------------------------------
// The endpoints: one socket of a pair (read and written), or two pipe ends.

/// A nonblocking fd read and written with plain `read(2)`/`write(2)`, the same for every
/// contender (a socket of a pair, or one end of a pipe).
#[derive(Debug)]
struct Fd(OwnedFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Read for &Fd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes; the fd is open.
        let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Write for &Fd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes of reads; the fd is open.
        let n = unsafe { libc::write(self.0.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One side's fds: it reads `rx` and writes `tx` (`None`: the same fd, a socket).
struct Ends {
    rx: Fd,
    tx: Option<Fd>,
}

/// What carries the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    /// A Unix socket pair (`socketpair(2)`): each side reads and writes its own socket.
    SocketPair,
    /// Two pipes, one per direction.
    Pipes,
    /// A TCP connection over loopback, `TCP_NODELAY`.
    Tcp,
}

impl Transport {
    fn from_args() -> Transport {
        if arg_switch("--pipes") {
            Transport::Pipes
        } else if arg_switch("--tcp") {
            Transport::Tcp
        } else {
            Transport::SocketPair
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Transport::SocketPair => "a Unix socket pair",
            Transport::Pipes => "two pipes, one per direction",
            Transport::Tcp => "a loopback TCP connection",
        }
    }

    fn csv(self) -> &'static str {
        match self {
            Transport::SocketPair => "reactor.csv",
            Transport::Pipes => "reactor-pipes.csv",
            Transport::Tcp => "reactor-tcp.csv",
        }
    }
}

/// The two sides' ends.
fn endpoints(transport: Transport) -> (Ends, Ends) {
    match transport {
        Transport::Pipes => {
            let (to_b_r, to_b_w) = ply_sys::pipe().expect("pipe");
            let (to_a_r, to_a_w) = ply_sys::pipe().expect("pipe");
            (
                Ends {
                    rx: Fd(to_a_r),
                    tx: Some(Fd(to_b_w)),
                },
                Ends {
                    rx: Fd(to_b_r),
                    tx: Some(Fd(to_a_w)),
                },
            )
        }
        Transport::SocketPair => {
            let (a, b) = UnixStream::pair().expect("socketpair");
            a.set_nonblocking(true).unwrap();
            b.set_nonblocking(true).unwrap();
            (
                Ends {
                    rx: Fd(a.into()),
                    tx: None,
                },
                Ends {
                    rx: Fd(b.into()),
                    tx: None,
                },
            )
        }
        Transport::Tcp => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let a = std::net::TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
            let (b, _) = listener.accept().expect("accept");
            for s in [&a, &b] {
                s.set_nodelay(true).unwrap();
                s.set_nonblocking(true).unwrap();
            }
            (
                Ends {
                    rx: Fd(a.into()),
                    tx: None,
                },
                Ends {
                    rx: Fd(b.into()),
                    tx: None,
                },
            )
        }
    }
}

/// One side, registered with a library: `T` is that library's registered-fd type.
struct Duplex<T> {
    rx: Arc<T>,
    tx: Arc<T>,
}

impl<T> Duplex<T> {
    fn new(ends: Ends, mut register: impl FnMut(Fd) -> T) -> Duplex<T> {
        let rx = Arc::new(register(ends.rx));
        let tx = match ends.tx {
            Some(fd) => Arc::new(register(fd)),
            None => rx.clone(),
        };
        Duplex { rx, tx }
    }
}

// ---------------------------------------------------------------------------------------
// The workload, written once for the three libraries.

/// One byte in, one byte out, through a library's readiness path.
trait Byte {
    fn read1(&self) -> impl Future<Output = u8>;
    fn write1(&self, b: u8) -> impl Future<Output = ()>;
}

impl Byte for Duplex<ply_reactor::Async<Fd>> {
    async fn read1(&self) -> u8 {
        let mut b = [0u8; 1];
        let n = self
            .rx
            .read_with(|mut s| s.read(&mut b))
            .await
            .expect("read");
        assert_eq!(n, 1, "the peer closed");
        b[0]
    }

    async fn write1(&self, b: u8) {
        let n = self
            .tx
            .write_with(|mut s| s.write(&[b]))
            .await
            .expect("write");
        assert_eq!(n, 1);
    }
}

impl Byte for Duplex<async_io::Async<Fd>> {
    async fn read1(&self) -> u8 {
        let mut b = [0u8; 1];
        let n = self
            .rx
            .read_with(|mut s| s.read(&mut b))
            .await
            .expect("read");
        assert_eq!(n, 1, "the peer closed");
        b[0]
    }

    async fn write1(&self, b: u8) {
        let n = self
            .tx
            .write_with(|mut s| s.write(&[b]))
            .await
            .expect("write");
        assert_eq!(n, 1);
    }
}

impl Byte for Duplex<tokio::io::unix::AsyncFd<Fd>> {
    async fn read1(&self) -> u8 {
        use tokio::io::Interest;
        let mut b = [0u8; 1];
        let n = self
            .rx
            .async_io(Interest::READABLE, |mut s: &Fd| s.read(&mut b))
            .await
            .expect("read");
        assert_eq!(n, 1, "the peer closed");
        b[0]
    }

    async fn write1(&self, b: u8) {
        use tokio::io::Interest;
        let n = self
            .tx
            .async_io(Interest::WRITABLE, |mut s: &Fd| s.write(&[b]))
            .await
            .expect("write");
        assert_eq!(n, 1);
    }
}

impl<T: Byte> Byte for Arc<T> {
    fn read1(&self) -> impl Future<Output = u8> {
        (**self).read1()
    }

    fn write1(&self, b: u8) -> impl Future<Output = ()> {
        (**self).write1(b)
    }
}

/// Sends byte `i` and waits for `i + 1`, `n` times.
async fn serve(s: &impl Byte, n: u32) {
    for i in 0..n {
        s.write1(i as u8).await;
        assert_eq!(s.read1().await, (i as u8).wrapping_add(1), "round trip {i}");
    }
}

/// Waits for a byte and sends it back plus one, `n` times.
async fn reply(s: &impl Byte, n: u32) {
    for _ in 0..n {
        let b = s.read1().await;
        s.write1(b.wrapping_add(1)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Drivers.

/// A waker that only raises a flag: enough for `drive`, where every wake comes from the
/// reactor step running on the same thread (a waker called from another thread would also
/// have to call `Reactor::wake`, see `docs/reactor.md`).
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// The smallest executor that drives a ply reactor itself: poll the future while it has
/// been woken; otherwise take one reactor step, which waits in epoll and calls wakers.
fn drive<F: Future>(reactor: &ply_reactor::Reactor, future: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if flag.0.swap(false, Ordering::Acquire) {
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
        } else {
            reactor.poll(None).expect("reactor step");
        }
    }
}

/// A persistent second thread: runs its side for `n` round trips whenever told to.
struct Peer {
    go: mpsc::Sender<u32>,
    done: mpsc::Receiver<()>,
}

impl Peer {
    /// Spawns the thread; `setup` runs on it and returns the side to run per request.
    fn spawn<S: FnMut(u32) + 'static>(setup: impl FnOnce() -> S + Send + 'static) -> Peer {
        let (go, go_rx) = mpsc::channel::<u32>();
        let (done_tx, done) = mpsc::channel();
        std::thread::Builder::new()
            .name("bench-peer".into())
            .spawn(move || {
                let mut side = setup();
                done_tx.send(()).unwrap();
                // Ends when the contender (holding `go`) is dropped.
                while let Ok(n) = go_rx.recv() {
                    side(n);
                    done_tx.send(()).unwrap();
                }
            })
            .expect("spawn the peer thread");
        done.recv().expect("peer set-up");
        Peer { go, done }
    }

    /// Runs one round: `n` round trips, the peer's side there and `mine` here.
    fn round(&self, n: u32, mine: impl FnOnce()) -> Duration {
        let t = Instant::now();
        self.go.send(n).unwrap();
        mine();
        self.done.recv().unwrap();
        t.elapsed()
    }
}

fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

type Ply = Duplex<ply_reactor::Async<Fd>>;
type AsyncIo = Duplex<async_io::Async<Fd>>;
type Tokio = Duplex<tokio::io::unix::AsyncFd<Fd>>;

fn ply(ends: Ends, reactor: &ply_reactor::Reactor) -> Arc<Ply> {
    Arc::new(Duplex::new(ends, |fd| {
        ply_reactor::Async::new_in(fd, reactor).expect("register")
    }))
}

fn async_io(ends: Ends) -> Arc<AsyncIo> {
    Arc::new(Duplex::new(ends, |fd| {
        async_io::Async::new(fd).expect("register")
    }))
}

/// Registers `ends` with `rt`'s reactor.
fn tokio(ends: Ends, rt: &tokio::runtime::Runtime) -> Arc<Tokio> {
    let _g = rt.enter();
    Arc::new(Duplex::new(ends, |fd| {
        // SAFETY: `Fd` owns its fd, and the `AsyncFd` owns the `Fd`, so the fd stays open
        // and the same for the `AsyncFd`'s whole life.
        let r = unsafe { tokio::io::unix::AsyncFd::register(fd) };
        r.map_err(io::Error::from).expect("register")
    }))
}

/// A side on its own ply-net current-thread runtime. Fields drop in order: the
/// registrations before their runtime.
struct PlyNetSide {
    io: Arc<Ply>,
    rt: ply_net::Runtime,
}

impl PlyNetSide {
    fn new(ends: Ends) -> PlyNetSide {
        let rt = ply_net::Runtime::new_current_thread().expect("ply-net runtime");
        let io = ply(ends, rt.handle().reactor());
        PlyNetSide { io, rt }
    }

    /// Spawns `side` as a task and runs the runtime until it is done.
    fn run<F: Future<Output = ()> + Send + 'static>(&self, side: impl FnOnce(Arc<Ply>) -> F) {
        let task = self.rt.spawn(side(self.io.clone()));
        self.rt.block_on(task).expect("task");
    }
}

/// A side on its own tokio current-thread runtime.
struct TokioSide {
    io: Arc<Tokio>,
    rt: tokio::runtime::Runtime,
}

impl TokioSide {
    fn new(ends: Ends) -> TokioSide {
        let rt = tokio_ct();
        let io = tokio(ends, &rt);
        TokioSide { io, rt }
    }

    fn run<F: Future<Output = ()> + Send + 'static>(&self, side: impl FnOnce(Arc<Tokio>) -> F) {
        let task = self.rt.spawn(side(self.io.clone()));
        self.rt.block_on(task).expect("task");
    }
}

// ---------------------------------------------------------------------------------------
// Contenders: each is a closure running `n` round trips and returning the measured time.

/// The contenders, in table order, with their group.
const CONTENDERS: [(&str, u8); 9] = [
    ("ply-global", 1),
    ("async-io-global", 1),
    ("ply-net-ct", 2),
    ("tokio-ct", 2),
    ("async-io-blockon", 2),
    ("ply-loop", 3),
    ("ply-net-ct-1", 3),
    ("tokio-ct-1", 3),
    ("async-io-1", 3),
];

const GROUPS: [(u8, &str); 3] = [
    (
        1,
        "Two threads under a plain block_on; the library's reactor thread waits in epoll",
    ),
    (
        2,
        "Two threads, each running its side with the library's own block_on / runtime, \
         which waits in the reactor itself",
    ),
    (
        3,
        "One thread, both sides in one task; the thread waits in its reactor itself",
    ),
];

type Run = Box<dyn FnMut(u32) -> Duration>;

/// Builds a contender by name: fds, registrations, runtimes and peer threads.
fn build(name: &str, transport: Transport) -> Run {
    let (a, b) = endpoints(transport);
    match name {
        "ply-global" => {
            let global = ply_reactor::Reactor::global().expect("global reactor");
            let a = ply(a, &global);
            let peer = Peer::spawn(move || {
                let b = ply(b, &global);
                move |n| futures::executor::block_on(reply(&b, n))
            });
            Box::new(move |n| peer.round(n, || futures::executor::block_on(serve(&a, n))))
        }
        "async-io-global" => {
            let a = async_io(a);
            let peer = Peer::spawn(move || {
                let b = async_io(b);
                move |n| futures::executor::block_on(reply(&b, n))
            });
            Box::new(move |n| peer.round(n, || futures::executor::block_on(serve(&a, n))))
        }
        "async-io-blockon" => {
            let a = async_io(a);
            let peer = Peer::spawn(move || {
                let b = async_io(b);
                move |n| async_io::block_on(reply(&b, n))
            });
            Box::new(move |n| peer.round(n, || async_io::block_on(serve(&a, n))))
        }
        "ply-net-ct" => {
            let side = PlyNetSide::new(a);
            let peer = Peer::spawn(move || {
                let side = PlyNetSide::new(b);
                move |n| side.run(|io| async move { reply(&io, n).await })
            });
            Box::new(move |n| peer.round(n, || side.run(|io| async move { serve(&io, n).await })))
        }
        "tokio-ct" => {
            let side = TokioSide::new(a);
            let peer = Peer::spawn(move || {
                let side = TokioSide::new(b);
                move |n| side.run(|io| async move { reply(&io, n).await })
            });
            Box::new(move |n| peer.round(n, || side.run(|io| async move { serve(&io, n).await })))
        }
        "ply-loop" => {
            let reactor = ply_reactor::Reactor::builder()
                .budget(ply_executor::coop::poll_proceed)
                .build()
                .expect("reactor");
            let (a, b) = (ply(a, &reactor), ply(b, &reactor));
            Box::new(move |n| {
                let t = Instant::now();
                drive(&reactor, futures::future::join(serve(&a, n), reply(&b, n)));
                t.elapsed()
            })
        }
        "ply-net-ct-1" => {
            let side = PlyNetSide::new(a);
            let b = ply(b, side.rt.handle().reactor());
            Box::new(move |n| {
                let t = Instant::now();
                let b = b.clone();
                side.run(|a| async move {
                    futures::future::join(serve(&a, n), reply(&b, n)).await;
                });
                t.elapsed()
            })
        }
        "tokio-ct-1" => {
            let side = TokioSide::new(a);
            let b = tokio(b, &side.rt);
            Box::new(move |n| {
                let t = Instant::now();
                let b = b.clone();
                side.run(|a| async move {
                    futures::future::join(serve(&a, n), reply(&b, n)).await;
                });
                t.elapsed()
            })
        }
        "async-io-1" => {
            let (a, b) = (async_io(a), async_io(b));
            Box::new(move |n| {
                let t = Instant::now();
                async_io::block_on(futures::future::join(serve(&a, n), reply(&b, n)));
                t.elapsed()
            })
        }
        other => panic!(
            "unknown contender {other:?}; one of {:?}",
            CONTENDERS.map(|c| c.0)
        ),
    }
}

/// Voluntary context switches (a thread blocked: in `epoll_wait`, on a futex) so far, per
/// thread name, from `/proc/self/task/*/status`.
fn context_switches() -> std::collections::BTreeMap<String, u64> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let n: u64 = field("voluntary_ctxt_switches:").parse().unwrap_or(0);
        *by_name.entry(field("Name:")).or_insert(0) += n;
    }
    by_name
}

// ---------------------------------------------------------------------------------------

fn main() {
    let transport = Transport::from_args();
    if let Some(name) = only() {
        let n: u32 = arg_or("--n", 2_000);
        let mut run = build(&name, transport);
        run(1); // warm-up: first registration events, lazily started threads
        let global = (name == "ply-global").then(|| ply_reactor::Reactor::global().unwrap());
        let before = global.as_ref().map(|g| g.stats());
        let switches = context_switches();
        let took = run(n);
        let after = context_switches();
        println!(
            "{name}: {n} round trips in {:.3} ms ({:.0} ns per round trip)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e9 / f64::from(n)
        );
        // Threads that blocked, and how often, per round trip (not traced: full speed).
        let per_thread: Vec<String> = after
            .iter()
            .map(|(name, &a)| {
                let d = a - switches.get(name).copied().unwrap_or(0);
                format!("{name} {:.2}", d as f64 / f64::from(n))
            })
            .collect();
        let total: u64 = after.values().sum::<u64>() - switches.values().sum::<u64>();
        println!(
            "voluntary context switches per round trip: {:.2} ({})",
            total as f64 / f64::from(n),
            per_thread.join(", ")
        );
        if let (Some(g), Some(before)) = (global, before) {
            // What the reactor thread did per round trip, at full speed (no tracer).
            let after = g.stats();
            let per = |a: u64, b: u64| (a - b) as f64 / f64::from(n);
            println!(
                "global reactor per round trip: {:.2} polls, {:.2} events, {:.2} wakes, \
                 {:.2} unparks",
                per(after.polls, before.polls),
                per(after.events, before.events),
                per(after.wakes, before.wakes),
                per(after.unparks, before.unparks),
            );
        }
        return;
    }

    let rounds: usize = arg_or("--rounds", 31);
    let scale: u32 = arg_or("--scale", 1);
    let trips = |group: u8| match group {
        3 => ONE_THREAD_TRIPS * scale,
        _ => TWO_THREAD_TRIPS * scale,
    };

    // Every contender records its own times, so any two can be compared round by round.
    let times: Vec<Rc<RefCell<Vec<Duration>>>> = CONTENDERS
        .iter()
        .map(|_| Rc::new(RefCell::new(Vec::new())))
        .collect();
    // `--group G` runs one group only (the others get a no-op contender, not reported).
    let only_group: u8 = arg_or("--group", 0);
    let wanted = |group: u8| only_group == 0 || group == only_group;
    let mut contenders: Vec<Contender<'_>> = CONTENDERS
        .iter()
        .zip(&times)
        .map(|(&(name, group), log)| {
            if !wanted(group) {
                return Contender::manual(name, || Duration::from_nanos(1));
            }
            let mut run = build(name, transport);
            let (n, log) = (trips(group), log.clone());
            Contender::manual(name, move || {
                let d = run(n);
                log.borrow_mut().push(d);
                d
            })
        })
        .collect();

    let started = Instant::now();
    let rows = compare(rounds, &mut contenders);
    drop(contenders);
    let elapsed = started.elapsed();

    let over = transport.describe();
    println!("# ply-reactor: one readiness round trip (ping-pong over {over})");
    println!(
        "\n{rounds} rounds after a warm-up, {:.0} s. A round trip is two readiness wake-ups \
         (one per side). ply/peer = median over rounds of ply's time / the peer's in the same \
         round; the target is ≤ 1.0.",
        elapsed.as_secs_f64()
    );

    // Times per round, warm-up dropped (compare runs each contender once before round 0).
    let per_round: Vec<Vec<Duration>> = times
        .iter()
        .map(|t| t.borrow().iter().skip(1).copied().collect())
        .collect();
    let mut csv = String::from("group,contender,round_trips,median_ns_per_round_trip\n");
    for (group, title) in GROUPS {
        if !wanted(group) {
            continue;
        }
        let members: Vec<usize> = (0..CONTENDERS.len())
            .filter(|&i| CONTENDERS[i].1 == group)
            .collect();
        let n = trips(group);
        println!("\n### {group}. {title}, {n} round trips per run\n");
        print_group(&members, &rows, &per_round, n);
        for &i in &members {
            let ns = rows[i].median.as_secs_f64() * 1e9 / f64::from(n);
            csv.push_str(&format!("{group},{},{n},{ns:.0}\n", rows[i].name));
        }
    }

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/figures");
    if only_group == 0 && std::fs::create_dir_all(&dir).is_ok() {
        let path = dir.join(transport.csv());
        match std::fs::write(&path, csv) {
            Ok(()) => println!("\n(wrote {})", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
}

/// One group's table: per contender the median per run and per round trip, and the best
/// run's time per round trip (the run least disturbed by other load); per ply contender,
/// the median per-round ratio against every peer of the group, with the number of rounds
/// ply was the faster of the two.
fn print_group(members: &[usize], rows: &[Row], per_round: &[Vec<Duration>], n: u32) {
    let is_ply = |i: usize| CONTENDERS[i].0.starts_with("ply");
    let peers: Vec<usize> = members.iter().copied().filter(|&i| !is_ply(i)).collect();
    print!("| contender | median per run | per round trip | best run, per round trip |");
    for &p in &peers {
        print!(" ply/{} (rounds ply faster) |", CONTENDERS[p].0);
    }
    print!("\n|---|---:|---:|---:|");
    for _ in &peers {
        print!("---:|");
    }
    println!();
    for &i in members {
        let r = &rows[i];
        let best = per_round[i].iter().min().expect("at least one round");
        print!(
            "| {} | {:.2} ms | {:.0} ns | {:.0} ns |",
            r.name,
            r.median.as_secs_f64() * 1e3,
            r.median.as_secs_f64() * 1e9 / f64::from(n),
            best.as_secs_f64() * 1e9 / f64::from(n)
        );
        for &p in &peers {
            if is_ply(i) {
                let mut ratios: Vec<f64> = per_round[i]
                    .iter()
                    .zip(&per_round[p])
                    .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                    .collect();
                let wins = ratios.iter().filter(|&&x| x < 1.0).count();
                let total = ratios.len();
                print!(" {:.2} ({wins}/{total}) |", median_f64(&mut ratios));
            } else {
                print!(" |");
            }
        }
        println!();
    }
}

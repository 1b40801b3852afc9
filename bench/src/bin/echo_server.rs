//! The server side of the echo benchmark (issue 6): one TCP echo server, six ways.
//!
//! `--impl` picks the implementation:
//!
//! - `ply-ct`: `ply_net::Runtime::new_current_thread()`, one task per connection;
//! - `ply-mt`: `ply_net::Runtime` multi-threaded with 2 workers;
//! - `tokio-ct`: tokio's `current_thread` runtime, one task per connection;
//! - `tokio-mt`: tokio's `multi_thread` runtime with 2 workers;
//! - `smol`: a `smol::LocalExecutor` run by `smol::block_on` (the reactor is driven on the
//!   same thread while it is idle): smol's single-threaded setup;
//! - `epoll`: a hand-written single-threaded edge-triggered epoll loop over libc: the
//!   floor;
//! - `epoll-eagain`: the same loop, except that it reads until `EAGAIN` instead of
//!   stopping after a short read: what that one extra `recv` per request costs;
//! - `uring`: a hand-written single-threaded io_uring loop over raw syscalls (multishot
//!   accept, multishot recv into a provided-buffer ring, sends from the ring buffers, one
//!   `io_uring_enter` per turn): the completion floor of issue 16 (`echo_server/uring.rs`).
//!
//! Every async server is the echo loop a user of that runtime would write: accept, set
//! `TCP_NODELAY`, spawn a task that reads up to 4 KiB into a `Vec` and writes it all back
//! until end of stream. The accept loop runs in `block_on` on the main thread.
//!
//! Flags:
//!
//! - `--addr A` (default `127.0.0.1:0`): the address to listen on; the server prints
//!   `listening <addr>` on stdout once it accepts connections.
//! - `--cpus L` (default `0`): pin the process (and so every thread it starts) to these
//!   cores, a comma-separated list, with `sched_setaffinity(2)`.
//! - `--conns C` (default 0, never): exit once C connections have been accepted and
//!   closed again. With the load generator's `--requests N` this makes a fixed-load run
//!   that ends by itself, for `valgrind --tool=callgrind` and `strace -f -c`.
//!
//! Run by `echo_bench` (wall-clock tables) and `bench/echo.sh` (callgrind and strace);
//! by hand:
//!
//! ```text
//! cd bench && cargo run --release --bin echo_server -- --impl ply-ct --addr 127.0.0.1:7000
//! ```

use ply_bench::arg_or;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "echo_server/uring.rs"]
mod uring;

/// The size of every server's read buffer.
const BUF: usize = 4096;

fn main() -> io::Result<()> {
    let imp: String = arg_or("--impl", String::new());
    let addr: SocketAddr = arg_or("--addr", "127.0.0.1:0".parse().unwrap());
    let cpus: String = arg_or("--cpus", "0".to_string());
    let conns: usize = arg_or("--conns", 0);
    pin(&cpus)?;
    CONNS.store(conns, Ordering::Relaxed);
    match imp.as_str() {
        "ply-ct" => ply(addr, ply_net::Runtime::new_current_thread()?),
        "ply-mt" => ply(
            addr,
            ply_net::Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()?,
        ),
        "tokio-ct" => tokio(
            addr,
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        ),
        "tokio-mt" => tokio(
            addr,
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?,
        ),
        "smol" => smol(addr),
        "epoll" => epoll::run(addr, true),
        "epoll-eagain" => epoll::run(addr, false),
        "uring" => uring::run(addr),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "--impl {other:?}: use ply-ct|ply-mt|tokio-ct|tokio-mt|smol|epoll|epoll-eagain|uring"
            ),
        )),
    }
}

/// `--conns`: how many closed connections end the process (0: never).
static CONNS: AtomicUsize = AtomicUsize::new(0);
static CLOSED: AtomicUsize = AtomicUsize::new(0);

/// Called once per connection when it ends: exits after the `--conns`-th.
fn closed() {
    let limit = CONNS.load(Ordering::Relaxed);
    if limit != 0 && CLOSED.fetch_add(1, Ordering::Relaxed) + 1 == limit {
        std::process::exit(0);
    }
}

fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening {addr}");
    let _ = out.flush();
}

/// Pins this process to `cpus` ("0", "0,1").
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

fn ply(addr: SocketAddr, rt: ply_net::Runtime) -> io::Result<()> {
    // `uring_bench` asks for ply's completion I/O with `PLY_IO=completion`; this ply-net
    // does not read that variable yet (issue 16 stage 2), so refuse rather than measure
    // readiness under the completion label.
    if std::env::var("PLY_IO").is_ok_and(|v| v == "completion") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "PLY_IO=completion: this ply-net has no completion I/O yet",
        ));
    }
    rt.block_on(async {
        let listener = ply_net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            ply_net::spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                closed();
            });
        }
    })
}

fn tokio(addr: SocketAddr, rt: tokio::runtime::Runtime) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?);
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                closed();
            });
        }
    })
}

fn smol(addr: SocketAddr) -> io::Result<()> {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?);
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            ex.spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                closed();
            })
            .detach();
        }
    }))
}

/// The floor: what a careful C programmer would write for this one job.
///
/// One thread, one epoll instance, every socket nonblocking and registered once,
/// edge-triggered, for reading and writing (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`).
/// Connections live in a `Vec` indexed by fd. On an event: accept until `EAGAIN`; for a
/// connection, flush any pending output, then read and write back. A read that returns
/// less than the buffer has drained the socket (more data would raise a new edge), so no
/// read is spent on `EAGAIN`, the same shortcut tokio takes. A short write keeps the rest
/// pending and stops reading until the next writable edge.
mod epoll {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    struct Conn {
        fd: OwnedFd,
        buf: Box<[u8; super::BUF]>,
        /// Pending output: `buf[start..end]`.
        start: usize,
        end: usize,
    }

    fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    /// `short_read_drains`: stop reading after a short read (the floor); `false` reads
    /// until `EAGAIN` (`--impl epoll-eagain`, to measure what that extra `recv` costs).
    pub(super) fn run(addr: SocketAddr, short_read_drains: bool) -> io::Result<()> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let lfd = listener.as_raw_fd();
        // SAFETY: plain syscall; the result is checked and owned on the next line.
        let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `ep` is a fresh fd that nothing else owns.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        add(&ep, lfd, libc::EPOLLIN as u32 | libc::EPOLLET as u32)?;
        super::announce(listener.local_addr()?);

        let mut conns: Vec<Option<Conn>> = Vec::new();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        loop {
            // SAFETY: `events` is a valid buffer of `events.len()` entries.
            let n = unsafe {
                libc::epoll_wait(
                    ep.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    -1,
                )
            };
            if n == -1 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in &events[..n as usize] {
                let fd = ev.u64 as RawFd;
                if fd == lfd {
                    accept_all(&ep, lfd, &mut conns)?;
                    continue;
                }
                let slot = &mut conns[fd as usize];
                let done = match slot {
                    Some(c) => serve(c, short_read_drains).is_err(),
                    None => false,
                };
                if done {
                    // Closing the fd removes it from the epoll interest list.
                    *slot = None;
                    super::closed();
                }
            }
        }
    }

    fn add(ep: &OwnedFd, fd: RawFd, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: `ev` is a valid epoll_event; both fds are open.
        cvt(unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    fn accept_all(ep: &OwnedFd, lfd: RawFd, conns: &mut Vec<Option<Conn>>) -> io::Result<()> {
        loop {
            // SAFETY: null address arguments are allowed; the result is checked.
            let fd = unsafe {
                libc::accept4(
                    lfd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd == -1 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock => Ok(()),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                    _ => Err(e),
                };
            }
            // SAFETY: `fd` is a fresh fd that nothing else owns.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let one: libc::c_int = 1;
            // SAFETY: `one` is a valid c_int option value of the size passed.
            cvt(unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    &one as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            })?;
            add(
                ep,
                fd,
                (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            )?;
            let i = fd as usize;
            if conns.len() <= i {
                conns.resize_with(i + 1, || None);
            }
            conns[i] = Some(Conn {
                fd: owned,
                buf: Box::new([0; super::BUF]),
                start: 0,
                end: 0,
            });
            // Data may have arrived before registration: the edge was raised then, and
            // registering an already-readable socket reports it at once, so nothing is
            // lost.
        }
    }

    /// Serves one event on a connection; `Err` means close it.
    fn serve(c: &mut Conn, short_read_drains: bool) -> io::Result<()> {
        if !flush(c)? {
            return Ok(());
        }
        loop {
            // SAFETY: `c.buf` is a valid buffer of BUF bytes.
            let n = unsafe {
                libc::recv(
                    c.fd.as_raw_fd(),
                    c.buf.as_mut_ptr() as *mut libc::c_void,
                    super::BUF,
                    0,
                )
            };
            if n == -1 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            c.start = 0;
            c.end = n as usize;
            // A short read drained the socket: wait for the next edge.
            if !flush(c)? || (short_read_drains && c.end < super::BUF) {
                return Ok(());
            }
        }
    }

    /// Writes the pending output; `Ok(false)` if the socket is full (the rest waits for
    /// the next writable edge).
    fn flush(c: &mut Conn) -> io::Result<bool> {
        while c.start < c.end {
            // SAFETY: the range lies inside `c.buf`.
            let n = unsafe {
                libc::send(
                    c.fd.as_raw_fd(),
                    c.buf[c.start..].as_ptr() as *const libc::c_void,
                    c.end - c.start,
                    libc::MSG_NOSIGNAL,
                )
            };
            if n == -1 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(false),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            c.start += n as usize;
        }
        Ok(true)
    }
}

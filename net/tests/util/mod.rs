//! Helpers shared by ply-net's behaviour tests.
#![allow(dead_code)] // each test binary uses a different subset

use ply_net::Backend;
use ply_net::{Runtime, TcpListener, TcpStream};
use std::future::Future;
use std::io;
use std::sync::mpsc;
use std::time::Duration;

/// Aborts the whole test process with a message if the returned guard is not dropped
/// within `limit`: a hang becomes a failure instead of a stuck CI run.
pub(crate) fn watchdog(name: &'static str, limit: Duration) -> impl Drop {
    let (done, wait) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            eprintln!("watchdog: test `{name}` still running after {limit:?}; aborting");
            std::process::abort();
        }
    });
    Guard(Some(done))
}

struct Guard(Option<mpsc::Sender<()>>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// The two runtime flavours every behaviour is checked on, with the selector that
/// `PLY_SELECTOR` chooses: (name, runtime).
pub(crate) fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        ("current_thread", current_thread()),
        ("multi_thread", multi_thread()),
    ]
}

/// A current-thread runtime with the default selector.
pub(crate) fn current_thread() -> Runtime {
    Runtime::new_current_thread().expect("build a current-thread runtime")
}

/// A multi-threaded runtime with two workers (CI has two cores) and the default selector.
pub(crate) fn multi_thread() -> Runtime {
    Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .expect("build a multi-threaded runtime")
}

/// The selector backend this run uses (`PLY_SELECTOR`, else epoll).
pub(crate) fn backend() -> Backend {
    Backend::from_env().expect("PLY_SELECTOR names a backend")
}

/// `fut`, bounded by ply's own timer: a stuck operation fails the test with `what` in the
/// message (the watchdog is the last resort for a stuck runtime).
pub(crate) async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match ply_net::timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: no answer within {limit:?}"),
    }
}

/// Echoes one connection: reads until end of stream, writing back everything it read,
/// then shuts down writing. Returns how many bytes it echoed.
pub(crate) async fn echo(stream: TcpStream) -> io::Result<usize> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut buf).await? {
            0 => break,
            n => {
                stream.write_all(&buf[..n]).await?;
                total += n;
            }
        }
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    Ok(total)
}

/// Accepts forever, echoing each connection in a task of its own (accept errors end it).
pub(crate) async fn serve_echo(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(ply_net::spawn(echo(stream)));
    }
}

/// A listener on a free loopback port and its address, with an echo server behind it.
pub(crate) async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    drop(ply_net::spawn(serve_echo(listener)));
    addr
}

/// `len` bytes that differ between seeds and positions, so a misplaced or swapped byte
/// shows in a comparison.
pub(crate) fn pattern(seed: usize, len: usize) -> Vec<u8> {
    let mut x = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// FNV-1a over `data`.
pub(crate) fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether this machine has IPv6 loopback.
pub(crate) fn has_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// How many fds this process has open now.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Raises the soft `RLIMIT_NOFILE` to at least `want` (within the hard limit).
///
/// # Panics
///
/// If the hard limit is below `want`: the test needs that many fds.
pub(crate) fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into `lim`, a valid rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    if lim.rlim_cur >= want {
        return;
    }
    assert!(
        lim.rlim_max >= want,
        "this test needs {want} fds; the hard RLIMIT_NOFILE is {}",
        lim.rlim_max
    );
    lim.rlim_cur = want;
    // SAFETY: setrlimit reads a valid rlimit; raising the soft limit within the hard one.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

//! Helpers shared by ply-reactor's behaviour tests.
#![allow(dead_code)] // each test binary uses a different subset

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

/// A connected loopback TCP pair from std (blocking sockets; `Async` makes them
/// nonblocking): (client, server side).
pub(crate) fn std_tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// How many fds this process has open now.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

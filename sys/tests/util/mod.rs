//! Helpers shared by ply-sys's behaviour tests.
#![allow(dead_code)] // each test binary uses a different subset

use ply_sys::{Backend, Event, Events, Selector, Socket, Token};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

/// Every backend, so each test checks all four even without `PLY_SELECTOR`.
pub(crate) fn backends() -> [Backend; 4] {
    Backend::ALL
}

/// Waits (up to `limit`, over as many waits as needed) for an event with `token`;
/// returns it, or `None` if none came.
pub(crate) fn wait_for(selector: &Selector, token: Token, limit: Duration) -> Option<Event> {
    let deadline = Instant::now() + limit;
    let mut events = Events::with_capacity(64);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        selector.select(&mut events, Some(deadline - now)).unwrap();
        if let Some(e) = events.iter().find(|e| e.token() == token) {
            return Some(*e);
        }
    }
}

/// All events with `token` from one wait of at most `limit` (a wait that returns early
/// with no events ends it too).
pub(crate) fn events_once(selector: &Selector, token: Token, limit: Duration) -> Vec<Event> {
    let mut events = Events::with_capacity(64);
    selector.select(&mut events, Some(limit)).unwrap();
    events
        .iter()
        .filter(|e| e.token() == token)
        .copied()
        .collect()
}

/// A connected loopback TCP pair: (client, server side).
pub(crate) fn tcp_pair(v6: bool) -> (Socket, Socket) {
    let addr: SocketAddr = if v6 { "[::1]:0" } else { "127.0.0.1:0" }.parse().unwrap();
    let listener = Socket::tcp_listener(addr, 16).unwrap();
    let client =
        Socket::tcp_connect_timeout(listener.local_addr().unwrap(), Duration::from_secs(5))
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match listener.accept() {
            Ok((server, _)) => return (client, server),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Whether this machine has IPv6 loopback.
pub(crate) fn has_ipv6() -> bool {
    Socket::tcp_listener("[::1]:0".parse().unwrap(), 1).is_ok()
}

/// How many fds this process has open now.
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

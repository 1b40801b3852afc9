//! Helpers shared by ply-sys's behaviour tests: all of ply-test-support, re-exported so a
//! test file writes `mod util;` and `use util::{watchdog, ...};`, and what needs
//! ply-sys's own types.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub(crate) use ply_test_support::*;

use ply_sys::{Backend, Event, Events, Selector, Socket, Token};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Every backend, so each test checks all four even without `PLY_SELECTOR`.
pub(crate) fn backends() -> [Backend; 4] {
    Backend::ALL
}

/// The backends for a test in which one thread blocks in a wait until another thread acts:
/// every backend, but without `uring` under valgrind. valgrind runs one thread at a time
/// and lets no other run while one is inside `io_uring_enter`, so the other thread could
/// only act after the wait's timeout (or never, for a wait without one).
pub(crate) fn backends_for_cross_thread_waits() -> Vec<Backend> {
    let under_valgrind = std::env::var_os("PLY_UNDER_VALGRIND").is_some();
    Backend::ALL
        .into_iter()
        .filter(|&b| !(under_valgrind && b == Backend::Uring))
        .collect()
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

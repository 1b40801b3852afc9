//! Helpers shared by ply-reactor's behaviour tests: all of ply-test-support, re-exported so a
//! test file writes `mod util;` and `use util::{watchdog, ...};`, and what needs
//! ply-reactor's own types.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub(crate) use ply_test_support::*;

/// A connected loopback TCP pair from std (blocking sockets; `Async` makes them
/// nonblocking): (client, server side).
pub(crate) fn std_tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

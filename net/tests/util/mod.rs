//! Helpers shared by ply-net's behaviour tests: all of ply-test-support, re-exported so a
//! test file writes `mod util;` and `use util::{watchdog, ...};`, and what needs
//! ply-net's own types.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub(crate) use ply_test_support::*;

use ply_net::Backend;
use ply_net::{Runtime, TcpListener, TcpStream};
use std::future::Future;
use std::io;
use std::time::Duration;

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

/// A connected loopback TCP pair: (client, server side).
pub(crate) async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (client, accepted) = futures::join!(
        TcpStream::connect(listener.local_addr().expect("local_addr")),
        listener.accept()
    );
    (client.expect("connect"), accepted.expect("accept").0)
}

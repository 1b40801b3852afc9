//! `ply_net`: the composed ply runtime, and async TCP.
//!
//! This is where ply's layers meet. Most users start here.
//!
//! # What it provides
//!
//! - [`Runtime`] (current-thread or multi-threaded, any selector backend) and the one-line
//!   [`run`]: an executor from `ply-executor` whose idle threads wait in the reactor from
//!   `ply-reactor` with the next deadline of the timer from `ply-timer` as the timeout,
//!   then fire the timers that are due.
//! - [`TcpListener`], [`TcpStream`] (with borrowed and owned halves) and the
//!   [`TcpSocket`] builder, implementing `futures_io::AsyncRead`/`AsyncWrite`.
//! - With the `hyper` feature, the glue that runs hyper 1.x on ply unchanged
//!   (`ply_net::hyper`).
//! - With the `tokio-io` feature, `tokio::io::AsyncRead`/`AsyncWrite` for [`TcpStream`] and
//!   its halves (the traits only: no tokio runtime), so tokio-util codecs, hyper-util's
//!   `TokioIo` and axum run over ply's sockets.
//! - `#[ply_net::main]` and `#[ply_net::test]`, and [`Handle`]s that spawn onto either
//!   runtime flavor from any thread.
//! - Re-exports of what a program needs day to day: [`spawn`], [`spawn_blocking`],
//!   [`sleep`], [`timeout`], [`interval`], [`JoinHandle`].
//! - A test clock: [`Builder::start_paused`], [`Handle::pause`]/[`advance`](Handle::advance)/
//!   [`resume`](Handle::resume) and the [`time`] module (tokio's `tokio::time` names), with
//!   auto-advance to the next deadline when every task waits and no I/O is ready.
//!
//! # Who should depend on it
//!
//! Applications and libraries that want async TCP with timers on a ready-made runtime.
//! To build a runtime of your own from ply's layers, depend on `ply-executor`,
//! `ply-timer` and `ply-reactor` directly (`docs/custom-runtime.md` shows how).
//!
//! # Examples
//!
//! An echo server and a client, on one runtime:
//!
//! ```
//! use ply_net::{TcpListener, TcpStream};
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! ply_net::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     ply_net::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             ply_net::spawn(async move {
//!                 let mut buf = [0; 1024];
//!                 while let Ok(n @ 1..) = stream.read(&mut buf).await {
//!                     if stream.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!
//!     let client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     ply_net::timeout(Duration::from_secs(5), client.read_exact(&mut buf)).await??;
//!     assert_eq!(&buf, b"hello");
//!     Ok(())
//! })
//! # }
//! ```

mod addr;
#[cfg(feature = "hyper")]
pub mod hyper;
mod runtime;
pub mod signal;
mod stream;
mod tcp;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod udp;
pub mod unix;

pub use addr::ToSocketAddrs;
pub use runtime::{run, time, Builder, EnterGuard, Handle, Runtime, RuntimeStats};
pub use tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpSocket,
    TcpStream, WriteHalf,
};

pub use ply_sys::RecvMeta;
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

pub use ply_executor::{spawn, spawn_blocking, spawn_local, JoinError, JoinHandle};
/// Runs an `async fn main` on a ply [`Runtime`]: `#[ply_net::main]` (multi-threaded),
/// `#[ply_net::main(flavor = "current_thread")]`, `#[ply_net::main(worker_threads = 2)]`.
///
/// ```
/// #[ply_net::main(worker_threads = 2)]
/// async fn main() -> std::io::Result<()> {
///     let listener = ply_net::TcpListener::bind("127.0.0.1:0").await?;
///     assert_ne!(listener.local_addr()?.port(), 0);
///     Ok(())
/// }
/// ```
pub use ply_macros::main;
/// Runs an `async fn` test on a fresh ply [`Runtime`]: `#[ply_net::test]` (current-thread,
/// as in tokio), `#[ply_net::test(flavor = "multi_thread", worker_threads = 2)]`,
/// `#[ply_net::test(start_paused = true)]` (the test clock: [`Builder::start_paused`]).
pub use ply_macros::test;
pub use ply_reactor::{Backend, SelectorStats};
pub use ply_timer::{interval, sleep, sleep_until, timeout, Elapsed, Interval, Sleep};

/// The Rust code blocks of the repository's README, of ply-net's README and of `docs/*.md`
/// run as this crate's doctests (ply-net can name every layer), so the documentation
/// cannot rot. Each other crate doctests its own README from its own `lib.rs`.
#[cfg(doctest)]
pub mod docs {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/README.md")]
    pub struct DocsReadme;
    #[doc = include_str!("../../docs/architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/sys.md")]
    pub struct Sys;
    #[doc = include_str!("../../docs/net.md")]
    pub struct Net;
    #[doc = include_str!("../README.md")]
    pub struct NetReadme;
    #[doc = include_str!("../../docs/custom-runtime.md")]
    pub struct CustomRuntime;
    #[doc = include_str!("../../docs/reactor.md")]
    pub struct Reactor;
    #[doc = include_str!("../../docs/timer.md")]
    pub struct Timer;
    #[doc = include_str!("../../docs/interview.md")]
    pub struct Interview;
    #[doc = include_str!("../../docs/executor.md")]
    pub struct Executor;
    #[doc = include_str!("../../docs/safety.md")]
    pub struct Safety;
}

/// Compile-time checks that the types meant to cross threads can.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TcpStream>();
    send_sync::<TcpListener>();
    send_sync::<OwnedReadHalf>();
    send_sync::<OwnedWriteHalf>();
    send_sync::<Handle>();
    send_sync::<UdpSocket>();
    send_sync::<signal::Signal>();
    send_sync::<UnixStream>();
    send_sync::<UnixListener>();
    send_sync::<UnixDatagram>();
    send_sync::<unix::OwnedReadHalf>();
    send_sync::<unix::OwnedWriteHalf>();
};

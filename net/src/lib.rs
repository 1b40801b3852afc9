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
//! - Re-exports of what a program needs day to day: [`spawn`], [`spawn_blocking`],
//!   [`sleep`], [`timeout`], [`interval`], [`JoinHandle`].
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
mod tcp;

pub use addr::ToSocketAddrs;
pub use runtime::{run, Builder, EnterGuard, Handle, Runtime, RuntimeStats};
pub use tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpSocket,
    TcpStream, WriteHalf,
};

pub use ply_executor::{spawn, spawn_blocking, spawn_local, JoinError, JoinHandle};
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
}

/// Compile-time checks that the types meant to cross threads can.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TcpStream>();
    send_sync::<TcpListener>();
    send_sync::<OwnedReadHalf>();
    send_sync::<OwnedWriteHalf>();
    send_sync::<Handle>();
};

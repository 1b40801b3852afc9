//! `ply_reactor`: kernel readiness to [`Waker`](std::task::Waker)s, under any executor.
//!
//! # What it provides
//!
//! - [`Reactor`]: owns a [`ply_sys::Selector`] (any backend) and a table from tokens to
//!   registrations (O(1) lookup, no allocation per I/O operation), and turns each event
//!   into waker calls, outside every lock. Driven by [`Reactor::poll`], a step any thread
//!   may take, one at a time, or by the lazily started reactor thread of
//!   [`Reactor::global`], so I/O just works under `futures::executor::block_on` or inside
//!   another runtime. No "no reactor running" panic anywhere.
//! - [`Registration`]: an fd registered once, edge-triggered, with readiness per
//!   direction and the tick-guarded clear that never loses an event.
//! - [`Async<T>`]: any [`AsFd`](std::os::fd::AsFd) made async: `readable().await`,
//!   `writable().await`, `read_with` / `write_with`, and `futures_io::AsyncRead` /
//!   `AsyncWrite` (for `T:` [`IoSafe`], the promise that `T`'s `&mut self` methods keep
//!   its fd, so the registration stays sound).
//! - [`Builder`]: a reactor's backend and the executor's [`coop`] budget its ready polls
//!   spend, given per reactor (no process-wide hook).
//! - [`completion`] (with [`Builder::completion`]): io_uring operations beside readiness:
//!   multishot accept, multishot receive into a provided-buffer ring the reactor owns,
//!   sends of owned bytes, each an [`completion::Op`] whose completions the same
//!   [`Reactor::poll`] files and wakes; dropped ops are cancelled and their memory kept
//!   until the kernel is done with it.
//! - [`ReactorStats`]: polls, events, wakes, registrations, waker panics caught, read at
//!   any time.
//!
//! # Who should depend on it
//!
//! Depend on `ply-reactor` to add async I/O to an executor of your own (ply-executor,
//! `futures`' executors, anything) or to wrap an fd type ply has no wrapper for. For async
//! TCP and a ready-made runtime, take `ply-net`. For the raw kernel calls, `ply-sys`.
//!
//! # Examples
//!
//! A pipe round trip under `futures::executor::block_on`, with no runtime: the global
//! reactor's own thread waits in epoll.
//!
//! ```
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use ply_reactor::Async;
//! use std::fs::File;
//!
//! # fn main() -> std::io::Result<()> {
//! let (r, w) = ply_sys::pipe()?;
//! let mut reader = Async::new(File::from(r))?;
//! let mut writer = Async::new(File::from(w))?;
//! futures::executor::block_on(async {
//!     writer.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     reader.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello");
//!     Ok(())
//! })
//! # }
//! ```

mod async_io;
mod builder;
pub mod completion;
pub mod coop;
mod io_state;
mod loom;
mod reactor;
mod readiness;
mod registration;
mod wait_state;
mod wake;

#[cfg(all(test, loom))]
mod loom_io_state;
#[cfg(all(test, loom))]
mod loom_readiness;
#[cfg(all(test, loom))]
mod loom_wait_state;

pub use async_io::{Async, IoSafe};
pub use builder::Builder;
pub use ply_sys::{Backend, SelectorStats};
pub use reactor::{EnterGuard, Reactor, ReactorStats};
pub use registration::{ReadyEvent, Registration};
pub use wake::WakerPanicHook;

/// Compile-time checks that the handles can cross threads.
#[cfg(not(loom))]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Reactor>();
    send_sync::<Registration>();
    send_sync::<Async<ply_sys::Socket>>();
    send_sync::<Async<std::net::TcpStream>>();
};

/// This crate's `README.md`, whose Rust code blocks run as this crate's doctests, so that
/// `cargo test` of this crate alone checks its README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! `ply_sys`: the kernel layer of ply. Safe, fd-owning wrappers over epoll, poll, select,
//! eventfd, pipes and TCP sockets, and nothing else.
//!
//! # What it provides
//!
//! - [`Selector`]: one edge-triggered readiness interface over three interchangeable
//!   backends ([`Backend`]): [epoll(7)] (the Linux default), [poll(2)] (the portable POSIX
//!   fallback) and [select(2)] (for study and comparison). Chosen by a constructor argument
//!   or the `PLY_SELECTOR` environment variable.
//! - [`epoll`]: the raw epoll wrapper with every flag (level/edge-triggered, one-shot).
//! - [`uring`]: a raw [io_uring(7)] ring: setup, the mmapped SQ and CQ rings, SQE
//!   preparation, `io_uring_enter` with a wait and a timeout, and an opcode probe.
//! - [`Notifier`]: the cross-thread wake (an [eventfd(2)], or a pipe where there is none).
//! - [`Socket`]: TCP over IPv4 and IPv6 with the usual options; writes never raise
//!   `SIGPIPE`.
//! - [`read`], [`write`](fn@write), [`pipe`], [`set_nonblocking`]: the plain fd calls.
//!
//! Every fd is an [`OwnedFd`](std::os::fd::OwnedFd) from the line that creates it, created
//! close-on-exec and nonblocking; every error is an `io::Result` with errno preserved;
//! every wrapper links its man page. No futures and no threads live here.
//!
//! # Who should depend on it
//!
//! Depend on `ply-sys` to write an event loop of your own, or to study what the kernel
//! does. To get `Waker`s from readiness, take `ply-reactor`, the layer above; for async
//! TCP and a whole runtime, take `ply-net`.
//!
//! # Examples
//!
//! Watch a pipe, write to it, and see the kernel report it:
//!
//! ```
//! use ply_sys::{Backend, Events, Interest, Selector, Token};
//! use std::os::fd::{AsFd, AsRawFd};
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! for backend in Backend::ALL {
//!     let selector = Selector::with_backend(backend)?;
//!     let (r, w) = ply_sys::pipe()?;
//!     selector.register(r.as_raw_fd(), Token(0), Interest::READABLE)?;
//!     ply_sys::write(w.as_fd(), b"!")?;
//!
//!     let mut events = Events::with_capacity(8);
//!     selector.select(&mut events, Some(Duration::from_secs(5)))?;
//!     assert!(events.iter().any(|e| e.token() == Token(0) && e.is_readable()));
//!     selector.deregister(r.as_raw_fd())?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html
//! [io_uring(7)]: https://man7.org/linux/man-pages/man7/io_uring.7.html
//! [eventfd(2)]: https://man7.org/linux/man-pages/man2/eventfd.2.html

#![cfg(target_os = "linux")]

mod addr;
mod cvt;
pub mod epoll;
mod fd;
mod msg;
mod notify;
mod selector;
mod signal;
mod socket;
mod socket_options;
mod udp;
mod unix;
pub mod uring;

pub use fd::{pipe, read, set_nonblocking, write};
pub use msg::{RecvMsg, SCM_MAX_FD};
pub use notify::{eventfd, Notifier};
pub use selector::{
    Backend, Event, Events, Interest, Selector, SelectorStats, Token, SELECTOR_ENV,
};
pub use signal::{
    block_signals, blocked_signals, set_signal_mask, unblock_signals, SigInfo, SignalFd,
    SignalKind, SignalSet,
};
pub use socket::{Connect, Socket};
pub use udp::{RecvMeta, UdpSocket};
pub use unix::{UCred, UnixAddr, UnixSocket};

/// Compile-time checks that the types meant to cross threads can.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Selector>();
    send_sync::<Notifier>();
    send_sync::<Socket>();
    send_sync::<UdpSocket>();
    send_sync::<UnixSocket>();
    send_sync::<SignalFd>();
    send_sync::<epoll::Epoll>();
    send_sync::<Events>();
    send_sync::<uring::Ring>();
};

/// This crate's `README.md`, whose Rust code blocks run as this crate's doctests, so that
/// `cargo test` of this crate alone checks its README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] and its halves, and
//! [`UnixDatagram`], in the same shape as the TCP types.
//!
//! Beyond TCP's features, a Unix socket tells who is at the other end
//! ([`UnixStream::peer_cred`], `SO_PEERCRED`) and carries file descriptors
//! ([`UnixStream::send_with_fds`], `SCM_RIGHTS`): a received fd is an `OwnedFd`,
//! close-on-exec from its first moment, and fds beyond the room the receiver made are
//! closed, never leaked.

mod datagram;
mod listener;
mod stream;

use crate::stream as shared;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use ply_sys::{RecvMsg, UCred, UnixAddr};
pub use stream::UnixStream;

/// The borrowed read half of a [`UnixStream`], from [`UnixStream::split`].
pub type ReadHalf<'a> = shared::ReadHalf<'a, UnixStream>;
/// The borrowed write half of a [`UnixStream`], from [`UnixStream::split`].
pub type WriteHalf<'a> = shared::WriteHalf<'a, UnixStream>;
/// The owned read half of a [`UnixStream`], from [`UnixStream::into_split`].
pub type OwnedReadHalf = shared::OwnedReadHalf<UnixStream>;
/// The owned write half of a [`UnixStream`], from [`UnixStream::into_split`]. Dropping it
/// shuts down the write direction, so the peer reads end of stream.
pub type OwnedWriteHalf = shared::OwnedWriteHalf<UnixStream>;
/// The two halves given to [`OwnedReadHalf::reunite`] came from different streams.
pub type ReuniteError = shared::ReuniteError<UnixStream>;

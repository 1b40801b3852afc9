//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] and its halves, and
//! [`UnixDatagram`], in the same shape as the TCP types.
//!
//! Beyond TCP's features, a Unix socket tells who is at the other end
//! ([`UnixStream::peer_cred`], `SO_PEERCRED`) and carries file descriptors
//! ([`UnixStream::send_with_fds`], `SCM_RIGHTS`): a received fd is an `OwnedFd`,
//! close-on-exec from its first moment, and fds beyond the room the receiver made are
//! closed, never leaked.

/// `futures_io::AsyncRead` for a type that reaches a [`UnixStream`] through `$s`.
macro_rules! unix_async_read {
    ($t:ty, $s:ident => $stream:expr) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_read_vectored_priv(cx, bufs)
            }
        }
    };
}

/// `futures_io::AsyncWrite` likewise; `poll_close` is the half-close.
macro_rules! unix_async_write {
    ($t:ty, $s:ident => $stream:expr) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($stream.shutdown(Shutdown::Write))
            }
        }
    };
}

mod datagram;
mod listener;
mod split;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use ply_sys::{RecvMsg, UCred, UnixAddr};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::UnixStream;

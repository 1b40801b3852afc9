//! TCP: [`TcpListener`], [`TcpStream`] and its halves, and the [`TcpSocket`] builder.

/// `futures_io::AsyncRead` for a type that reaches a [`TcpStream`] through `$s`: the
/// stream itself, a reference to it, or one of its halves. One definition keeps every
/// impl forwarding the same methods (vectored reads included).
macro_rules! async_read {
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

/// `futures_io::AsyncWrite` likewise; `poll_close` is the half-close
/// (`shutdown(Write)`), and there is nothing to flush.
macro_rules! async_write {
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

mod listener;
mod socket;
pub(crate) mod split;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;

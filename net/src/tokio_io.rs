//! tokio's I/O traits on ply's streams (the `tokio-io` feature): [`TcpStream`] and
//! [`UnixStream`], a shared reference to either, their borrowed halves ([`ReadHalf`],
//! [`WriteHalf`]) and their owned halves ([`OwnedReadHalf`], [`OwnedWriteHalf`]) implement
//! `tokio::io::AsyncRead` and `AsyncWrite`, so code written against those traits
//! (tokio-util's codecs, hyper-util's `TokioIo`, tower and axum middleware that take a
//! tokio stream) runs on ply unchanged.
//!
//! Only the traits are taken: tokio is a dependency with `default-features = false`,
//! which compiles `tokio::io`'s trait definitions and `ReadBuf` and nothing that could
//! start a tokio runtime. Every impl forwards to the same poll functions of the shared
//! stream core as the `futures_io` impls, so the readiness contract (one syscall per poll,
//! a wait in ply's reactor on `WouldBlock`) is the one documented on [`TcpStream`].
//!
//! # Implementation
//!
//! tokio's `ReadBuf` may hand out uninitialised memory. Every read goes straight into it
//! through recv(2) on the uninitialised part (recv only writes initialised bytes), so
//! nothing is zeroed first.
//!
//! `poll_flush` has nothing to do (writes go straight to the kernel) and `poll_shutdown`
//! is the half-close, `shutdown(Write)`, as `futures_io::AsyncWrite::poll_close`; on an
//! owned write half it also records that there is nothing left for its drop to shut down.

use crate::stream::{Duplex, Stream, StreamSocket};
use crate::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, UnixStream, WriteHalf};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

/// Reads from `stream` into the unfilled part of `buf`, without zeroing it first.
fn poll_read_buf<S: StreamSocket>(
    stream: &Stream<S>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: the slice is only handed to recv(2), which writes initialised bytes into it
    // and never de-initialises any.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = ready!(stream.poll_read_uninit(cx, unfilled))?;
    // SAFETY: recv wrote `n` initialised bytes at the start of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// `tokio::io::AsyncRead` for `$t` (with generics `[$g]`), which reaches its core through
/// `$s => $stream`.
macro_rules! tokio_read {
    ([$($g:tt)*] $t:ty, $s:ident => $stream:expr) => {
        impl<$($g)*> tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                poll_read_buf($stream, cx, buf)
            }
        }
    };
}

/// `tokio::io::AsyncWrite` likewise; `poll_shutdown` shuts down through `$close`.
macro_rules! tokio_write {
    ([$($g:tt)*] $t:ty, $s:ident => $stream:expr, close => $close:expr) => {
        impl<$($g)*> tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($close)
            }
        }
    };
}

tokio_read!([] TcpStream, s => s.stream());
tokio_write!([] TcpStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
tokio_read!([] &TcpStream, s => s.stream());
tokio_write!([] &TcpStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
tokio_read!([] UnixStream, s => s.stream());
tokio_write!([] UnixStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
tokio_read!([] &UnixStream, s => s.stream());
tokio_write!([] &UnixStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));

tokio_read!([T: Duplex] ReadHalf<'_, T>, h => h.0.stream());
tokio_write!([T: Duplex] WriteHalf<'_, T>, h => h.0.stream(),
    close => h.0.stream().shutdown(Shutdown::Write));
tokio_read!([T: Duplex] OwnedReadHalf<T>, h => h.stream.stream());
tokio_write!([T: Duplex] OwnedWriteHalf<T>, h => h.stream.stream(), close => h.shutdown_write());

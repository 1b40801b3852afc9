//! tokio's I/O traits on ply's streams (the `tokio-io` feature): [`TcpStream`],
//! `&TcpStream`, the borrowed halves ([`ReadHalf`], [`WriteHalf`]) and the owned halves
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`]) implement `tokio::io::AsyncRead` and
//! `AsyncWrite`, so code written against those traits (tokio-util's codecs, hyper-util's
//! `TokioIo`, tower and axum middleware that take a tokio stream) runs on ply unchanged.
//!
//! Only the traits are taken: tokio is a dependency with `default-features = false`,
//! which compiles `tokio::io`'s trait definitions and `ReadBuf` and nothing that could
//! start a tokio runtime. Every impl forwards to the same poll functions as the
//! `futures_io` impls, so the readiness contract (one syscall per poll, a wait in ply's
//! reactor on `WouldBlock`) is the one documented on [`TcpStream`].
//!
//! # Implementation
//!
//! tokio's `ReadBuf` may hand out uninitialised memory. Where the impl can reach the
//! [`TcpStream`] (the stream, a reference, the borrowed halves), the read goes straight
//! into it through `Socket::recv_uninit` (recv(2) only writes initialised bytes), so
//! nothing is zeroed first. The owned halves keep their stream private to `tcp::split`,
//! so their reads go through their `futures_io` impl, which takes an initialised slice:
//! `ReadBuf::initialize_unfilled` zeroes the part of the buffer not yet initialised.
//!
//! `poll_flush` has nothing to do (writes go straight to the kernel) and `poll_shutdown`
//! is the half-close, `shutdown(Write)`, as `futures_io::AsyncWrite::poll_close`.

use crate::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpStream, WriteHalf};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

/// Reads from `stream` into the unfilled part of `buf`, without zeroing it first.
fn poll_read_buf(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: the slice is only handed to recv(2), which writes initialised bytes into it
    // and never de-initialises any.
    let unfilled = unsafe { buf.unfilled_mut() };
    let len = unfilled.len();
    let n = ready!(stream
        .io
        .poll_read_stream(cx, len, |s| s.recv_uninit(unfilled)))?;
    // SAFETY: recv wrote `n` bytes at the start of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// `tokio::io::AsyncRead` for a type that reaches a [`TcpStream`] through `$s`.
macro_rules! tokio_read {
    ($t:ty, $s:ident => $stream:expr) => {
        impl tokio::io::AsyncRead for $t {
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

/// `tokio::io::AsyncWrite` for a type that reaches a [`TcpStream`] through `$s`.
macro_rules! tokio_write {
    ($t:ty, $s:ident => $stream:expr) => {
        impl tokio::io::AsyncWrite for $t {
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

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($stream.shutdown(Shutdown::Write))
            }
        }
    };
}

tokio_read!(TcpStream, s => s);
tokio_write!(TcpStream, s => s);
// Reads and writes take `&self` underneath (the socket is full duplex), so a shared
// reference is a stream too, as it is for `futures_io`.
tokio_read!(&TcpStream, s => s);
tokio_write!(&TcpStream, s => s);
tokio_read!(ReadHalf<'_>, s => s.0);
tokio_write!(WriteHalf<'_>, s => s.0);

tokio_read!(OwnedReadHalf, s => s.stream());

// The write half goes through its futures_io impl: its `poll_close` also records that
// the write side is shut down, so dropping the half does not shut it down again.
impl tokio::io::AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(self, cx)
    }
}

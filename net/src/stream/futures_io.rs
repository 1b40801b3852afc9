//! `futures_io::AsyncRead` and `AsyncWrite` for every stream type, all in one list.
//!
//! Each impl forwards to the core's poll methods ([`Stream`](super::Stream)), so the stream,
//! a shared reference to it (reads and writes take `&self` underneath), and each half
//! read and write the same way, vectored calls included. There is nothing to flush
//! (writes go straight to the kernel), and `poll_close` is the half-close,
//! `shutdown(Write)`.

use crate::stream::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::stream::Duplex;
use crate::{TcpStream, UnixStream};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `futures_io::AsyncRead` for `$t` (with generics `[$g]`), which reaches its core
/// through `$s => $stream`.
macro_rules! async_read {
    ([$($g:tt)*] $t:ty, $s:ident => $stream:expr) => {
        impl<$($g)*> futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                $stream.poll_read_vectored(cx, bufs)
            }
        }
    };
}

/// `futures_io::AsyncWrite` likewise. `poll_close` shuts down through `$close`, so the
/// owned write half can record it.
macro_rules! async_write {
    ([$($g:tt)*] $t:ty, $s:ident => $stream:expr, close => $close:expr) => {
        impl<$($g)*> futures_io::AsyncWrite for $t {
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

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Poll::Ready($close)
            }
        }
    };
}

async_read!([] TcpStream, s => s.stream());
async_write!([] TcpStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
async_read!([] &TcpStream, s => s.stream());
async_write!([] &TcpStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
async_read!([] UnixStream, s => s.stream());
async_write!([] UnixStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));
async_read!([] &UnixStream, s => s.stream());
async_write!([] &UnixStream, s => s.stream(), close => s.stream().shutdown(Shutdown::Write));

async_read!([T: Duplex] ReadHalf<'_, T>, h => h.0.stream());
async_write!([T: Duplex] WriteHalf<'_, T>, h => h.0.stream(),
    close => h.0.stream().shutdown(Shutdown::Write));
async_read!([T: Duplex] OwnedReadHalf<T>, h => h.stream.stream());
async_write!([T: Duplex] OwnedWriteHalf<T>, h => h.stream.stream(), close => h.shutdown_write());

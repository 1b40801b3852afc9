//! The halves of a stream ([`TcpStream`] or [`UnixStream`]): borrowed ([`ReadHalf`],
//! [`WriteHalf`]) for one task, owned ([`OwnedReadHalf`], [`OwnedWriteHalf`]) for two.
//!
//! A stream socket is full duplex and the reactor keeps one waker per direction, so a
//! reader and a writer never disturb each other: splitting needs no lock. Each half is
//! generic over the stream type `T` it came from, so `reunite` gives back a `T`. The TCP
//! names (`ply_net::ReadHalf`, ...) are these types with `T = TcpStream`, the default;
//! `ply_net::unix::ReadHalf` and its siblings name them with `T = UnixStream`.
//!
//! [`TcpStream`]: crate::TcpStream
//! [`UnixStream`]: crate::UnixStream

use crate::stream::{Duplex, StreamSocket};
use crate::TcpStream;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::Arc;

type Addr<T> = <<T as Duplex>::Socket as StreamSocket>::Addr;

/// The borrowed read half of a stream, from [`TcpStream::split`] or
/// [`UnixStream::split`](crate::UnixStream::split).
#[derive(Debug)]
pub struct ReadHalf<'a, T: Duplex = TcpStream>(pub(crate) &'a T);

/// The borrowed write half of a stream, from [`TcpStream::split`] or
/// [`UnixStream::split`](crate::UnixStream::split).
#[derive(Debug)]
pub struct WriteHalf<'a, T: Duplex = TcpStream>(pub(crate) &'a T);

/// The owned read half of a stream, from [`TcpStream::into_split`] or
/// [`UnixStream::into_split`](crate::UnixStream::into_split).
pub struct OwnedReadHalf<T: Duplex = TcpStream> {
    pub(crate) stream: Arc<T>,
}

/// The owned write half of a stream, from [`TcpStream::into_split`] or
/// [`UnixStream::into_split`](crate::UnixStream::into_split). Dropping it shuts down the
/// write direction, so the peer reads end of stream.
pub struct OwnedWriteHalf<T: Duplex = TcpStream> {
    pub(crate) stream: Arc<T>,
    /// Cleared by `reunite` and by a successful `poll_close`/`poll_shutdown`, after which
    /// there is nothing left to shut down.
    pub(crate) shutdown_on_drop: bool,
}

/// The two halves given to [`OwnedReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError<T: Duplex = TcpStream>(pub OwnedReadHalf<T>, pub OwnedWriteHalf<T>);

impl<T: Duplex> fmt::Display for ReuniteError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves come from different streams")
    }
}

impl<T: Duplex> std::error::Error for ReuniteError<T> {}

/// Splits `stream` into owned halves.
pub(crate) fn into_split<T: Duplex>(stream: T) -> (OwnedReadHalf<T>, OwnedWriteHalf<T>) {
    let stream = Arc::new(stream);
    let read = OwnedReadHalf {
        stream: stream.clone(),
    };
    let write = OwnedWriteHalf {
        stream,
        shutdown_on_drop: true,
    };
    (read, write)
}

impl<T: Duplex> ReadHalf<'_, T> {
    /// Reads into `buf`, waiting for data; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.stream().read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.0.stream().read_exact(buf).await
    }
}

impl<T: Duplex> WriteHalf<'_, T> {
    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.stream().write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.0.stream().write_all(buf).await
    }
}

impl<T: Duplex> OwnedReadHalf<T> {
    /// Reads into `buf`, waiting for data; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.stream().read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.stream.stream().read_exact(buf).await
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<Addr<T>> {
        self.stream.stream().socket().peer_addr()
    }

    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (holding both halves) if they are not from the same stream.
    pub fn reunite(self, mut write: OwnedWriteHalf<T>) -> Result<T, ReuniteError<T>> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::try_unwrap(self.stream).expect("only the two halves held the stream"))
    }
}

impl<T: Duplex> OwnedWriteHalf<T> {
    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.stream().write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.stream.stream().write_all(buf).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<Addr<T>> {
        self.stream.stream().socket().local_addr()
    }

    /// The half-close of `poll_close` and `poll_shutdown`: after it, dropping the half
    /// has nothing more to do.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.stream().shutdown(Shutdown::Write)?;
        self.shutdown_on_drop = false;
        Ok(())
    }
}

impl<T: Duplex> Drop for OwnedWriteHalf<T> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // NotConnected if the peer already reset: nothing left to shut down.
            let _ = self.stream.stream().shutdown(Shutdown::Write);
        }
    }
}

impl<T: Duplex> fmt::Debug for OwnedReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
    }
}

impl<T: Duplex> fmt::Debug for OwnedWriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf")
            .field(&*self.stream)
            .finish()
    }
}

//! The halves of a [`UnixStream`]: borrowed ([`ReadHalf`], [`WriteHalf`]) for one task,
//! owned ([`OwnedReadHalf`], [`OwnedWriteHalf`]) for two.
//!
//! A Unix stream socket is full duplex and the reactor keeps one waker per direction, so
//! a reader and a writer never disturb each other: splitting needs no lock.

use crate::unix::stream::UnixStream;
use ply_sys::UnixAddr;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The borrowed read half of a [`UnixStream`], from [`UnixStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(pub(crate) &'a UnixStream);

/// The borrowed write half of a [`UnixStream`], from [`UnixStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a>(pub(crate) &'a UnixStream);

/// The owned read half of a [`UnixStream`], from [`UnixStream::into_split`].
pub struct OwnedReadHalf {
    stream: Arc<UnixStream>,
}

/// The owned write half of a [`UnixStream`], from [`UnixStream::into_split`]. Dropping it
/// shuts down the write direction, so the peer reads end of stream.
pub struct OwnedWriteHalf {
    stream: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The two halves given to [`OwnedReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves come from different UnixStreams")
    }
}

impl std::error::Error for ReuniteError {}

impl ReadHalf<'_> {
    /// Reads into `buf`, waiting for data; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact(buf).await
    }
}

impl WriteHalf<'_> {
    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
}

impl OwnedReadHalf {
    pub(crate) fn new(stream: Arc<UnixStream>) -> OwnedReadHalf {
        OwnedReadHalf { stream }
    }

    /// Reads into `buf`, waiting for data; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::read`].
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::read_exact`].
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.stream.read_exact(buf).await
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        self.stream.peer_addr()
    }

    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (holding both halves) if they are not from the same stream.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::try_unwrap(self.stream).expect("only the two halves held the stream"))
    }
}

impl OwnedWriteHalf {
    pub(crate) fn new(stream: Arc<UnixStream>) -> OwnedWriteHalf {
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        }
    }

    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::write`].
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::write_all`].
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // NotConnected if the peer already reset: nothing left to shut down.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf")
            .field(&*self.stream)
            .finish()
    }
}

unix_async_read!(ReadHalf<'_>, s => s.0);
unix_async_write!(WriteHalf<'_>, s => s.0);
unix_async_read!(OwnedReadHalf, s => s.stream);
unix_async_write!(OwnedWriteHalf, s => s.stream);

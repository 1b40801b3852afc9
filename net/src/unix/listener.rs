//! [`UnixListener`]: accepts Unix stream connections, async.

use crate::unix::stream::UnixStream;
use ply_reactor::{Async, Reactor};
use ply_sys::{UnixAddr, UnixSocket};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

/// The backlog of [`UnixListener::bind`].
const BACKLOG: i32 = 1024;

/// A Unix stream socket listening for connections.
///
/// Binding a path creates the socket file, and closing the listener does not remove it
/// (unix(7)): a second bind to the same path fails with `AddrInUse` until someone
/// deletes the file. An abstract address ([`UnixAddr::from_abstract_name`]) has no file
/// and is free again when its socket closes.
///
/// # Examples
///
/// ```
/// use ply_net::{UnixListener, UnixStream};
///
/// # fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("ply-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// ply_net::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let client = UnixStream::connect(&path).await?;
///     let (server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     assert_eq!(server.peer_cred()?.pid, std::process::id() as i32);
///     std::io::Result::Ok(())
/// })?;
/// std::fs::remove_dir_all(&dir)
/// # }
/// ```
pub struct UnixListener {
    io: Async<UnixSocket>,
}

impl UnixListener {
    /// Binds to the socket file `path` and listens, registering with the current
    /// reactor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path longer than `sun_path` (107 bytes); `AddrInUse` if the
    /// path exists; `NotFound`/`PermissionDenied` for its directory.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::bind_addr(&UnixAddr::from_pathname(path)?)
    }

    /// Binds to any [`UnixAddr`] (a pathname or an abstract name) and listens.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: &UnixAddr) -> io::Result<UnixListener> {
        UnixListener::bind_in(addr, &Reactor::current()?)
    }

    /// [`bind_addr`](Self::bind_addr) with an explicit reactor.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_in(addr: &UnixAddr, reactor: &Reactor) -> io::Result<UnixListener> {
        let socket = UnixSocket::listener(addr, BACKLOG)?;
        Ok(UnixListener {
            io: Async::new_in(socket, reactor)?,
        })
    }

    /// Wraps a std listener (made nonblocking), registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Async::new(UnixSocket::from(listener))?,
        })
    }

    /// Deregisters and returns the std listener (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// Waits for a connection; the stream is registered with the listener's reactor.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds (the connection stays queued).
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll form of [`accept`](Self::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, UnixAddr)>> {
        self.io.poll_read_with(cx, |l| l.accept()).map(|res| {
            let (socket, addr) = res?;
            let reactor = self.io.registration().reactor();
            Ok((UnixStream::from_socket(socket, reactor)?, addr))
        })
    }

    /// The address it listens on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

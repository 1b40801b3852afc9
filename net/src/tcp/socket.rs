//! [`TcpSocket`]: a TCP socket not yet listening or connected, for the options that must
//! be set before `bind`, `listen` or `connect`.

use crate::tcp::{TcpListener, TcpStream};
use ply_reactor::Reactor;
use ply_sys::Socket;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

/// A TCP socket being set up: options, then [`listen`](Self::listen) or
/// [`connect`](Self::connect).
///
/// # Examples
///
/// One listener per core on the same port, the kernel spreading connections among them
/// (`SO_REUSEPORT`):
///
/// ```
/// use ply_net::TcpSocket;
///
/// # fn main() -> std::io::Result<()> {
/// ply_net::Runtime::new_current_thread()?.block_on(async {
///     let first = TcpSocket::new_v4()?;
///     first.set_reuseport(true)?;
///     first.bind("127.0.0.1:0".parse().unwrap())?;
///     let addr = first.local_addr()?;
///     let a = first.listen(128)?;
///
///     let second = TcpSocket::new_v4()?;
///     second.set_reuseport(true)?;
///     second.bind(addr)?;
///     let b = second.listen(128)?;
///     assert_eq!(a.local_addr()?, b.local_addr()?);
///     Ok(())
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new_for(&SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// Out of fds; `EAFNOSUPPORT` where IPv6 is disabled.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new_for(&SocketAddr::from(([0u16; 8], 0)))
    }

    /// A new TCP socket of `addr`'s family.
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn new_for(addr: &SocketAddr) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            socket: Socket::tcp_for(addr)?,
        })
    }

    /// `SO_REUSEADDR` (on by default for [`TcpListener::bind`]).
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.socket.set_reuseaddr(on)
    }

    /// `SO_REUSEPORT`: several listeners on one port, connections spread among them.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.socket.set_reuseport(on)
    }

    /// `IPV6_V6ONLY`: an IPv6 listener on `::` refuses IPv4-mapped connections.
    ///
    /// # Errors
    ///
    /// On an IPv4 socket.
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        self.socket.set_only_v6(on)
    }

    /// `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.socket.set_recv_buffer_size(size)
    }

    /// `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.socket.set_send_buffer_size(size)
    }

    /// `TCP_NODELAY`, carried over to the connected stream.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.socket.set_nodelay(on)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.socket.bind(&addr)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts listening with a queue of `backlog` connections, registered with the
    /// current reactor.
    ///
    /// # Errors
    ///
    /// `AddrInUse`; registration errors.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.socket.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_socket(self.socket, &Reactor::current()?)
    }

    /// Connects to `addr` (nonblocking connect, then `SO_ERROR`).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::connect`].
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let state = self.socket.connect(&addr)?;
        TcpStream::from_socket(self.socket, &Reactor::current()?)?
            .finish_connect(state)
            .await
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

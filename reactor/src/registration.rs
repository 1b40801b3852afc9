//! One registered fd: readiness per direction, with the tick-guarded clear.

use crate::io_state::{Direction, IoState};
use crate::loom::sync::Arc;
use crate::reactor::{shutdown_error, Reactor};
use crate::readiness::{self, Clear};
use ply_sys::{Interest, Token};
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::task::{ready, Context, Poll};

/// An fd registered with a [`Reactor`]; deregisters itself when dropped.
///
/// This is the low-level interface; [`Async`](crate::Async) wraps it around an I/O object
/// and is what most code wants.
///
/// # The readiness protocol
///
/// 1. [`poll_read_ready`](Self::poll_read_ready) returns a [`ReadyEvent`] once the fd is
///    readable (or closed, or in error), else stores the waker and returns `Pending`.
/// 2. Try the operation. If it returns `WouldBlock`, hand the event back to
///    [`clear_readiness`](Self::clear_readiness) and poll again.
///
/// The event carries the poller's tick from when readiness was set. The clear only
/// erases readiness if no newer event arrived since, so readiness that comes between the
/// `WouldBlock` and the clear is never lost. Spurious readiness is possible; treat an
/// event as a hint to try.
///
/// # Waiters
///
/// Any number of tasks may wait on one direction; a readiness event wakes them all, and
/// those that find nothing left (`WouldBlock`) wait again. One task reading while another
/// writes never disturbs either.
pub struct Registration {
    reactor: Reactor,
    io: Arc<IoState>,
    fd: RawFd,
    token: Token,
}

/// Readiness of one direction at one moment, from
/// [`Registration::poll_read_ready`] or [`Registration::poll_write_ready`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    tick: u64,
    ready: u64,
    dir: Direction,
}

impl ReadyEvent {
    /// Data (or a connection) can be read.
    pub fn is_readable(&self) -> bool {
        self.ready & readiness::READABLE != 0
    }

    /// Data can be written.
    pub fn is_writable(&self) -> bool {
        self.ready & readiness::WRITABLE != 0
    }

    /// The peer shut down writing: reads return what is left, then end of stream.
    pub fn is_read_closed(&self) -> bool {
        self.ready & readiness::READ_CLOSED != 0
    }

    /// The write side is closed: writes fail.
    pub fn is_write_closed(&self) -> bool {
        self.ready & readiness::WRITE_CLOSED != 0
    }

    /// An error is pending (for a socket, `SO_ERROR` says which).
    pub fn is_error(&self) -> bool {
        self.ready & readiness::ERROR != 0
    }
}

impl Registration {
    pub(crate) fn new(reactor: Reactor, io: Arc<IoState>, fd: RawFd, token: Token) -> Self {
        Registration {
            reactor,
            io,
            fd,
            token,
        }
    }

    /// The reactor this fd is registered with.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// `Ready` once the fd is readable, read-closed or in error.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Read, cx)
    }

    /// `Ready` once the fd is writable, write-closed or in error.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Write, cx)
    }

    /// The read readiness known now, without waiting or storing a waker: `Some` if the
    /// last event said readable (or closed, or error) and it was not cleared since.
    pub fn try_read_ready(&self) -> Option<ReadyEvent> {
        self.try_ready(Direction::Read)
    }

    /// The write readiness known now, without waiting or storing a waker.
    pub fn try_write_ready(&self) -> Option<ReadyEvent> {
        self.try_ready(Direction::Write)
    }

    fn try_ready(&self, dir: Direction) -> Option<ReadyEvent> {
        let snap = self.io.readiness.load();
        let ready = snap.ready() & dir.mask();
        (ready != 0 && !snap.is_shutdown()).then_some(ReadyEvent {
            tick: snap.tick(),
            ready,
            dir,
        })
    }

    /// Runs `op` once if `dir` is known ready; `WouldBlock` (without a syscall) if not.
    /// A `WouldBlock` from `op` clears the readiness, so the next wait sleeps.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        match self.try_ready(dir) {
            Some(event) => self.try_io_with(event, op),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    #[inline]
    fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        let snap = ready!(self.io.poll_ready(dir, cx));
        if snap.is_shutdown() {
            return Poll::Ready(Err(shutdown_error()));
        }
        // Ready I/O spends the task's budget, so a socket that is always ready cannot
        // starve the task's neighbours.
        ready!(self.reactor.poll_proceed(cx));
        Poll::Ready(Ok(ReadyEvent {
            tick: snap.tick(),
            ready: snap.ready() & dir.mask(),
            dir,
        }))
    }

    /// Forgets the readiness `event` reported, after the operation it allowed returned
    /// `WouldBlock`; the next poll of that direction waits for the next event. If a newer
    /// event arrived meanwhile, nothing is forgotten.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        let (bit, interest) = match event.dir {
            Direction::Read => (readiness::READABLE, Interest::READABLE),
            Direction::Write => (readiness::WRITABLE, Interest::WRITABLE),
        };
        if self.io.readiness.clear(event.tick, bit) == Clear::Cleared {
            // The emulated backends stopped watching this direction when they reported
            // it; turn it back on now that it is drained (free with epoll).
            self.reactor.rearm(self.fd, self.token, interest);
        }
    }

    /// Runs `f` for `event`'s direction; on `WouldBlock`, clears the readiness and returns
    /// the error, so the caller polls again.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    pub fn try_io_with<R>(
        &self,
        event: ReadyEvent,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let res = f();
        if let Err(e) = &res {
            if e.kind() == io::ErrorKind::WouldBlock {
                self.clear_readiness(event);
            }
        }
        res
    }

    /// Polls `dir`'s readiness and runs `op` until it returns something other than
    /// `WouldBlock`: the loop every async read and write is made of.
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(dir, cx))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return Poll::Ready(res),
            }
        }
    }
}

impl Registration {
    /// [`poll_io`](Self::poll_io) for a byte-stream transfer that asked for `len` bytes:
    /// one that moved some but fewer bytes drained the kernel's receive queue (or filled
    /// its send buffer), so the readiness is cleared at once. That saves the next call,
    /// which would only say `WouldBlock`: one syscall per message for a server that reads
    /// requests smaller than its buffer. Bytes that arrive after the transfer raise a new
    /// edge with a newer tick, which the clear leaves alone.
    #[inline]
    pub(crate) fn poll_stream_io(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let event = ready!(self.poll_ready(dir, cx))?;
            match op() {
                Ok(n) if n > 0 && n < len => {
                    self.clear_readiness(event);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                res => return Poll::Ready(res),
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.deregister(self.fd, self.token);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("token", &self.token)
            .finish()
    }
}

//! Unix signals as async events: [`ctrl_c`] and [`signal`], delivered through the
//! reactor like any other fd. No helper thread, no self-pipe, no signal handler.
//!
//! # How
//!
//! Each [`Signal`] owns a signalfd for its one signal (see `ply_sys::SignalFd`),
//! registered with the reactor of the runtime it was created in. A signal that arrives
//! makes every such fd readable; the first listener to read it takes it from the kernel
//! (a standard signal is pending once, whatever the number of fds), so it publishes the
//! delivery in a process-wide counter per signal and wakes the other listeners, who see
//! the counter move. That is why a second listener for the same signal works.
//!
//! # The signal mask
//!
//! A signalfd can only read a signal that is *blocked* in every thread of the process:
//! were one thread not blocking it, the kernel would deliver the signal there (for
//! `SIGINT` and `SIGTERM` the default action kills the process). [`signal`] blocks the
//! signal on the calling thread, and threads created afterwards inherit that; but threads
//! that already exist keep their masks. So call [`signal`] (or `ctrl_c`) early, on the
//! main thread before the runtime starts its workers, or block the signals in the
//! process's first lines with `ply_sys::block_signals`. "The signal mask" on
//! `ply_sys::SignalFd` has the details.
//!
//! Standard signals do not queue: several arrivals between two reads are one event.

use futures_core::Stream;
use ply_reactor::{Async, Reactor};
pub use ply_sys::SignalKind;
use ply_sys::{SignalFd, SignalSet};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// Signal numbers run from 1 to 64 on Linux (`SIGRTMAX`).
const MAX_SIGNAL: usize = 64;

/// How many times each signal has been read from the kernel, by any listener.
static DELIVERIES: [AtomicU64; MAX_SIGNAL + 1] = [const { AtomicU64::new(0) }; MAX_SIGNAL + 1];

/// The listeners waiting for a signal: (signal, listener id, waker).
static WAITERS: Mutex<Vec<(i32, u64, Waker)>> = Mutex::new(Vec::new());

/// Listener ids, for finding a listener's entry in [`WAITERS`].
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A stream of arrivals of one signal, from [`signal`].
///
/// Each item is one or more arrivals since the last item (standard signals coalesce).
/// It never ends while the reactor runs; it yields `None` once the reactor has shut down.
pub struct Signal {
    io: Async<SignalFd>,
    signo: i32,
    id: u64,
    /// The delivery count this listener has reported up to.
    seen: u64,
}

/// Listens for `kind`: blocks it on the calling thread (see the [module docs](self) on
/// the mask) and registers a signalfd for it with the current reactor.
///
/// # Errors
///
/// `InvalidInput` for `SIGKILL` and `SIGSTOP`, which cannot be caught, and for a number
/// that is not a signal; `Unsupported` if some thread of the process does not block the
/// signal (it would die of it, or swallow it, instead of the listener hearing it: see the
/// [module docs](self) on the mask); `EMFILE` when out of fds; a registration error.
///
/// # Examples
///
/// ```
/// use ply_net::signal::{signal, SignalKind};
///
/// # fn main() -> std::io::Result<()> {
/// // SIGKILL cannot be caught: that is an error, not a listener that never fires.
/// let err = signal(SignalKind::from_raw(9)).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok(())
/// # }
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    signal_in(kind, &Reactor::current()?)
}

/// [`signal`] with an explicit reactor.
///
/// # Errors
///
/// As [`signal`].
pub fn signal_in(kind: SignalKind, reactor: &Reactor) -> io::Result<Signal> {
    let signo = kind.as_raw();
    let set = SignalSet::of(&[signo])?;
    if signo as usize > MAX_SIGNAL {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signo} is not a signal number"),
        ));
    }
    ply_sys::block_signals(&set)?;
    check_every_thread_blocks(signo)?;
    let fd = SignalFd::new(&set)?;
    Ok(Signal {
        io: Async::new_in(fd, reactor)?,
        signo,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        seen: DELIVERIES[signo as usize].load(Ordering::SeqCst),
    })
}

/// Resolves at the next `SIGINT` (Ctrl-C). The signal is blocked on the calling thread
/// from the call on, not from the first poll, so a Ctrl-C in between is not lost (nor
/// kills the process).
///
/// # Errors
///
/// As [`signal`]; an error if the reactor shuts down first.
pub fn ctrl_c() -> impl std::future::Future<Output = io::Result<()>> {
    let listener = signal(SignalKind::interrupt());
    async move {
        let mut listener = listener?;
        match listener.recv().await {
            Some(()) => Ok(()),
            None => Err(io::Error::other("the reactor shut down")),
        }
    }
}

/// Refuses to listen while some thread of the process does not block `signo`: the kernel
/// would deliver the signal to that thread, whose default action (for most signals) ends
/// the process, and the listener would never fire. Each thread's mask is read from
/// `/proc/self/task/<tid>/status` (`SigBlk`, see proc(5)); without `/proc` the check is
/// skipped.
fn check_every_thread_blocks(signo: i32) -> io::Result<()> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Ok(());
    };
    let bit = 1u64 << (signo - 1);
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread has exited meanwhile
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        let blocked = u64::from_str_radix(&field("SigBlk:"), 16).unwrap_or(u64::MAX);
        if blocked & bit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "signal {signo} is not blocked in thread {} ({:?}): it would take the \
                     signal's default action instead of the listener seeing it; block the \
                     signal (ply_sys::block_signals) on the main thread before any other \
                     thread starts, e.g. before building a multi-threaded runtime",
                    task.file_name().to_string_lossy(),
                    field("Name:"),
                ),
            ));
        }
    }
    Ok(())
}

impl Signal {
    /// Waits for the next arrival; `None` once the reactor has shut down.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        // Take every pending arrival from the kernel and publish it. When the fd is
        // drained, the reactor holds our waker for its next edge.
        loop {
            match self.io.poll_read_with(cx, |fd| fd.read()) {
                Poll::Ready(Ok(_)) => {
                    DELIVERIES[self.signo as usize].fetch_add(1, Ordering::SeqCst);
                    wake_listeners(self.signo);
                }
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        // Register before checking the counter: a listener that reads the signal after
        // our check finds our waker and wakes us, one that read it before moved the
        // counter we are about to see.
        register(self.signo, self.id, cx.waker());
        let now = DELIVERIES[self.signo as usize].load(Ordering::SeqCst);
        if now != self.seen {
            self.seen = now;
            return Poll::Ready(Some(()));
        }
        Poll::Pending
    }
}

fn waiters() -> std::sync::MutexGuard<'static, Vec<(i32, u64, Waker)>> {
    // A panic while holding the lock cannot leave the list inconsistent (each change is
    // one push, one assignment or one retain), so a poisoned lock is still usable.
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(signo: i32, id: u64, waker: &Waker) {
    let mut list = waiters();
    match list.iter_mut().find(|(_, i, _)| *i == id) {
        Some((_, _, w)) => {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
        None => list.push((signo, id, waker.clone())),
    }
}

fn wake_listeners(signo: i32) {
    let woken: Vec<Waker> = {
        let mut list = waiters();
        let mut woken = Vec::new();
        list.retain(|(s, _, w)| {
            if *s == signo {
                woken.push(w.clone());
                false
            } else {
                true
            }
        });
        woken
    };
    // Wake outside the lock: a waker may run code that polls a Signal.
    for w in woken {
        w.wake();
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        waiters().retain(|(_, i, _)| *i != self.id);
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("signo", &self.signo)
            .field("seen", &self.seen)
            .finish()
    }
}

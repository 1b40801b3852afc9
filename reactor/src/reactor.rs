//! The reactor: a selector, a table from tokens to registrations, and the reactor turn.

use crate::builder::Builder;
use crate::completion::Completions;
use crate::coop::Budget;
use crate::io_state::IoState;
use crate::loom::sync::atomic::{AtomicU64, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::readiness::{from_event, next_tick};
use crate::registration::Registration;
use crate::wait_state::{Begin, Unpark, WaitState};
use crate::wake::{self, WakerPanicHook};
use ply_sys::{Backend, Events, Interest, Selector, SelectorStats, Token};
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How many events one reactor turn takes from the kernel at most; more wait for the next.
const EVENTS_PER_POLL: usize = 1024;

/// Low bits of a token: the slot index. High bits: the slot's generation, so an event
/// for a registration that was dropped (and its slot reused) is recognised and ignored.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// The most registrations one reactor holds at once (the top index stays unused so no
/// token can equal ply-sys's reserved `Token(usize::MAX)`).
const MAX_REGISTRATIONS: usize = INDEX_MASK;

/// Turns kernel readiness into [`Waker`] calls.
///
/// A `Reactor` is a cheap handle (clone it freely) to one [`Selector`] and the table of
/// its registrations. It does not run by itself: some thread must call
/// [`poll`](Self::poll) in a loop, or use [`Reactor::global`], which has its own reactor
/// thread. ply-net's runtime takes its reactor turns in its driver, the executor's parker, with the next
/// timer deadline as the timeout.
///
/// # Wakers that panic
///
/// The reactor calls (and drops) wakers it did not write: in [`poll`](Self::poll), in
/// [`shutdown`](Self::shutdown), and when a registration is dropped. A panic in one of
/// them is caught, counted in [`ReactorStats::waker_panics`], handed to the hook given to
/// [`Builder::on_waker_panic`] (if any; the reactor prints nothing), and the remaining
/// wakers of the batch are still called; the reactor turn
/// returns normally. So a broken waker cannot kill [`Reactor::global`]'s reactor thread or
/// a runtime's worker, and cannot strand the tasks woken after it. The task behind the
/// panicking waker is not woken (its waker is gone); that is its executor's bug to fix.
///
/// # Examples
///
/// Drive a reactor by hand on a second thread while a task waits for a pipe:
///
/// ```
/// use ply_reactor::{Async, Reactor};
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let reactor = Reactor::new()?;
/// let (r, w) = ply_sys::pipe()?;
/// let r = Async::new_in(std::fs::File::from(r), &reactor)?;
///
/// let poller = reactor.clone();
/// let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
/// let stop2 = stop.clone();
/// let t = std::thread::spawn(move || {
///     while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
///         poller.poll(Some(Duration::from_millis(10))).unwrap();
///     }
/// });
///
/// ply_sys::write(std::os::fd::AsFd::as_fd(&w), b"hi")?;
/// let n = futures::executor::block_on(r.read_with(|f| {
///     std::io::Read::read(&mut &*f, &mut [0u8; 8])
/// }))?;
/// assert_eq!(n, 2);
/// stop.store(true, std::sync::atomic::Ordering::SeqCst);
/// t.join().unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Reactor {
    inner: Arc<Inner>,
}

struct Inner {
    selector: Selector,
    /// The completion driver, if the reactor was built with one (uring backend only).
    completions: Option<Completions>,
    table: Mutex<Table>,
    turn: Mutex<Turn>,
    wait_state: WaitState,
    counters: Counters,
    /// The executor's budget, spent by every ready poll; `None`: never throttle.
    budget: Option<Budget>,
    /// Told of every waker panic caught (after it is counted); `None`: only counted.
    on_waker_panic: Option<WakerPanicHook>,
}

impl Inner {
    fn waker_panic_report(&self) -> wake::Report<'_> {
        wake::Report {
            panics: &self.counters.waker_panics,
            hook: self.on_waker_panic,
        }
    }
}

/// The registrations, in a slab: O(1) insert, remove and lookup by token.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    shutdown: bool,
}

#[derive(Default)]
struct Slot {
    generation: usize,
    io: Option<Arc<IoState>>,
}

/// What one reactor turn reuses, so a turn allocates nothing in steady state.
struct Turn {
    events: Events,
    /// Completions reaped by the last wait, before they are filed.
    cqes: Vec<ply_sys::uring::Cqe>,
    wakers: Vec<Waker>,
    tick: u64,
}

#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    events: AtomicU64,
    wakes: AtomicU64,
    registrations: AtomicU64,
    deregistrations: AtomicU64,
    unparks: AtomicU64,
    waker_panics: AtomicU64,
    wait_errors: AtomicU64,
    completions: AtomicU64,
}

/// What a [`Reactor`] has done so far; read at any time with [`Reactor::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReactorStats {
    /// Reactor turns taken: one selector wait each.
    pub polls: u64,
    /// Events the selector delivered.
    pub events: u64,
    /// Wakers called.
    pub wakes: u64,
    /// Registrations made.
    pub registrations: u64,
    /// Registrations dropped.
    pub deregistrations: u64,
    /// Wakes that had to write the selector's eventfd (a poller was blocked).
    pub unparks: u64,
    /// Wakers whose `wake` or `drop` panicked when the reactor called them. The panic was
    /// caught and the reactor carried on; see [`Reactor`]'s "Wakers that panic".
    pub waker_panics: u64,
    /// Selector waits that failed (`ENOMEM` from `epoll_wait`). [`Reactor::poll`] returns
    /// the error to its caller; this count is how a poller that cannot return it (the
    /// reactor thread, a runtime's parker) reports it.
    pub wait_errors: u64,
}

fn bump(c: &AtomicU64, by: u64) {
    // Relaxed: statistics, ordered with nothing else.
    c.fetch_add(by, Ordering::Relaxed);
}

thread_local! {
    static CURRENT: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

impl Reactor {
    /// A reactor over a selector with the default backend (`PLY_SELECTOR`, else epoll).
    ///
    /// # Errors
    ///
    /// Those of [`Selector::new`]: out of fds, or an unknown `PLY_SELECTOR`.
    pub fn new() -> io::Result<Reactor> {
        Builder::new().build()
    }

    /// A [`Builder`], to choose the backend and the [cooperative budget](crate::coop).
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A reactor over a selector with the given backend.
    ///
    /// # Errors
    ///
    /// Those of [`Selector::with_backend`].
    pub fn with_backend(backend: Backend) -> io::Result<Reactor> {
        Builder::new().backend(backend).build()
    }

    /// A reactor over a selector you made.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for setup that can fail.
    pub fn with_selector(selector: Selector) -> io::Result<Reactor> {
        Builder::new().build_with_selector(selector)
    }

    pub(crate) fn from_parts(
        selector: Selector,
        completions: Option<Completions>,
        budget: Option<Budget>,
        on_waker_panic: Option<WakerPanicHook>,
    ) -> io::Result<Reactor> {
        Ok(Reactor {
            inner: Arc::new(Inner {
                selector,
                completions,
                table: Mutex::new(Table::default()),
                turn: Mutex::new(Turn {
                    events: Events::with_capacity(EVENTS_PER_POLL),
                    cqes: Vec::new(),
                    wakers: Vec::with_capacity(64),
                    tick: 0,
                }),
                wait_state: WaitState::new(),
                counters: Counters::default(),
                budget,
                on_waker_panic,
            }),
        })
    }

    /// Spends one unit of this reactor's cooperative budget, if it was given one.
    #[inline]
    pub(crate) fn poll_proceed(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.inner.budget {
            Some(budget) => budget(cx),
            None => Poll::Ready(()),
        }
    }

    /// The process-wide fallback reactor, started on first use, with its own reactor
    /// thread (named `ply-reactor`) that waits in the selector with no timeout. This is
    /// what [`Async::new`](crate::Async::new) uses when no reactor is
    /// [entered](Self::enter), so I/O works under any executor
    /// (`futures::executor::block_on`, another runtime) with no setup.
    ///
    /// # Errors
    ///
    /// If the reactor or its thread cannot be created (out of fds or threads). A later
    /// call tries again.
    pub fn global() -> io::Result<Reactor> {
        static GLOBAL: std::sync::OnceLock<Reactor> = std::sync::OnceLock::new();
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        if let Some(r) = GLOBAL.get() {
            return Ok(r.clone());
        }
        // A lock (not get_or_init) so that a failure is returned, not cached or panicked.
        let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = GLOBAL.get() {
            return Ok(r.clone());
        }
        let reactor = Reactor::new()?;
        let poller = reactor.clone();
        std::thread::Builder::new()
            .name("ply-reactor".into())
            .spawn(move || loop {
                // `poll` catches every waker's panic itself; this second net keeps the one
                // thread every `Async` of the process depends on alive whatever happens.
                let step =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poller.poll(None)));
                match step {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => {
                        // A wait that fails (ENOMEM) is retried after a pause, not spun;
                        // `poll` counted it in `ReactorStats::wait_errors`.
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => bump(&poller.inner.counters.waker_panics, 1),
                }
            })?;
        let _ = GLOBAL.set(reactor.clone());
        Ok(reactor)
    }

    /// The reactor [entered](Self::enter) on this thread, else [`Reactor::global`].
    ///
    /// # Errors
    ///
    /// Those of [`Reactor::global`].
    pub fn current() -> io::Result<Reactor> {
        match CURRENT.with(|c| c.borrow().clone()) {
            Some(r) => Ok(r),
            None => Reactor::global(),
        }
    }

    /// Makes this reactor the thread's current one until the guard drops (the previous
    /// one is restored then). A convenience: every API also takes a reactor explicitly.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard { prev }
    }

    /// The selector backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.selector.backend()
    }

    /// Registers `fd` for both directions, edge-triggered. The registration deregisters
    /// itself when dropped; drop it *before* closing `fd` ([`Async`](crate::Async) keeps
    /// that order for you).
    ///
    /// # Errors
    ///
    /// `EBADF` for a closed fd, `AlreadyExists` if `fd` is registered with this reactor
    /// already, `EPERM` for a regular file (epoll), an error once the reactor has
    /// [shut down](Self::shutdown), `OutOfMemory` past 16,777,215 registrations.
    pub fn register(&self, fd: RawFd) -> io::Result<Registration> {
        let io = Arc::new(IoState::new());
        let token = self.inner.table.lock().insert(io.clone())?;
        if let Err(e) = self.inner.selector.register(fd, token, Interest::BOTH) {
            self.inner.table.lock().remove(token);
            return Err(e);
        }
        bump(&self.inner.counters.registrations, 1);
        Ok(Registration::new(self.clone(), io, fd, token))
    }

    /// Undoes [`register`](Self::register): the selector forgets `fd`, then the slot is
    /// freed (a late event for it finds a newer generation and is dropped).
    pub(crate) fn deregister(&self, fd: RawFd, token: Token) {
        // EBADF/ENOENT here means the fd was closed before its registration dropped: the
        // kernel has already forgotten it, so there is nothing left to undo.
        let _ = self.inner.selector.deregister(fd);
        let io = self.inner.table.lock().remove(token);
        if let Some(io) = io {
            // Dropping wakers can run arbitrary code (and panic): do it outside the table
            // lock, one at a time, each caught.
            for waker in io.clear_wakers() {
                wake::drop(waker, self.inner.waker_panic_report());
            }
        }
        bump(&self.inner.counters.deregistrations, 1);
    }

    pub(crate) fn rearm(&self, fd: RawFd, token: Token, interest: Interest) {
        // Only fails if waking a waiting poller fails; the poller's next wait then
        // re-reads the armed set anyway.
        let _ = self.inner.selector.rearm(fd, token, interest);
    }

    /// One reactor turn: waits for events (up to `timeout`; `None` for no limit), sets
    /// readiness and calls the wakers of the tasks waiting for it, outside every lock.
    /// Returns how many wakers it called.
    ///
    /// One thread at a time: a second caller blocks until the first returns (use
    /// [`try_poll`](Self::try_poll) to skip instead). A [`wake`](Self::wake) from any
    /// thread ends the wait early. Returning with nothing done is normal.
    ///
    /// # Errors
    ///
    /// What the selector wait reports (e.g. `ENOMEM`); never `EINTR`.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut turn = self.inner.turn.lock();
        self.poll_locked(&mut turn, timeout)
    }

    /// Like [`poll`](Self::poll), but returns `None` at once if another thread is
    /// driving the reactor right now.
    ///
    /// # Errors
    ///
    /// As [`poll`](Self::poll).
    pub fn try_poll(&self, timeout: Option<Duration>) -> Option<io::Result<usize>> {
        let mut turn = self.inner.turn.try_lock()?;
        Some(self.poll_locked(&mut turn, timeout))
    }

    fn poll_locked(&self, turn: &mut Turn, timeout: Option<Duration>) -> io::Result<usize> {
        let inner = &*self.inner;
        let timeout = match inner.wait_state.begin() {
            Begin::Block => timeout,
            Begin::DontBlock => Some(Duration::ZERO),
        };
        let res = match &inner.completions {
            None => inner.selector.select(&mut turn.events, timeout),
            Some(c) => completion_wait(&inner.selector, c.ring(), &mut turn.events, timeout),
        };
        if let Some(c) = &inner.completions {
            // Completions posted by the submit or during the wait.
            c.ring().reap(|cqe| turn.cqes.push(cqe));
        }
        inner.wait_state.end();
        if let Err(e) = res {
            bump(&inner.counters.wait_errors, 1);
            return Err(e);
        }
        bump(&inner.counters.polls, 1);
        bump(&inner.counters.events, turn.events.len() as u64);

        turn.tick = next_tick(turn.tick);
        let tick = turn.tick;
        {
            let table = inner.table.lock();
            for event in turn.events.iter() {
                // (The completion ring's token, if any, names no slot: `RING_TOKEN`.)
                if let Some(io) = table.get(event.token()) {
                    io.set_and_take(tick, from_event(event), &mut turn.wakers);
                }
            }
        }
        if let Some(c) = &inner.completions {
            bump(&inner.counters.completions, turn.cqes.len() as u64);
            c.dispatch(&mut turn.cqes, &mut turn.wakers);
        }
        let n = turn.wakers.len();
        bump(&inner.counters.wakes, n as u64);
        // Each wake is caught on its own: a panicking waker neither unwinds out of the
        // reactor turn nor keeps the wakers after it from being called.
        for waker in turn.wakers.drain(..) {
            wake::wake(waker, inner.waker_panic_report());
        }
        Ok(n)
    }

    /// The completion driver, if this reactor was built with one.
    pub(crate) fn completions(&self) -> Option<&Completions> {
        self.inner.completions.as_ref()
    }

    /// Whether this reactor runs completion I/O ([`Builder::completion`]).
    pub fn has_completions(&self) -> bool {
        self.inner.completions.is_some()
    }

    /// Completion operations whose slot is still held, and the receive ring's buffers in
    /// the kernel's hands and in all: `(ops, available, total)`; `None` without completion
    /// I/O. For leak checks: with no stream open, `ops == 0` and `available == total`.
    pub fn completion_counts(&self) -> Option<(usize, usize, usize)> {
        let c = self.inner.completions.as_ref()?;
        Some((c.live(), c.buffers_available(), c.buffers()))
    }

    /// Called after an op was pushed: if a poller is blocked in the kernel right now, it
    /// would not see the op until its wait ends, so end the wait (one eventfd write, only in
    /// that case); its next turn submits the op. Otherwise the next reactor turn submits it
    /// with its wait.
    ///
    /// Only a reactor turn ever calls `io_uring_enter` to submit: io_uring runs an op's
    /// deferred work (the retry of a recv that found no data, of an accept that found no
    /// connection) as task work of the thread that submitted it, and the driver's thread is
    /// the one thread sure to enter the kernel again soon. A task's thread might instead
    /// sleep on a futex for as long as it likes.
    pub(crate) fn wake_if_waiting(&self) {
        // SeqCst: orders the push before this load against the driver's begin() swap
        // and its read of the SQ: a driver that had not begun submits the push itself.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.inner.wait_state.is_polling() {
            self.wake();
        }
    }

    /// Ends a poller's wait in progress, or makes the next one return at once. Cheap when
    /// no thread is waiting (no syscall); safe from any thread.
    pub fn wake(&self) {
        if self.inner.wait_state.unpark() == Unpark::WakeSelector {
            bump(&self.inner.counters.unparks, 1);
            // Fails only on a broken eventfd; the poller would then return at its timeout.
            let _ = self.inner.selector.wake();
        }
    }

    /// Shuts the reactor down: new registrations fail, and every registration's pending
    /// and future readiness polls answer with an error instead of waiting forever. ply-net
    /// calls this when its runtime is dropped.
    pub fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut table = self.inner.table.lock();
            table.shutdown = true;
            for io in table.slots.iter().filter_map(|s| s.io.as_ref()) {
                io.shut_down(&mut wakers);
            }
        }
        for w in wakers {
            wake::wake(w, self.inner.waker_panic_report());
        }
        self.wake();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.table.lock().shutdown
    }

    /// How many registrations are live now.
    pub fn registrations(&self) -> usize {
        self.inner.table.lock().live
    }

    /// What this reactor has done so far.
    pub fn stats(&self) -> ReactorStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReactorStats {
            polls: get(&c.polls),
            events: get(&c.events),
            wakes: get(&c.wakes),
            registrations: get(&c.registrations),
            deregistrations: get(&c.deregistrations),
            unparks: get(&c.unparks),
            waker_panics: get(&c.waker_panics),
            wait_errors: get(&c.wait_errors),
        }
    }

    /// The selector's own counters (waits, events, wakes at the ply-sys level).
    pub fn selector_stats(&self) -> SelectorStats {
        self.inner.selector.stats()
    }

    /// Whether `self` and `other` are handles to the same reactor.
    pub fn ptr_eq(&self, other: &Reactor) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("backend", &self.backend())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Table {
    fn insert(&mut self, io: Arc<IoState>) -> io::Result<Token> {
        if self.shutdown {
            return Err(shutdown_error());
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.slots.len() < MAX_REGISTRATIONS => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "too many registrations on one reactor",
                ))
            }
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        self.live += 1;
        Ok(encode(index, slot.generation))
    }

    fn get(&self, token: Token) -> Option<&Arc<IoState>> {
        let (index, generation) = decode(token);
        let slot = self.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.io.as_ref()
    }

    fn remove(&mut self, token: Token) -> Option<Arc<IoState>> {
        let (index, generation) = decode(token);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let io = slot.io.take()?;
        // A new generation for the slot: late events carrying the old token miss.
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        self.free.push(index);
        self.live -= 1;
        Some(io)
    }
}

/// One wait of a reactor with a completion driver: submit what was pushed since the last
/// turn (`io_uring_enter`, which also runs the ring's deferred work and flushes its
/// overflowed completions, without sleeping), then wait in the selector, which watches the
/// ring's fd: without sleeping if completions are already waiting. Two syscalls per turn;
/// the `uring` selector backend's single shared enter is the next step (issue 16).
fn completion_wait(
    selector: &Selector,
    ring: &ply_sys::uring::Ring,
    events: &mut Events,
    timeout: Option<Duration>,
) -> io::Result<()> {
    ring.submit_and_wait(0, None)?;
    let timeout = if ring.has_completions() {
        Some(Duration::ZERO)
    } else {
        timeout
    };
    selector.select(events, timeout)
}

pub(crate) fn encode(index: usize, generation: usize) -> Token {
    Token((generation << INDEX_BITS) | index)
}

pub(crate) fn decode(token: Token) -> (usize, usize) {
    (token.0 & INDEX_MASK, token.0 >> INDEX_BITS)
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the reactor has shut down")
}

/// Restores the previous current reactor when dropped; see [`Reactor::enter`].
#[derive(Debug)]
#[must_use = "the reactor is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Reactor>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_never_hit_the_reserved_one() {
        let table = [
            (0, 0),
            (1, 0),
            (MAX_REGISTRATIONS - 1, 5),
            (7, usize::MAX >> INDEX_BITS),
        ];
        for (index, generation) in table {
            let token = encode(index, generation);
            assert_eq!(decode(token), (index, generation));
            assert_ne!(token, Token(usize::MAX));
        }
    }

    #[test]
    fn a_reused_slot_ignores_the_old_token() {
        let mut t = Table::default();
        let a = t.insert(Arc::new(IoState::new())).unwrap();
        assert!(t.get(a).is_some());
        t.remove(a).unwrap();
        let b = t.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(decode(a).0, decode(b).0, "the slot is reused");
        assert!(t.get(a).is_none(), "the old token misses");
        assert!(t.get(b).is_some());
        assert!(t.remove(a).is_none());
        assert_eq!(t.live, 1);
    }
}

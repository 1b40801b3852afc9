//! Edge-triggered readiness on top of level-triggered poll(2) and select(2).
//!
//! poll and select keep no interest list in the kernel: the caller hands over the whole set
//! on every wait, and the kernel reports each fd that is ready *now* (level-triggered). The
//! [`Registry`] here is the interest list those two backends keep in userspace, and it
//! turns level into edge:
//!
//! - Each entry has an `interest` (what was registered) and an `armed` subset (what the
//!   next wait should watch). A wait watches only armed directions.
//! - When a wait reports a direction, that direction is *disarmed*: the fd stays ready
//!   until its owner drains it, and without disarming every following wait would report
//!   it again at once (a busy loop).
//! - [`Registry::rearm`], called by the owner after `WouldBlock`, arms it again. If the fd
//!   became ready again in between, the next wait sees it at once (poll is level-triggered),
//!   so no readiness is lost.
//!
//! A thread blocked in poll or select watches the set it was handed when it started, so any
//! change that adds to that set (register, reregister, rearm) must wake it: the registry
//! remembers whether a wait is in progress and, if so, notifies its [`Notifier`]. The
//! waiter then returns early (a spurious wake-up, which the contract allows) and the next
//! wait uses the new set.

use super::{Event, Events, Interest, Token};
use crate::fd::check_open;
use crate::notify::Notifier;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One registered fd as the registry tracks it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    fd: RawFd,
    token: Token,
    interest: Interest,
    armed: Interest,
}

/// An armed entry, as copied out for one wait.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Armed {
    pub(crate) fd: RawFd,
    pub(crate) token: Token,
    pub(crate) armed: Interest,
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<Entry>,
    /// fd -> position in `entries`, for O(1) register, deregister and rearm.
    index: HashMap<RawFd, usize>,
    /// A thread is blocked in poll/select with a set copied before this change.
    waiting: bool,
}

/// The userspace interest list shared by the poll and select backends.
#[derive(Debug)]
pub(crate) struct Registry {
    state: Mutex<State>,
    notifier: Notifier,
}

impl Registry {
    pub(crate) fn new() -> io::Result<Registry> {
        Ok(Registry {
            state: Mutex::new(State::default()),
            notifier: Notifier::new()?,
        })
    }

    /// The fd a waiter must watch for readability to see wakes and changes.
    pub(crate) fn wake_fd(&self) -> RawFd {
        self.notifier.as_raw_fd()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave an entry half-written (every update
        // is a plain field store), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the waiter if one is blocked with an outdated set. Called with the lock held,
    /// so a waiter that starts right after sees the change in its copy instead.
    fn changed(&self, state: &State) -> io::Result<()> {
        if state.waiting {
            self.notifier.notify()?;
        }
        Ok(())
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        // poll would only report POLLNVAL for a closed fd at the next wait; answer now, as
        // epoll_ctl does.
        check_open(fd)?;
        let mut state = self.lock();
        if state.index.contains_key(&fd) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("fd {fd} is already registered"),
            ));
        }
        let at = state.entries.len();
        state.entries.push(Entry {
            fd,
            token,
            interest,
            armed: interest,
        });
        state.index.insert(fd, at);
        self.changed(&state)
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut state = self.lock();
        let at = *state.index.get(&fd).ok_or_else(|| not_registered(fd))?;
        state.entries[at] = Entry {
            fd,
            token,
            interest,
            armed: interest,
        };
        self.changed(&state)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut state = self.lock();
        let at = state.index.remove(&fd).ok_or_else(|| not_registered(fd))?;
        state.entries.swap_remove(at);
        if let Some(moved) = state.entries.get(at).map(|e| e.fd) {
            state.index.insert(moved, at);
        }
        // A waiter still watching `fd` must be woken, not left to find out later: poll(2)
        // and select(2) hold a reference to every file they wait on, so until that wait
        // returns, closing `fd` does not release the socket. A zero-linger close would send
        // its RST only then (the peer, and whoever waits for it, would hang), and a closed
        // listener would keep its port. Its report, if any, finds no entry and is dropped in
        // `finish_wait`.
        self.changed(&state)
    }

    pub(crate) fn rearm(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut state = self.lock();
        let Some(&at) = state.index.get(&fd) else {
            return Ok(());
        };
        let entry = &mut state.entries[at];
        if entry.token != token {
            return Ok(());
        }
        let armed =
            Interest::from_bits(entry.armed.bits() | (interest.bits() & entry.interest.bits()));
        if armed == entry.armed {
            return Ok(());
        }
        entry.armed = armed;
        self.changed(&state)
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.notifier.notify()
    }

    /// Starts a wait: marks it in progress and copies the armed entries into `out`.
    pub(crate) fn begin_wait(&self, out: &mut Vec<Armed>) {
        out.clear();
        let mut state = self.lock();
        state.waiting = true;
        out.extend(
            state
                .entries
                .iter()
                .filter(|e| !e.armed.is_empty())
                .map(|e| Armed {
                    fd: e.fd,
                    token: e.token,
                    armed: e.armed,
                }),
        );
    }

    /// Ends a wait: takes each `(fd, token, event flags)` the kernel reported, drops those
    /// whose registration changed meanwhile, disarms the directions reported, and pushes
    /// the events. Also consumes any wake.
    pub(crate) fn finish_wait(
        &self,
        woken: bool,
        ready: impl Iterator<Item = (RawFd, Token, u8)>,
        events: &mut Events,
    ) -> io::Result<()> {
        if woken {
            self.notifier.drain()?;
        }
        let mut state = self.lock();
        state.waiting = false;
        for (fd, token, flags) in ready {
            if events.is_full() {
                // The entry stays armed, so the next wait reports it again.
                break;
            }
            let Some(&at) = state.index.get(&fd) else {
                continue;
            };
            let entry = &mut state.entries[at];
            if entry.token != token || flags == 0 {
                continue;
            }
            let event = Event::new(token, flags);
            let disarm = event.directions().bits();
            entry.armed = Interest::from_bits(entry.armed.bits() & !disarm);
            events.push(event);
        }
        Ok(())
    }
}

/// What differs between the poll and select backends: the kernel call of one wait, and
/// which fds it can watch. The rest is [`Emulated`], written once.
pub(crate) trait Mechanism: Sized {
    /// Sets up the wait for `registry` (the select backend checks its wake fd fits).
    fn new(registry: &Registry) -> io::Result<Self>;

    /// Refuses an fd this mechanism cannot watch (select: fds >= `FD_SETSIZE`).
    fn check_fd(_fd: RawFd) -> io::Result<()> {
        Ok(())
    }

    /// One wait over `registry`'s armed entries (between `begin_wait` and `finish_wait`).
    fn select(
        &self,
        registry: &Registry,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()>;
}

/// An emulated backend: the userspace [`Registry`] plus one [`Mechanism`]'s wait. The
/// selector methods forward here once for both poll and select.
#[derive(Debug)]
pub(crate) struct Emulated<M> {
    registry: Registry,
    mechanism: M,
}

impl<M: Mechanism> Emulated<M> {
    pub(crate) fn new() -> io::Result<Emulated<M>> {
        let registry = Registry::new()?;
        let mechanism = M::new(&registry)?;
        Ok(Emulated {
            registry,
            mechanism,
        })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        M::check_fd(fd)?;
        self.registry.register(fd, token, interest)
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        M::check_fd(fd)?;
        self.registry.reregister(fd, token, interest)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.registry.deregister(fd)
    }

    pub(crate) fn rearm(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.registry.rearm(fd, token, interest)
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.registry.wake()
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.mechanism.select(&self.registry, events, timeout)
    }
}

fn not_registered(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("fd {fd} is not registered"),
    )
}

/// poll(2)'s `revents` in [`Event`] terms, shared by both emulated backends (the select
/// backend refines select's answer with a zero-timeout poll of the fd).
pub(crate) fn poll_event_flags(revents: i16) -> u8 {
    let mut e = 0;
    if revents & libc::POLLIN != 0 {
        e |= Event::READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        e |= Event::WRITABLE;
    }
    if revents & libc::POLLPRI != 0 {
        e |= Event::PRIORITY;
    }
    if revents & libc::POLLRDHUP != 0 {
        e |= Event::READ_CLOSED;
    }
    if revents & libc::POLLHUP != 0 {
        e |= Event::READ_CLOSED | Event::WRITE_CLOSED;
    }
    if revents & libc::POLLERR != 0 {
        e |= Event::ERROR | Event::WRITE_CLOSED;
    }
    if revents & libc::POLLNVAL != 0 {
        // The fd was closed while registered: report it so its owner finds out, and the
        // disarm that follows keeps it from being reported on every wait.
        e |= Event::ERROR | Event::READ_CLOSED | Event::WRITE_CLOSED;
    }
    e
}

/// What to ask poll(2) for, for an armed interest.
pub(crate) fn poll_events(armed: Interest) -> i16 {
    let mut ev = 0;
    if armed.is_readable() {
        ev |= libc::POLLIN | libc::POLLRDHUP;
    }
    if armed.is_writable() {
        ev |= libc::POLLOUT;
    }
    if armed.is_priority() {
        ev |= libc::POLLPRI;
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_bits_map_to_event_flags() {
        let table = [
            (libc::POLLIN, Event::READABLE),
            (libc::POLLOUT, Event::WRITABLE),
            (libc::POLLPRI, Event::PRIORITY),
            (
                libc::POLLIN | libc::POLLRDHUP,
                Event::READABLE | Event::READ_CLOSED,
            ),
            (libc::POLLHUP, Event::READ_CLOSED | Event::WRITE_CLOSED),
            (libc::POLLERR, Event::ERROR | Event::WRITE_CLOSED),
            (
                libc::POLLNVAL,
                Event::ERROR | Event::READ_CLOSED | Event::WRITE_CLOSED,
            ),
        ];
        for (bits, want) in table {
            assert_eq!(poll_event_flags(bits), want, "{bits:#x}");
        }
    }

    #[test]
    fn armed_interest_maps_to_poll_events() {
        assert_eq!(
            poll_events(Interest::READABLE),
            libc::POLLIN | libc::POLLRDHUP
        );
        assert_eq!(poll_events(Interest::WRITABLE), libc::POLLOUT);
        assert_eq!(poll_events(Interest::from_bits(0)), 0);
    }

    #[test]
    fn a_reported_direction_stays_disarmed_until_rearmed() {
        let (r, _w) = crate::pipe().unwrap();
        let fd = r.as_raw_fd();
        let reg = Registry::new().unwrap();
        reg.register(fd, Token(3), Interest::BOTH).unwrap();
        let mut armed = Vec::new();
        let mut events = Events::with_capacity(4);

        reg.begin_wait(&mut armed);
        assert_eq!(armed.len(), 1);
        assert_eq!(armed[0].armed, Interest::BOTH);
        reg.finish_wait(
            false,
            [(fd, Token(3), Event::READABLE)].into_iter(),
            &mut events,
        )
        .unwrap();
        assert_eq!(events.len(), 1);

        reg.begin_wait(&mut armed);
        assert_eq!(armed[0].armed, Interest::WRITABLE, "readable was disarmed");
        reg.finish_wait(false, std::iter::empty(), &mut events)
            .unwrap();

        // A stale token (an old owner of the fd number) does not re-arm.
        reg.rearm(fd, Token(99), Interest::READABLE).unwrap();
        reg.begin_wait(&mut armed);
        assert_eq!(armed[0].armed, Interest::WRITABLE);
        reg.finish_wait(false, std::iter::empty(), &mut events)
            .unwrap();

        reg.rearm(fd, Token(3), Interest::READABLE).unwrap();
        reg.begin_wait(&mut armed);
        assert_eq!(armed[0].armed, Interest::BOTH);
        reg.finish_wait(false, std::iter::empty(), &mut events)
            .unwrap();
    }

    #[test]
    fn deregister_keeps_the_index_consistent() {
        let pipes: Vec<_> = (0..4).map(|_| crate::pipe().unwrap()).collect();
        let reg = Registry::new().unwrap();
        for (i, (r, _)) in pipes.iter().enumerate() {
            reg.register(r.as_raw_fd(), Token(i), Interest::READABLE)
                .unwrap();
        }
        reg.deregister(pipes[0].0.as_raw_fd()).unwrap();
        reg.deregister(pipes[2].0.as_raw_fd()).unwrap();
        let mut armed = Vec::new();
        reg.begin_wait(&mut armed);
        let mut tokens: Vec<_> = armed.iter().map(|a| a.token.0).collect();
        tokens.sort();
        assert_eq!(tokens, [1, 3]);
        for a in &armed {
            reg.deregister(a.fd).unwrap();
        }
        assert_eq!(
            reg.deregister(pipes[1].0.as_raw_fd()).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}

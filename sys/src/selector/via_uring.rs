//! The uring backend: readiness through multishot `IORING_OP_POLL_ADD` on an [io_uring(7)]
//! ring ([`crate::uring::Ring`]).
//!
//! Each registered fd has one multishot poll armed in the kernel. Such a poll is
//! edge-triggered like `EPOLLET`: it posts a CQE (with the ready mask in `res` and `MORE`
//! set) when it is armed on an fd that is ready already, and again on each new wake-up of
//! the fd, never on every wait while it stays ready. That is the
//! [`Selector`](super::Selector) contract, so [`rearm`](super::Selector::rearm) is free here
//! as with epoll.
//!
//! # user_data
//!
//! | bits | meaning |
//! |---|---|
//! | 63 | [`COMPLETION_TAG`]: not ours; a completion op submitted by another layer |
//! | 32..63 | generation of the registration (0: the selector's own SQEs) |
//! | 0..32 | the fd (generation 0: [`WAKE_UD`] or [`CONTROL_UD`]) |
//!
//! A registration's generation changes on every register and reregister, so a CQE still
//! in flight from a removed or replaced poll (including its final `-ECANCELED`) no longer
//! matches and is dropped. When the kernel ends a current multishot poll on its own (a
//! CQE without `MORE`, for example when the CQ ring overflowed), the poll is armed again.
//!
//! reregister is a `POLL_REMOVE` of the old poll and a `POLL_ADD` of the new one;
//! deregister is a `POLL_REMOVE`. Each change is submitted at once (one io_uring_enter), so
//! it takes effect for a wait in progress on another thread. The wake fd is the usual
//! [`Notifier`], watched by a multishot poll of its own.
//!
//! [io_uring(7)]: https://man7.org/linux/man-pages/man7/io_uring.7.html

use super::emulated::{poll_event_flags, poll_events};
use super::{Event, Events, Interest, Token};
use crate::fd::check_open;
use crate::notify::Notifier;
use crate::uring::{Cqe, Ring, Sqe, COMPLETION_TAG};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The wake fd's poll.
const WAKE_UD: u64 = 0;
/// The selector's own removal SQEs; their CQEs are dropped.
const CONTROL_UD: u64 = 1;

/// SQ entries of the selector's ring: register/deregister bursts beyond it submit early.
const RING_ENTRIES: u32 = 256;

#[derive(Clone, Copy, Debug)]
struct Entry {
    token: Token,
    interest: Interest,
    generation: u32,
}

#[derive(Debug)]
struct State {
    entries: HashMap<RawFd, Entry>,
    /// The next generation to hand out; never 0 and below 2^31.
    next_generation: u32,
}

#[derive(Debug)]
pub(crate) struct Selector {
    ring: Arc<Ring>,
    notifier: Notifier,
    state: Mutex<State>,
    /// Keeps waits one at a time; holds the fd -> index map for merging CQEs per wait.
    scratch: Mutex<HashMap<RawFd, usize>>,
    /// COMPLETION_TAG CQEs reaped by a plain `select`, kept for the next
    /// `select_with_completions`.
    stash: Mutex<Vec<Cqe>>,
}

fn user_data(fd: RawFd, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(fd as u32)
}

fn split(user_data: u64) -> (RawFd, u32) {
    (
        user_data as u32 as RawFd,
        ((user_data & !COMPLETION_TAG) >> 32) as u32,
    )
}

fn poll_mask(interest: Interest) -> u32 {
    poll_events(interest) as u16 as u32
}

fn not_registered(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("fd {fd} is not registered"),
    )
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        let ring = Ring::new(RING_ENTRIES)?;
        let notifier = Notifier::new()?;
        let wake = Sqe::poll_add(notifier.as_raw_fd(), libc::POLLIN as u32, true, WAKE_UD);
        // SAFETY: a poll SQE carries no pointers.
        unsafe { ring.push(&wake)? };
        ring.submit()?;
        Ok(Selector {
            ring: Arc::new(ring),
            notifier,
            state: Mutex::new(State {
                entries: HashMap::new(),
                next_generation: 1,
            }),
            scratch: Mutex::new(HashMap::new()),
            stash: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn ring(&self) -> &Arc<Ring> {
        &self.ring
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a plain insert or field store, so a poisoned lock is consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_generation(state: &mut State) -> u32 {
        let g = state.next_generation;
        state.next_generation = if g >= (1 << 31) - 1 { 1 } else { g + 1 };
        g
    }

    /// Pushes `sqes` and submits them. Called with the state lock held, so the SQEs of two
    /// changes to one fd reach the kernel in order.
    fn submit(&self, sqes: &[Sqe]) -> io::Result<()> {
        for sqe in sqes {
            // SAFETY: the selector's SQEs (poll add/remove) carry no pointers.
            unsafe { self.ring.push(sqe)? };
        }
        self.ring.submit()?;
        Ok(())
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        // The poll would report EBADF only in a CQE; answer now, as epoll_ctl does.
        check_open(fd)?;
        let mut state = self.lock();
        if state.entries.contains_key(&fd) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("fd {fd} is already registered"),
            ));
        }
        let generation = Self::next_generation(&mut state);
        let ud = user_data(fd, generation);
        self.submit(&[Sqe::poll_add(fd, poll_mask(interest), true, ud)])?;
        state.entries.insert(
            fd,
            Entry {
                token,
                interest,
                generation,
            },
        );
        Ok(())
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut state = self.lock();
        let old = *state.entries.get(&fd).ok_or_else(|| not_registered(fd))?;
        let generation = Self::next_generation(&mut state);
        let ud = user_data(fd, generation);
        self.submit(&[
            Sqe::poll_remove(user_data(fd, old.generation), CONTROL_UD),
            Sqe::poll_add(fd, poll_mask(interest), true, ud),
        ])?;
        state.entries.insert(
            fd,
            Entry {
                token,
                interest,
                generation,
            },
        );
        Ok(())
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut state = self.lock();
        let old = state
            .entries
            .remove(&fd)
            .ok_or_else(|| not_registered(fd))?;
        // Submitted before returning: the poll holds a reference to the file, so until it
        // is removed, closing `fd` would not release the socket (see emulated.rs).
        self.submit(&[Sqe::poll_remove(user_data(fd, old.generation), CONTROL_UD)])
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.notifier.notify()
    }

    pub(crate) fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        completions: Option<&mut Vec<Cqe>>,
    ) -> io::Result<()> {
        let mut index = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        index.clear();
        let mut completions = completions;
        if let Some(out) = completions.as_deref_mut() {
            out.append(&mut self.stash.lock().unwrap_or_else(|e| e.into_inner()));
        }
        // Wait only if nothing is ready already (the kernel checks the CQ first anyway;
        // skipping the enter saves a syscall), or if the kernel holds overflowed CQEs.
        if !self.ring.has_completions() || self.ring.cq_overflowed() {
            let min = if self.ring.has_completions() { 0 } else { 1 };
            self.ring.submit_and_wait(min, timeout)?;
        }
        let mut rearm: Vec<Sqe> = Vec::new();
        let mut woken = false;
        let state = self.lock();
        let room = events.capacity - events.len();
        // At most one CQE per free event slot, so none is reaped without room for it; the
        // rest stay in the ring for the next wait.
        self.ring.reap_at_most(room, |cqe| {
            if cqe.user_data & COMPLETION_TAG != 0 {
                match completions.as_deref_mut() {
                    Some(out) => out.push(cqe),
                    None => self
                        .stash
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(cqe),
                }
                return;
            }
            let (fd, generation) = split(cqe.user_data);
            if generation == 0 {
                if cqe.user_data == WAKE_UD {
                    woken = true;
                    if !cqe.more() {
                        let fd = self.notifier.as_raw_fd();
                        rearm.push(Sqe::poll_add(fd, libc::POLLIN as u32, true, WAKE_UD));
                    }
                }
                return;
            }
            let Some(entry) = state.entries.get(&fd) else {
                return;
            };
            if entry.generation != generation {
                return;
            }
            let flags = if cqe.res < 0 {
                // The poll itself failed (the fd went bad): report it, do not re-arm.
                Event::ERROR | Event::READ_CLOSED | Event::WRITE_CLOSED
            } else {
                if !cqe.more() {
                    let mask = poll_mask(entry.interest);
                    rearm.push(Sqe::poll_add(fd, mask, true, cqe.user_data));
                }
                poll_event_flags(cqe.res as u16 as i16)
            };
            if flags == 0 {
                return;
            }
            match index.get(&fd) {
                Some(&at) => events.add_flags(at, flags),
                None => {
                    index.insert(fd, events.len());
                    events.push(Event::new(entry.token, flags));
                }
            }
        });
        if !rearm.is_empty() {
            self.submit(&rearm)?;
        }
        drop(state);
        if woken {
            self.notifier.drain()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trips_and_never_sets_the_completion_tag() {
        for (fd, generation) in [(0, 1), (7, 2), (i32::MAX, (1 << 31) - 1), (900, 12345)] {
            let ud = user_data(fd, generation);
            assert_eq!(ud & COMPLETION_TAG, 0, "{fd} {generation}");
            assert_eq!(split(ud), (fd, generation));
        }
        assert_eq!(split(WAKE_UD).1, 0);
        assert_eq!(split(CONTROL_UD).1, 0);
    }

    #[test]
    fn generations_wrap_below_the_tag_and_skip_zero() {
        let mut s = State {
            entries: HashMap::new(),
            next_generation: (1 << 31) - 1,
        };
        assert_eq!(Selector::next_generation(&mut s), (1 << 31) - 1);
        assert_eq!(Selector::next_generation(&mut s), 1);
    }
}

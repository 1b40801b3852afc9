//! The epoll backend: edge-triggered [epoll(7)], the kernel doing all the bookkeeping.
//!
//! Every registration is `EPOLLET`, so the kernel reports a direction when it becomes ready
//! and never again until new readiness arrives: exactly the [`Selector`](super::Selector)
//! contract, which is why [`Selector::rearm`](super::Selector::rearm) is free here. The wake
//! fd sits in the same interest list under a reserved token.
//!
//! [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html

use super::{Event, Events, Interest, Token, WAKE_TOKEN};
use crate::epoll::{Epoll, EpollFlags};
use crate::notify::Notifier;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Selector {
    epoll: Epoll,
    notifier: Notifier,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        let epoll = Epoll::new()?;
        let notifier = Notifier::new()?;
        epoll.add(
            notifier.as_raw_fd(),
            WAKE_TOKEN.0 as u64,
            EpollFlags::IN | EpollFlags::ET,
        )?;
        Ok(Selector { epoll, notifier })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.epoll.add(fd, token.0 as u64, flags(interest))
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.epoll.modify(fd, token.0 as u64, flags(interest))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.epoll.delete(fd)
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        if events.raw.capacity() < events.capacity {
            events.raw.reserve_exact(events.capacity);
        }
        self.epoll.wait(&mut events.raw, timeout)?;
        for i in 0..events.raw.len() {
            let raw = events.raw[i];
            if raw.data() == WAKE_TOKEN.0 as u64 {
                // Edge-triggered: each notify is a new edge, so draining is not needed for
                // the next report, only to keep the eventfd counter from saturating.
                self.notifier.drain()?;
                continue;
            }
            events.push(Event::new(
                Token(raw.data() as usize),
                event_flags(raw.flags()),
            ));
        }
        Ok(())
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.notifier.notify()
    }
}

/// What to ask epoll for: always edge-triggered; readable includes `EPOLLRDHUP` so a
/// peer's shutdown is reported as read-closed.
fn flags(interest: Interest) -> EpollFlags {
    let mut f = EpollFlags::ET;
    if interest.is_readable() {
        f |= EpollFlags::IN | EpollFlags::RDHUP;
    }
    if interest.is_writable() {
        f |= EpollFlags::OUT;
    }
    if interest.is_priority() {
        f |= EpollFlags::PRI;
    }
    f
}

/// epoll's answer in [`Event`] terms. `EPOLLHUP` closes both sides; `EPOLLERR` is an error
/// that also closes the write side (on a pipe it is how a closed reader shows up).
pub(crate) fn event_flags(f: EpollFlags) -> u8 {
    let mut e = 0;
    if f.contains(EpollFlags::IN) {
        e |= Event::READABLE;
    }
    if f.contains(EpollFlags::OUT) {
        e |= Event::WRITABLE;
    }
    if f.contains(EpollFlags::PRI) {
        e |= Event::PRIORITY;
    }
    if f.contains(EpollFlags::RDHUP) {
        e |= Event::READ_CLOSED;
    }
    if f.contains(EpollFlags::HUP) {
        e |= Event::READ_CLOSED | Event::WRITE_CLOSED;
    }
    if f.contains(EpollFlags::ERR) {
        e |= Event::ERROR | Event::WRITE_CLOSED;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoll_bits_map_to_event_flags() {
        use EpollFlags as F;
        let table = [
            (F::IN, Event::READABLE),
            (F::OUT, Event::WRITABLE),
            (F::PRI, Event::PRIORITY),
            (F::IN | F::RDHUP, Event::READABLE | Event::READ_CLOSED),
            (F::HUP, Event::READ_CLOSED | Event::WRITE_CLOSED),
            (F::ERR, Event::ERROR | Event::WRITE_CLOSED),
            (
                F::IN | F::OUT | F::ERR | F::HUP | F::RDHUP,
                Event::READABLE
                    | Event::WRITABLE
                    | Event::READ_CLOSED
                    | Event::WRITE_CLOSED
                    | Event::ERROR,
            ),
        ];
        for (bits, want) in table {
            assert_eq!(event_flags(bits), want, "{bits:?}");
        }
    }

    #[test]
    fn interest_maps_to_edge_triggered_flags() {
        use EpollFlags as F;
        assert_eq!(flags(Interest::READABLE), F::ET | F::IN | F::RDHUP);
        assert_eq!(flags(Interest::WRITABLE), F::ET | F::OUT);
        assert_eq!(
            flags(Interest::BOTH | Interest::PRIORITY),
            F::ET | F::IN | F::RDHUP | F::OUT | F::PRI
        );
    }
}

//! [`Event`] (what the kernel reported about one registration) and [`Events`] (the
//! reusable buffer one wait fills).

use super::interest::{Interest, Token};
use std::fmt;

/// What the kernel reported about one registration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: u8,
}

impl Event {
    pub(crate) const READABLE: u8 = 1 << 0;
    pub(crate) const WRITABLE: u8 = 1 << 1;
    pub(crate) const PRIORITY: u8 = 1 << 2;
    pub(crate) const READ_CLOSED: u8 = 1 << 3;
    pub(crate) const WRITE_CLOSED: u8 = 1 << 4;
    pub(crate) const ERROR: u8 = 1 << 5;

    pub(crate) const fn new(token: Token, flags: u8) -> Event {
        Event { token, flags }
    }

    /// The token given at registration.
    pub fn token(&self) -> Token {
        self.token
    }

    /// A read would make progress (data, or end of stream).
    pub fn is_readable(&self) -> bool {
        self.flags & Self::READABLE != 0
    }

    /// A write would make progress.
    pub fn is_writable(&self) -> bool {
        self.flags & Self::WRITABLE != 0
    }

    /// Out-of-band data is pending.
    pub fn is_priority(&self) -> bool {
        self.flags & Self::PRIORITY != 0
    }

    /// The read side is closed: the peer shut down writing or hung up. Reads drain what
    /// is buffered, then return end of stream.
    pub fn is_read_closed(&self) -> bool {
        self.flags & Self::READ_CLOSED != 0
    }

    /// The write side is closed: the peer hung up, or the fd is in error. Writes fail.
    pub fn is_write_closed(&self) -> bool {
        self.flags & Self::WRITE_CLOSED != 0
    }

    /// An error is pending on the fd (for a socket, `SO_ERROR` says which).
    pub fn is_error(&self) -> bool {
        self.flags & Self::ERROR != 0
    }

    /// The directions this event covers: readable if a reader should try now (data,
    /// closure or error), writable likewise for a writer.
    pub(crate) fn directions(&self) -> Interest {
        let mut i = 0;
        if self.flags & (Self::READABLE | Self::READ_CLOSED | Self::ERROR) != 0 {
            i |= Interest::READABLE.0;
        }
        if self.flags & (Self::WRITABLE | Self::WRITE_CLOSED | Self::ERROR) != 0 {
            i |= Interest::WRITABLE.0;
        }
        if self.flags & Self::PRIORITY != 0 {
            i |= Interest::PRIORITY.0;
        }
        Interest(i)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        d.field("token", &self.token);
        for (on, name) in [
            (self.is_readable(), "readable"),
            (self.is_writable(), "writable"),
            (self.is_priority(), "priority"),
            (self.is_read_closed(), "read_closed"),
            (self.is_write_closed(), "write_closed"),
            (self.is_error(), "error"),
        ] {
            if on {
                d.field(name, &true);
            }
        }
        d.finish()
    }
}

/// A reusable buffer of [`Event`]s filled by [`Selector::select`](crate::Selector::select).
///
/// Allocate it once with the most events one wait may return and reuse it: a wait then
/// allocates nothing.
#[derive(Debug)]
pub struct Events {
    list: Vec<Event>,
    pub(super) capacity: usize,
    /// The epoll backend's raw buffer; left empty by the other backends.
    pub(super) raw: Vec<crate::epoll::EpollEvent>,
}

impl Events {
    /// A buffer that holds up to `capacity` events per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.max(1);
        Events {
            list: Vec::with_capacity(capacity),
            capacity,
            raw: Vec::new(),
        }
    }

    /// The most events one wait will return.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events the last wait returned.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last wait returned no events (timeout, wake, or signal).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events of the last wait.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// Forgets the events of the last wait.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= self.capacity
    }

    pub(crate) fn push(&mut self, event: Event) {
        self.list.push(event);
    }

    /// Adds `flags` to the event at `index` (the uring backend merges several CQEs for one
    /// fd in one wait into one event, as epoll reports it).
    pub(crate) fn add_flags(&mut self, index: usize, flags: u8) {
        self.list[index].flags |= flags;
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

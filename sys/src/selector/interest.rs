//! [`Interest`] (what a registration waits for) and [`Token`] (the caller's name for it).

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Which readiness directions to watch. Combine with `|`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(pub(super) u8);

impl Interest {
    /// Readable: data, a pending connection, end of stream, or an error.
    pub const READABLE: Interest = Interest(0b001);
    /// Writable: buffer space, a finished connect, or an error.
    pub const WRITABLE: Interest = Interest(0b010);
    /// Priority: out-of-band data (`EPOLLPRI`, `POLLPRI`, select's exceptional set).
    pub const PRIORITY: Interest = Interest(0b100);
    /// Both directions.
    pub const BOTH: Interest = Interest(0b011);

    /// Whether the readable direction is included.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether the writable direction is included.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }

    /// Whether priority events are included.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }

    /// Whether no direction is included (such an interest is refused).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn from_bits(bits: u8) -> Interest {
        Interest(bits & 0b111)
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (self.is_priority(), "PRIORITY"),
        ];
        let mut list = names.iter().filter(|(on, _)| *on).map(|(_, n)| *n);
        match list.next() {
            None => f.write_str("(empty)"),
            Some(first) => {
                f.write_str(first)?;
                list.try_for_each(|n| write!(f, " | {n}"))
            }
        }
    }
}

/// The caller's name for a registration, handed back in each [`Event`](crate::Event). Typically an
/// index into the caller's own table, so an event finds its owner in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

/// The token a selector keeps for its own wake fd. Registering it is refused.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

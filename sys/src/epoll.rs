//! [epoll(7)]: the kernel's interest list and ready list, owned by one value.
//!
//! An [`Epoll`] is an fd for a kernel object holding two things. The *interest list* (a
//! red-black tree keyed by fd) is what [`Epoll::add`], [`Epoll::modify`] and
//! [`Epoll::delete`] edit through [epoll_ctl(2)]. The *ready list* is where the kernel puts
//! an entry when the device behind a watched fd signals readiness (a packet arrives, a pipe
//! is written); [`Epoll::wait`] ([epoll_wait(2)]) sleeps until that list is non-empty and
//! copies out only the ready entries. That is why a wait costs O(ready), not O(watched):
//! the kernel never walks the whole interest list to answer it.
//!
//! This module is the raw, typed wrapper: it exposes every flag, including level- vs
//! edge-triggered and one-shot. [`Selector`](crate::Selector) builds ply's uniform
//! edge-triggered contract on top of it.
//!
//! # Examples
//!
//! ```
//! use ply_sys::epoll::{Epoll, EpollEvent, EpollFlags};
//! use std::os::fd::{AsFd, AsRawFd};
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! let epoll = Epoll::new()?;
//! let (read, write) = ply_sys::pipe()?;
//! epoll.add(read.as_raw_fd(), 7, EpollFlags::IN | EpollFlags::ET)?;
//! ply_sys::write(write.as_fd(), b"x")?;
//!
//! let mut events = Vec::with_capacity(8);
//! let n = epoll.wait(&mut events, Some(Duration::from_secs(1)))?;
//! assert_eq!(n, 1);
//! assert_eq!(events[0].data(), 7);
//! assert!(events[0].flags().contains(EpollFlags::IN));
//! # Ok(())
//! # }
//! ```
//!
//! [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html
//! [epoll_ctl(2)]: https://man7.org/linux/man-pages/man2/epoll_ctl.2.html
//! [epoll_wait(2)]: https://man7.org/linux/man-pages/man2/epoll_wait.2.html

use crate::cvt::{cvt, cvt_fd};
use std::fmt;
use std::io;
use std::ops::{BitOr, BitOrAssign};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// The event bits of an `epoll_event`: what to watch (in [`Epoll::add`]) and what happened
/// (in an [`EpollEvent`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EpollFlags(u32);

impl EpollFlags {
    /// `EPOLLIN`: readable (data, a pending connection, or end of stream).
    pub const IN: Self = Self(libc::EPOLLIN as u32);
    /// `EPOLLOUT`: writable.
    pub const OUT: Self = Self(libc::EPOLLOUT as u32);
    /// `EPOLLPRI`: an exceptional condition, e.g. TCP urgent data.
    pub const PRI: Self = Self(libc::EPOLLPRI as u32);
    /// `EPOLLRDHUP`: the peer shut down writing (our read side will see end of stream).
    pub const RDHUP: Self = Self(libc::EPOLLRDHUP as u32);
    /// `EPOLLHUP`: hang-up; always reported, never needs asking for.
    pub const HUP: Self = Self(libc::EPOLLHUP as u32);
    /// `EPOLLERR`: an error is pending on the fd; always reported.
    pub const ERR: Self = Self(libc::EPOLLERR as u32);
    /// `EPOLLET`: edge-triggered. Report a change of readiness once, instead of on every
    /// wait while the fd stays ready (level-triggered, the default).
    pub const ET: Self = Self(libc::EPOLLET as u32);
    /// `EPOLLONESHOT`: after one report, disable the fd until [`Epoll::modify`] re-arms it.
    pub const ONESHOT: Self = Self(libc::EPOLLONESHOT as u32);

    const NAMES: [(Self, &'static str); 8] = [
        (Self::IN, "IN"),
        (Self::OUT, "OUT"),
        (Self::PRI, "PRI"),
        (Self::RDHUP, "RDHUP"),
        (Self::HUP, "HUP"),
        (Self::ERR, "ERR"),
        (Self::ET, "ET"),
        (Self::ONESHOT, "ONESHOT"),
    ];

    /// No bits.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw bits, as the kernel sees them.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits (unknown bits are kept).
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for EpollFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for EpollFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for EpollFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// One entry of the ready list as [`Epoll::wait`] copies it out: what happened, and the
/// `data` word given at registration.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct EpollEvent(libc::epoll_event);

impl EpollEvent {
    /// What happened.
    pub fn flags(&self) -> EpollFlags {
        EpollFlags(self.0.events)
    }

    /// The word given to [`Epoll::add`] or [`Epoll::modify`] for this fd.
    pub fn data(&self) -> u64 {
        self.0.u64
    }
}

impl fmt::Debug for EpollEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpollEvent")
            .field("flags", &self.flags())
            .field("data", &self.data())
            .finish()
    }
}

/// An epoll instance: an owned fd for the kernel's interest list and ready list.
///
/// Every method takes `&self`: the kernel serialises changes to the interest list, so one
/// thread may [`add`](Self::add) while another is blocked in [`wait`](Self::wait), and the
/// change takes effect at once.
///
/// # Interrupted waits
///
/// A signal delivered during [`wait`](Self::wait) makes the kernel return `EINTR`. `wait`
/// turns that into `Ok(0)`: an early return with no events, which every caller must already
/// handle as a spurious wake-up. Callers that need the full timeout loop and recompute it.
///
/// # Timeouts
///
/// [epoll_wait(2)] counts its timeout in milliseconds, so a 0.3 ms timeout would become 0
/// (a busy loop) if truncated. `wait` uses [epoll_pwait2(2)], which takes a `timespec`,
/// where the kernel has it (Linux 5.11+), and otherwise rounds the timeout *up* to the next
/// millisecond. Either way a timer never fires early and a short wait never spins.
///
/// [epoll_wait(2)]: https://man7.org/linux/man-pages/man2/epoll_wait.2.html
/// [epoll_pwait2(2)]: https://man7.org/linux/man-pages/man2/epoll_pwait2.2.html
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// Creates an epoll instance with [epoll_create1(2)] and `EPOLL_CLOEXEC`.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when the process or system is out of fds, `ENOMEM`.
    ///
    /// [epoll_create1(2)]: https://man7.org/linux/man-pages/man2/epoll_create1.2.html
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only a flag word; it touches no memory of ours.
        let fd = cvt_fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Epoll { fd })
    }

    /// Adds `fd` to the interest list (`EPOLL_CTL_ADD`), tagging its events with `data`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` (`EEXIST`) if `fd` is already registered; `EBADF` if `fd` is not an
    /// open fd; `EPERM` if it is a regular file (epoll cannot watch those).
    pub fn add(&self, fd: RawFd, data: u64, flags: EpollFlags) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, data, flags)
    }

    /// Changes the interest and data of a registered `fd` (`EPOLL_CTL_MOD`); this also
    /// re-arms an fd disabled by [`EpollFlags::ONESHOT`].
    ///
    /// # Errors
    ///
    /// `NotFound` (`ENOENT`) if `fd` is not registered; `EBADF` if it is not open.
    pub fn modify(&self, fd: RawFd, data: u64, flags: EpollFlags) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, data, flags)
    }

    /// Removes `fd` from the interest list (`EPOLL_CTL_DEL`).
    ///
    /// Call it *before* closing `fd`: the interest list is keyed by the open file, not the
    /// number, so an fd closed while a `dup` of it lives on stays registered.
    ///
    /// # Errors
    ///
    /// `NotFound` (`ENOENT`) if `fd` is not registered; `EBADF` if it is not open.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, EpollFlags::empty())
    }

    fn ctl(&self, op: i32, fd: RawFd, data: u64, flags: EpollFlags) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags.bits(),
            u64: data,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call (the kernel
        // copies it); a bad `fd` is reported as EBADF, it cannot corrupt memory.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Waits until at least one watched fd is ready or `timeout` passes (`None`: forever),
    /// then fills `events` (cleared first, up to its capacity) and returns how many.
    ///
    /// Returns `Ok(0)` on timeout and on a signal (`EINTR`, see the type's docs).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `events` has no capacity; otherwise what the kernel reports.
    pub fn wait(
        &self,
        events: &mut Vec<EpollEvent>,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        events.clear();
        let cap = events.capacity().min(i32::MAX as usize);
        if cap == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "epoll wait needs an events buffer with capacity > 0",
            ));
        }
        let buf = events.as_mut_ptr().cast::<libc::epoll_event>();
        let n = match self.pwait2(buf, cap as i32, timeout) {
            Some(res) => res,
            None => {
                // SAFETY: `buf` points to `cap` writable epoll_events (the Vec's spare
                // capacity, and EpollEvent is repr(transparent) over epoll_event); the
                // kernel writes at most `cap` of them.
                cvt(unsafe {
                    libc::epoll_wait(self.fd.as_raw_fd(), buf, cap as i32, timeout_ms(timeout))
                })
            }
        };
        match n {
            Ok(n) => {
                // SAFETY: the kernel initialised the first `n` (<= cap) entries.
                unsafe { events.set_len(n as usize) };
                Ok(n as usize)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Tries `epoll_pwait2` (nanosecond timeout). `None` means the kernel lacks it (the
    /// answer is remembered process-wide) or no timeout is needed: use `epoll_wait`.
    fn pwait2(
        &self,
        buf: *mut libc::epoll_event,
        cap: i32,
        timeout: Option<Duration>,
    ) -> Option<io::Result<i32>> {
        // Whole milliseconds (and "forever", and zero) lose nothing in epoll_wait.
        let d = timeout?;
        if d.subsec_nanos() % 1_000_000 == 0 {
            return None;
        }
        if PWAIT2.load(Ordering::Relaxed) == PWAIT2_MISSING {
            return None;
        }
        let ts = KernelTimespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        };
        // SAFETY: `buf` has room for `cap` events (see `wait`); `ts` lives across the call
        // and has the kernel's `__kernel_timespec` layout; a null sigmask means "leave the
        // signal mask alone", and then the size argument is ignored.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.fd.as_raw_fd(),
                buf,
                cap,
                &ts as *const KernelTimespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        match cvt(ret) {
            // ENOSYS: an old kernel; EPERM: a seccomp filter that does not know the call.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {
                PWAIT2.store(PWAIT2_MISSING, Ordering::Relaxed);
                None
            }
            res => Some(res.map(|n| n as i32)),
        }
    }
}

/// Process-wide memo: does this kernel have `epoll_pwait2`?
static PWAIT2: AtomicU8 = AtomicU8::new(0);
const PWAIT2_MISSING: u8 = 2;

/// The kernel's `struct __kernel_timespec` (64-bit fields on every architecture).
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// A timeout in whole milliseconds for epoll_wait/poll: `None` is -1 (forever), and any
/// fraction of a millisecond rounds *up*, so a short wait sleeps instead of spinning.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(i32::MAX as u128) as i32
        }
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_rounds_up_to_whole_milliseconds() {
        let table = [
            (None, -1),
            (Some(Duration::ZERO), 0),
            (Some(Duration::from_nanos(1)), 1),
            (Some(Duration::from_micros(300)), 1),
            (Some(Duration::from_millis(1)), 1),
            (Some(Duration::from_micros(1_001)), 2),
            (Some(Duration::from_secs(2)), 2_000),
            (Some(Duration::from_secs(u64::MAX)), i32::MAX),
        ];
        for (timeout, ms) in table {
            assert_eq!(timeout_ms(timeout), ms, "{timeout:?}");
        }
    }

    #[test]
    fn flags_debug_names_each_bit() {
        let f = EpollFlags::IN | EpollFlags::ET;
        assert_eq!(format!("{f:?}"), "IN | ET");
        assert_eq!(format!("{:?}", EpollFlags::empty()), "(empty)");
    }
}

//! Signals as an fd: [signalfd(2)], and the per-thread signal mask it depends on
//! ([pthread_sigmask(3)], [signal(7)]).
//!
//! Why the mask matters, and why it is per thread, is written once, on [`SignalFd`]
//! ("The signal mask").
//!
//! [signalfd(2)]: https://man7.org/linux/man-pages/man2/signalfd.2.html
//! [pthread_sigmask(3)]: https://man7.org/linux/man-pages/man3/pthread_sigmask.3.html
//! [signal(7)]: https://man7.org/linux/man-pages/man7/signal.7.html

use crate::cvt::{cvt, cvt_fd};
use std::fmt;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// A kind of signal: a signal number with a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// Any signal by number (e.g. `libc::SIGRTMIN() + 1`); checked when used.
    pub const fn from_raw(signo: i32) -> SignalKind {
        SignalKind(signo)
    }

    /// The signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// `SIGINT`: Ctrl-C at a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite request to stop (what `kill` and service managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; daemons use it to reload.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: Ctrl-\ at a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGWINCH`: the terminal's size changed.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
}

/// A set of signal numbers (a `sigset_t`, [sigsetops(3)]).
///
/// [sigsetops(3)]: https://man7.org/linux/man-pages/man3/sigsetops.3.html
#[derive(Clone, Copy)]
pub struct SignalSet {
    set: libc::sigset_t,
}

impl SignalSet {
    /// The empty set.
    pub fn empty() -> SignalSet {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it fully (and cannot
        // fail for a valid pointer).
        unsafe {
            let mut set: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut set);
            SignalSet { set }
        }
    }

    /// The set of `signals`.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub fn of(signals: &[i32]) -> io::Result<SignalSet> {
        let mut set = SignalSet::empty();
        for &s in signals {
            set.add(s)?;
        }
        Ok(set)
    }

    /// Adds `signo`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `SIGKILL` and `SIGSTOP` (which cannot be blocked, caught or
    /// read) and for a number that is not a signal.
    pub fn add(&mut self, signo: i32) -> io::Result<()> {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {signo} (SIGKILL or SIGSTOP) cannot be caught or blocked"),
            ));
        }
        // SAFETY: `self.set` is an initialised sigset_t.
        cvt(unsafe { libc::sigaddset(&mut self.set, signo) }).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signo} is not a signal number"),
            )
        })?;
        Ok(())
    }

    /// Whether `signo` is in the set.
    pub fn contains(&self, signo: i32) -> bool {
        // SAFETY: `self.set` is an initialised sigset_t; an invalid number gives -1.
        unsafe { libc::sigismember(&self.set, signo) == 1 }
    }

    fn as_ptr(&self) -> *const libc::sigset_t {
        &self.set
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries((1..=64).filter(|&s| self.contains(s)))
            .finish()
    }
}

fn sigmask(how: i32, set: Option<&SignalSet>) -> io::Result<SignalSet> {
    let mut old = SignalSet::empty();
    let new = set.map_or(std::ptr::null(), SignalSet::as_ptr);
    // SAFETY: `new` is null or an initialised sigset_t, `old` is writable; both live for
    // the call. pthread_sigmask returns the error number instead of setting errno.
    match unsafe { libc::pthread_sigmask(how, new, &mut old.set) } {
        0 => Ok(old),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Adds `set` to the **calling thread's** signal mask ([pthread_sigmask(3)]
/// `SIG_BLOCK`) and returns the mask as it was. Threads created afterwards inherit it;
/// threads that exist already do not (see "The signal mask" on [`SignalFd`]).
///
/// # Errors
///
/// `EINVAL` only for a bad `how`, which cannot happen here.
///
/// [pthread_sigmask(3)]: https://man7.org/linux/man-pages/man3/pthread_sigmask.3.html
pub fn block_signals(set: &SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_BLOCK, Some(set))
}

/// Removes `set` from the calling thread's mask (`SIG_UNBLOCK`); a pending signal is
/// delivered at once. Returns the mask as it was.
///
/// # Errors
///
/// As [`block_signals`].
pub fn unblock_signals(set: &SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_UNBLOCK, Some(set))
}

/// Replaces the calling thread's mask with `set` (`SIG_SETMASK`), e.g. to restore what
/// [`block_signals`] returned. Returns the mask as it was.
///
/// # Errors
///
/// As [`block_signals`].
pub fn set_signal_mask(set: &SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_SETMASK, Some(set))
}

/// The calling thread's mask.
///
/// # Errors
///
/// As [`block_signals`].
pub fn blocked_signals() -> io::Result<SignalSet> {
    sigmask(libc::SIG_BLOCK, None)
}

/// One signal read from a [`SignalFd`] (the useful fields of `signalfd_siginfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal number.
    pub signo: i32,
    /// How it was sent (`SI_USER` from kill(2), `SI_TKILL` from tgkill(2), ...).
    pub code: i32,
    /// The sender's pid, for signals sent by a process.
    pub pid: u32,
    /// The sender's real uid, for signals sent by a process.
    pub uid: u32,
}

/// A signalfd: the signals of a [`SignalSet`] that are pending for the reading thread
/// (or for the process), readable as an fd, nonblocking and close-on-exec.
///
/// The signals must be blocked ([`block_signals`]) in every thread, or they are delivered
/// instead of queued; see below. Standard signals do not queue: two `SIGINT`s that arrive
/// before a read are read once.
///
/// # The signal mask
///
/// A signalfd does not *catch* a signal; it only lets the process *read* signals that
/// are pending. A signal becomes pending, rather than delivered (running its handler or
/// its default action, which for `SIGINT` and `SIGTERM` is to kill the process), only
/// while it is **blocked**. So the recipe is: block the signal with [`block_signals`],
/// then read it from a [`SignalFd`].
///
/// The mask is **per thread**. [`block_signals`] changes the calling thread's mask only.
/// A thread inherits its creator's mask when it is created, so:
///
/// - threads created *after* the block have the signal blocked too;
/// - threads created *before* it keep their own mask, and the kernel delivers a
///   process-directed signal (from `kill(2)`, or Ctrl-C at a terminal) to *any* thread
///   that does not block it: that thread runs the default action, and the signalfd never
///   sees the signal.
///
/// A program that reads signals from an fd must therefore block them in every thread,
/// which in practice means: block them on the main thread before any other thread is
/// started (a runtime's workers, a logger's thread), or in each thread as it starts. The
/// mask also survives `execve(2)`, so a child process inherits it unless whoever spawns
/// it resets it (Rust's `std::process::Command` resets it to empty).
///
/// A thread-directed signal (`pthread_kill(3)`, `raise(3)`, a fault) is pending for its
/// thread only, and only a signalfd read *on that thread* sees it.
///
/// `SIGKILL` and `SIGSTOP` can be neither blocked nor read: the kernel silently drops
/// them from a mask. [`SignalSet::add`] refuses them with an error instead.
///
/// # Examples
///
/// ```
/// use ply_sys::{SignalFd, SignalSet};
///
/// # fn main() -> std::io::Result<()> {
/// let set = SignalSet::of(&[libc::SIGUSR1])?;
/// let old = ply_sys::block_signals(&set)?;
/// let fd = SignalFd::new(&set)?;
/// // Nothing pending: a nonblocking read says so.
/// assert_eq!(fd.read().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
/// // SAFETY: raise sends a signal to this thread, which blocks it: it stays pending.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// assert_eq!(fd.read()?.signo, libc::SIGUSR1);
/// ply_sys::set_signal_mask(&old)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// A signalfd for `set` ([signalfd(2)] with `SFD_NONBLOCK | SFD_CLOEXEC`).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    ///
    /// [signalfd(2)]: https://man7.org/linux/man-pages/man2/signalfd.2.html
    pub fn new(set: &SignalSet) -> io::Result<SignalFd> {
        let flags = libc::SFD_NONBLOCK | libc::SFD_CLOEXEC;
        // SAFETY: `set` is an initialised sigset_t for the whole call; -1 asks for a
        // new fd.
        let fd = cvt_fd(unsafe { libc::signalfd(-1, set.as_ptr(), flags) })?;
        Ok(SignalFd { fd })
    }

    /// Replaces the set of signals this fd reports.
    ///
    /// # Errors
    ///
    /// `EBADF`, `EINVAL`.
    pub fn set_mask(&self, set: &SignalSet) -> io::Result<()> {
        // SAFETY: `self.fd` is a signalfd this value owns (open for as long as `self`), and
        // `set` points at an initialised sigset_t that lives across the call; flags are
        // ignored when replacing a mask.
        cvt(unsafe { libc::signalfd(self.fd.as_raw_fd(), set.as_ptr(), 0) })?;
        Ok(())
    }

    /// Reads one pending signal ([read(2)] of a `signalfd_siginfo`).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none of the fd's signals is pending.
    ///
    /// [read(2)]: https://man7.org/linux/man-pages/man2/read.2.html
    pub fn read(&self) -> io::Result<SigInfo> {
        // SAFETY: signalfd_siginfo is plain data; all-zero is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
        let size = mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is writable for `size` bytes for the whole call.
        let n = cvt(unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        })?;
        // signalfd(2): a read returns whole structures or fails.
        debug_assert_eq!(n as usize, size);
        Ok(SigInfo {
            signo: info.ssi_signo as i32,
            code: info.ssi_code,
            pid: info.ssi_pid,
            uid: info.ssi_uid,
        })
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<SignalFd> for OwnedFd {
    fn from(s: SignalFd) -> OwnedFd {
        s.fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_refuse_what_cannot_be_caught() {
        let mut set = SignalSet::empty();
        for (signo, ok) in [
            (libc::SIGINT, true),
            (libc::SIGTERM, true),
            (libc::SIGKILL, false),
            (libc::SIGSTOP, false),
            (0, false),
            (65, false),
            (-1, false),
        ] {
            assert_eq!(set.add(signo).is_ok(), ok, "signal {signo}");
            if !ok {
                assert_eq!(
                    set.add(signo).unwrap_err().kind(),
                    io::ErrorKind::InvalidInput
                );
            }
        }
        assert!(set.contains(libc::SIGINT) && set.contains(libc::SIGTERM));
        assert!(!set.contains(libc::SIGKILL));
        assert_eq!(
            format!("{set:?}"),
            format!("{{{}, {}}}", libc::SIGINT, libc::SIGTERM)
        );
    }
}

//! [`Backend`]: the one place that chooses the kernel mechanism, from code or from
//! [`SELECTOR_ENV`].

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::OnceLock;

/// Which kernel mechanism a [`Selector`](crate::Selector) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// [epoll(7)], edge-triggered: O(ready) per wait. The default.
    Epoll,
    /// [io_uring(7)] multishot `IORING_OP_POLL_ADD`: O(ready) per wait, and one ring that
    /// completion I/O can share ([`Selector::uring`](crate::Selector::uring)). Refused in
    /// many containers (seccomp); as the default (`PLY_SELECTOR=uring`) it then falls
    /// back to epoll.
    ///
    /// [io_uring(7)]: https://man7.org/linux/man-pages/man7/io_uring.7.html
    Uring,
    /// [poll(2)]: O(registered) per wait; the portable POSIX fallback.
    ///
    /// [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
    Poll,
    /// [select(2)]: O(highest fd) per wait; refuses fds >= `FD_SETSIZE` (1024).
    ///
    /// [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html
    Select,
}

/// The environment variable that chooses the default backend: `epoll`, `uring`, `poll` or
/// `select`.
pub const SELECTOR_ENV: &str = "PLY_SELECTOR";

impl Backend {
    /// Every backend, the default first.
    ///
    /// Uring is in the list: every test that loops over `ALL` runs on it. Where io_uring
    /// is refused, `Selector::with_backend(Backend::Uring)` is the clear error.
    pub const ALL: [Backend; 4] = [
        Backend::Epoll,
        Backend::Uring,
        Backend::Poll,
        Backend::Select,
    ];

    /// The backend's name as `PLY_SELECTOR` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Uring => "uring",
            Backend::Poll => "poll",
            Backend::Select => "select",
        }
    }

    /// The default backend: the one named by the `PLY_SELECTOR` environment variable, or
    /// epoll if it is unset or empty. The variable is read once per process.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `PLY_SELECTOR` names no backend (the message says what it holds
    /// and what is accepted). The error is returned every time, so a typo in the variable
    /// never silently falls back to another backend.
    pub fn from_env() -> io::Result<Backend> {
        static CHOICE: OnceLock<Result<Backend, String>> = OnceLock::new();
        let choice = CHOICE.get_or_init(|| match std::env::var(SELECTOR_ENV) {
            Ok(v) if !v.is_empty() => v.parse::<Backend>().map_err(|e| e.to_string()),
            _ => Ok(Backend::Epoll),
        });
        choice
            .clone()
            .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<Backend> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{SELECTOR_ENV}={s:?}: expected one of epoll, uring, poll, select"),
                )
            })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

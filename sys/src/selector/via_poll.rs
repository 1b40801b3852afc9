//! The poll backend: [poll(2)] over the userspace interest list of `emulated.rs`.
//!
//! Each wait hands the kernel an array of every armed fd, and the kernel checks each one:
//! O(registered fds) per wait, however few are ready. [ppoll(2)] is used for its
//! nanosecond timeout, so short timeouts are neither rounded to zero nor up to a whole
//! millisecond.
//!
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [ppoll(2)]: https://man7.org/linux/man-pages/man2/ppoll.2.html

use super::emulated::{poll_event_flags, poll_events, Armed, Emulated, Mechanism, Registry};
use super::Events;
use crate::cvt::cvt;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

/// The poll backend: the shared [`Emulated`] bookkeeping around a ppoll(2) wait.
pub(crate) type Selector = Emulated<Poll>;

/// The poll(2) wait.
#[derive(Debug)]
pub(crate) struct Poll {
    /// Buffers reused by each wait; the lock also keeps waits one at a time.
    scratch: Mutex<Scratch>,
}

#[derive(Debug, Default)]
struct Scratch {
    armed: Vec<Armed>,
    pollfds: Vec<libc::pollfd>,
}

impl Mechanism for Poll {
    fn new(_registry: &Registry) -> io::Result<Poll> {
        Ok(Poll {
            scratch: Mutex::new(Scratch::default()),
        })
    }

    fn select(
        &self,
        registry: &Registry,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let Scratch { armed, pollfds } = &mut *guard;
        registry.begin_wait(armed);

        pollfds.clear();
        pollfds.push(libc::pollfd {
            fd: registry.wake_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        pollfds.extend(armed.iter().map(|a| libc::pollfd {
            fd: a.fd,
            events: poll_events(a.armed),
            revents: 0,
        }));

        let ts = timeout.map(timespec);
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `pollfds` is a valid array of `len` pollfd structs that the kernel may
        // write `revents` into; `ts_ptr` is null or points at `ts`, alive across the call;
        // a null sigmask leaves the signal mask alone.
        let res = cvt(unsafe {
            libc::ppoll(
                pollfds.as_mut_ptr(),
                pollfds.len() as libc::nfds_t,
                ts_ptr,
                std::ptr::null(),
            )
        });
        let n = match res {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => {
                registry.finish_wait(false, std::iter::empty(), events)?;
                return Err(e);
            }
        };
        let woken = n > 0 && pollfds[0].revents != 0;
        let ready = armed
            .iter()
            .zip(&pollfds[1..])
            .filter(|(_, p)| p.revents != 0)
            .map(|(a, p)| (a.fd, a.token, poll_event_flags(p.revents)));
        registry.finish_wait(woken, ready, events)
    }
}

/// A `Duration` as a `timespec`, saturating at the largest representable time.
pub(super) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    }
}

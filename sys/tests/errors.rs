//! Bad input gets a clear error, never a panic, a hang or undefined behaviour.

mod util;

use ply_sys::epoll::{Epoll, EpollFlags};
use ply_sys::{Backend, Interest, Selector, Token};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
// Tests here reuse fd numbers on purpose (a closed fd), so they run one at a time
// (`serial`): a parallel test could otherwise open a new fd under a number this one
// just closed.
use util::{backends, serial};

fn closed_fd() -> i32 {
    let (r, _w) = ply_sys::pipe().unwrap();
    let fd = r.as_raw_fd();
    drop(r);
    fd
}

#[test]
fn a_closed_or_invalid_fd_is_ebadf() {
    let _serial = serial();
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        for fd in [closed_fd(), -1, 999_999] {
            let err = sel.register(fd, Token(1), Interest::READABLE).unwrap_err();
            if backend == Backend::Select && fd >= libc::FD_SETSIZE as i32 {
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{backend} fd {fd}");
            } else {
                assert_eq!(
                    err.raw_os_error(),
                    Some(libc::EBADF),
                    "{backend} fd {fd}: {err}"
                );
            }
        }
    }
}

#[test]
fn registering_twice_is_already_exists() {
    let _serial = serial();
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, _w) = ply_sys::pipe().unwrap();
        sel.register(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
        let err = sel
            .register(r.as_raw_fd(), Token(2), Interest::READABLE)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{backend}");
    }
}

#[test]
fn deleting_what_was_never_added_is_not_found() {
    let _serial = serial();
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, _w) = ply_sys::pipe().unwrap();
        let err = sel.deregister(r.as_raw_fd()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{backend}");
        let err = sel
            .reregister(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{backend}");
        // A rearm racing a deregister is normal: ignored, not an error.
        sel.rearm(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
    }
}

#[test]
fn the_reserved_token_and_an_unknown_backend_are_invalid_input() {
    let _serial = serial();
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, _w) = ply_sys::pipe().unwrap();
        let err = sel
            .register(r.as_raw_fd(), Token(usize::MAX), Interest::READABLE)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{backend}");
    }
    for name in ["", "kqueue", "epol"] {
        let err = name.parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("PLY_SELECTOR"), "{err}");
    }
}

/// Raises the soft fd limit so that fds >= FD_SETSIZE can exist.
fn allow_high_fds(min: u64) -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return false;
    }
    if lim.rlim_cur >= min {
        return true;
    }
    if lim.rlim_max < min {
        return false;
    }
    lim.rlim_cur = min;
    // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one is allowed.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

#[test]
fn select_refuses_an_fd_at_or_above_fd_setsize() {
    let _serial = serial();
    if !allow_high_fds(2048) {
        eprintln!("cannot raise RLIMIT_NOFILE to 2048 here; skipping");
        return;
    }
    let (r, _w) = ply_sys::pipe().unwrap();
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd >= 1500 that we own (or -1).
    let high = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 1500) };
    assert!(
        high >= 1500,
        "dup failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `high` is a new fd nothing else owns.
    let high = unsafe { OwnedFd::from_raw_fd(high) };

    let sel = Selector::with_backend(Backend::Select).unwrap();
    let err = sel
        .register(high.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("FD_SETSIZE"), "{err}");

    // The other backends take it.
    for backend in [Backend::Epoll, Backend::Poll] {
        let sel = Selector::with_backend(backend).unwrap();
        sel.register(high.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
    }
}

#[test]
fn raw_epoll_errors() {
    let _serial = serial();
    let epoll = Epoll::new().unwrap();
    // A regular file cannot be watched by epoll.
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let err = epoll.add(file.as_raw_fd(), 0, EpollFlags::IN).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    // An events buffer with no room is refused instead of passed to the kernel.
    let err = epoll
        .wait(&mut Vec::new(), Some(std::time::Duration::ZERO))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        epoll.delete(closed_fd()).unwrap_err().raw_os_error(),
        Some(libc::EBADF)
    );
}

#[test]
fn bad_socket_arguments() {
    let _serial = serial();
    let s = ply_sys::Socket::tcp_for(&"127.0.0.1:0".parse().unwrap()).unwrap();
    assert_eq!(s.set_ttl(256).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(s.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    // An IPv4 socket cannot bind an IPv6 address.
    assert!(s.bind(&"[::1]:0".parse().unwrap()).is_err());
}

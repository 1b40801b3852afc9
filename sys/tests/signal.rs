//! signalfd against the real kernel: a blocked signal becomes readable, under every
//! selector backend; the mask is per thread and inherited by threads created later;
//! what cannot be caught is refused.
//!
//! Every signal here is thread-directed (`raise`, `pthread_kill`) at a thread that
//! blocks it, so it stays pending for that thread and cannot reach (and kill) the test
//! harness's other threads.

mod util;

use ply_sys::{Interest, SignalFd, SignalSet, Token};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` with `signo` blocked on this thread, restoring the mask afterwards.
fn with_blocked<R>(signo: i32, f: impl FnOnce(&SignalSet) -> R) -> R {
    let set = SignalSet::of(&[signo]).unwrap();
    let old = ply_sys::block_signals(&set).unwrap();
    let out = f(&set);
    ply_sys::set_signal_mask(&old).unwrap();
    out
}

#[test]
fn a_blocked_signal_is_read_from_the_fd_under_every_backend() {
    let _w = util::watchdog("signalfd", Duration::from_secs(30));
    with_blocked(libc::SIGUSR1, |set| {
        for backend in util::backends() {
            let fd = SignalFd::new(set).unwrap();
            assert_eq!(fd.read().unwrap_err().kind(), ErrorKind::WouldBlock);
            let selector = ply_sys::Selector::with_backend(backend).unwrap();
            selector
                .register(fd.as_raw_fd(), Token(7), Interest::READABLE)
                .unwrap();
            // SAFETY: raise sends SIGUSR1 to this thread, which blocks it.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
            let event = util::wait_for(&selector, Token(7), Duration::from_secs(5))
                .unwrap_or_else(|| panic!("{backend:?}: no event for the signal"));
            assert!(event.is_readable());
            let info = fd.read().unwrap();
            assert_eq!(info.signo, libc::SIGUSR1);
            assert_eq!(info.code, libc::SI_TKILL, "raise is tgkill");
            assert_eq!(info.pid, std::process::id());
            // Read once: standard signals do not queue, and it is gone now.
            assert_eq!(fd.read().unwrap_err().kind(), ErrorKind::WouldBlock);
            selector.deregister(fd.as_raw_fd()).unwrap();
        }
    });
}

#[test]
fn standard_signals_coalesce_while_pending() {
    with_blocked(libc::SIGUSR2, |set| {
        let fd = SignalFd::new(set).unwrap();
        for _ in 0..3 {
            // SAFETY: raise(3) has no memory preconditions; SIGUSR2 is blocked on this
            // thread (`with_blocked`), so it stays pending for the signalfd.
            unsafe { libc::raise(libc::SIGUSR2) };
        }
        assert_eq!(fd.read().unwrap().signo, libc::SIGUSR2);
        assert_eq!(fd.read().unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn the_mask_is_per_thread_and_inherited_only_by_threads_created_after() {
    let _w = util::watchdog("signal mask", Duration::from_secs(30));
    let signo = libc::SIGWINCH;
    // A thread that exists before the block...
    let (go, wait) = mpsc::channel::<()>();
    let before = std::thread::spawn(move || {
        wait.recv().unwrap();
        ply_sys::blocked_signals().unwrap().contains(signo)
    });
    with_blocked(signo, |set| {
        assert!(ply_sys::blocked_signals().unwrap().contains(signo));
        // ...keeps its own mask; one created after inherits ours.
        go.send(()).unwrap();
        assert!(
            !before.join().unwrap(),
            "an older thread must not see our block"
        );
        let after = std::thread::spawn(move || ply_sys::blocked_signals().unwrap().contains(signo));
        assert!(after.join().unwrap(), "a newer thread inherits the block");

        // A signal pending for this thread is invisible to a signalfd read elsewhere.
        // SAFETY: raise(3) has no memory preconditions; SIGWINCH is blocked on this thread
        // here, so it stays pending instead of running a handler.
        unsafe { libc::raise(signo) };
        let set = *set;
        let other =
            std::thread::spawn(move || SignalFd::new(&set).unwrap().read().map(|i| i.signo));
        assert_eq!(
            other.join().unwrap().unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let fd = SignalFd::new(&set).unwrap();
        assert_eq!(
            fd.read().unwrap().signo,
            signo,
            "read on the thread it was sent to"
        );
    });
}

#[test]
fn set_mask_changes_what_the_fd_reports() {
    with_blocked(libc::SIGUSR1, |set| {
        let fd = SignalFd::new(&SignalSet::empty()).unwrap();
        // SAFETY: raise(3) has no memory preconditions; SIGUSR1 is blocked on this thread
        // (`with_blocked`), so it stays pending for the signalfd.
        unsafe { libc::raise(libc::SIGUSR1) };
        assert_eq!(fd.read().unwrap_err().kind(), ErrorKind::WouldBlock);
        fd.set_mask(set).unwrap();
        assert_eq!(fd.read().unwrap().signo, libc::SIGUSR1);
    });
}

#[test]
fn sigkill_and_sigstop_are_refused() {
    for signo in [libc::SIGKILL, libc::SIGSTOP] {
        let err = SignalSet::of(&[libc::SIGINT, signo]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("cannot be caught"), "{err}");
    }
    assert!(SignalSet::of(&[1000]).is_err());
}

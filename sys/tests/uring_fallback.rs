//! Where io_uring is refused: a child process of this test installs a seccomp filter that
//! answers `io_uring_setup` with `EPERM` (what container runtimes do), then checks that the
//! uring backend is a clear error, and that the default selector asked for uring
//! (`PLY_SELECTOR=uring`) falls back to epoll, says so in its stats, and still serves.

mod util;

use ply_sys::{Backend, Interest, Selector, Token};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::process::Command;
use std::time::Duration;
use util::{wait_for, watchdog};

/// Set in the child's environment: run the checks instead of spawning.
const CHILD_ENV: &str = "PLY_URING_SECCOMP_CHILD";
/// Printed by the child when every check passed.
const CHILD_OK: &str = "uring-fallback-child-ok";

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

/// One classic-BPF instruction (`struct sock_filter`, linux/filter.h).
#[repr(C)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// Installs, on this thread, a seccomp filter ([seccomp(2)]) that fails `io_uring_setup`
/// with `EPERM` and allows everything else.
///
/// [seccomp(2)]: https://man7.org/linux/man-pages/man2/seccomp.2.html
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn refuse_io_uring_setup() -> io::Result<()> {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
    const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
                                        // struct seccomp_data: nr at offset 0, arch at offset 4.
    let prog = [
        SockFilter {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 4,
        },
        SockFilter {
            code: JEQ_K,
            jt: 0,
            jf: 3,
            k: AUDIT_ARCH,
        },
        SockFilter {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        SockFilter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        SockFilter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ERRNO | libc::EPERM as u32,
        },
        SockFilter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        },
    ];
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only; it lets an unprivileged process
    // install a filter.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fprog` points at `prog`, both alive across the call; the kernel copies the
    // program and keeps no pointer to it.
    if unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &fprog as *const SockFprog,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The child's checks, under the filter.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn child() {
    refuse_io_uring_setup().expect("install the seccomp filter");

    let e = ply_sys::uring::Ring::new(8).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("seccomp"), "{e}");
    let e = Selector::with_backend(Backend::Uring).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");

    assert_eq!(Backend::from_env().unwrap(), Backend::Uring);
    let sel = Selector::new().expect("the default selector falls back, never fails");
    assert_eq!(sel.backend(), Backend::Epoll);
    assert_eq!(sel.stats().fell_back_from, Some(Backend::Uring));
    assert!(sel.uring().is_none());

    // And it serves.
    let (r, w) = ply_sys::pipe().unwrap();
    sel.register(r.as_raw_fd(), Token(3), Interest::READABLE)
        .unwrap();
    ply_sys::write(w.as_fd(), b"!").unwrap();
    let e = wait_for(&sel, Token(3), Duration::from_secs(5)).expect("an event on epoll");
    assert!(e.is_readable());
    sel.deregister(r.as_raw_fd()).unwrap();
    println!("{CHILD_OK}");
}

#[test]
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn a_child_refused_io_uring_by_seccomp_falls_back_to_epoll_and_serves() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    let _w = watchdog("seccomp child", Duration::from_secs(60));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_child_refused_io_uring_by_seccomp_falls_back_to_epoll_and_serves",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("PLY_SELECTOR", "uring")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn the_default_selector_without_a_refusal_reports_no_fallback() {
    let sel = Selector::with_backend(Backend::Epoll).unwrap();
    assert_eq!(sel.stats().fell_back_from, None);
}

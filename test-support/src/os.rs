//! The process and the machine: fds, limits, IPv6, scratch directories.

use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How many fds this process has open now (the entries of `/proc/self/fd`).
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read: the fd-leak tests need it.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Raises the soft `RLIMIT_NOFILE` to at least `want` (within the hard limit).
///
/// # Panics
///
/// If the hard limit is below `want`: the test needs that many fds.
pub fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into `lim`, a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    if lim.rlim_cur >= want {
        return;
    }
    assert!(
        lim.rlim_max >= want,
        "this test needs {want} fds; the hard RLIMIT_NOFILE is {}",
        lim.rlim_max
    );
    lim.rlim_cur = want;
    // SAFETY: setrlimit only reads `lim`, a valid rlimit whose soft limit is within the
    // hard one (checked above).
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Whether this machine has IPv6 loopback.
pub fn has_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Blocks in poll(2) for up to `limit` until `fd` has one of `events` (`libc::POLLIN`...).
///
/// # Panics
///
/// If it does not within `limit`, or poll fails.
pub fn wait_fd(fd: RawFd, events: i16, limit: Duration) {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfd` is one valid, writable pollfd and the count passed is 1.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    assert_eq!(
        n,
        1,
        "fd {fd} not ready for {events:#x} within {limit:?}: {}",
        io::Error::last_os_error()
    );
}

/// Runs `curl -sS --max-time 5` with `args` and returns its stdout; `None` if curl is not
/// installed (CI installs it), so a test can skip rather than fail on a bare machine.
///
/// # Panics
///
/// If curl fails (a non-zero exit: no answer, a refused connection) or answers with
/// bytes that are not UTF-8.
pub fn curl(args: &[&str]) -> Option<String> {
    let out = match std::process::Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => panic!("running curl: {e}"),
    };
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("a UTF-8 answer"))
}

/// Makes the tests of one binary that call it take turns (hold the guard for the test),
/// so that, say, the fd-count tests see only their own fds. A test that panicked while
/// holding it does not poison the others.
pub fn serial() -> MutexGuard<'static, ()> {
    // One per test binary: each links its own copy of this crate.
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh directory under the system temp dir, removed (with its contents) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `ply-test-<pid>-<n>` under [`std::env::temp_dir`].
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ply-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.0
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_dir_is_removed_and_fds_are_counted() {
        let before = fd_count();
        let dir = TempDir::new();
        let file = std::fs::File::create(dir.path("f")).unwrap();
        assert_eq!(fd_count(), before + 1);
        drop(file);
        let path = dir.root().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}

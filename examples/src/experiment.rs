//! What the experiments (`experiment_*`) share besides [`crate::args`],
//! [`crate::compare`], [`crate::plot`], [`crate::proc`] and [`crate::rng`]: where figures
//! go and the fd limit.

pub use crate::args::{arg_or, arg_switch, only};
pub use crate::proc::machine;

use std::io;
use std::path::PathBuf;

/// `docs/figures/` in the repository: where every experiment writes its CSV and SVG.
pub fn figures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/figures")
}

/// Raises the soft limit on open files to the hard limit ([getrlimit(2)]); returns the
/// new soft limit.
///
/// # Errors
///
/// If the limit cannot be read or set.
///
/// [getrlimit(2)]: https://man7.org/linux/man-pages/man2/getrlimit.2.html
pub fn raise_fd_limit() -> io::Result<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one
        // needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX))
}

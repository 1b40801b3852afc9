//! The one place where a libc return value becomes an `io::Result`.

use std::io;

/// Integer types a syscall returns, where `-1` means "failed, see errno".
pub(crate) trait MinusOne: Copy + PartialEq {
    /// The failure sentinel.
    const MINUS_ONE: Self;
}

impl MinusOne for i32 {
    const MINUS_ONE: Self = -1;
}

impl MinusOne for isize {
    const MINUS_ONE: Self = -1;
}

impl MinusOne for i64 {
    const MINUS_ONE: Self = -1;
}

/// Maps a syscall's `-1` to `io::Error::last_os_error()` (errno preserved), and anything
/// else to `Ok`. Call it on the line of the syscall, before anything can clobber errno.
pub(crate) fn cvt<T: MinusOne>(ret: T) -> io::Result<T> {
    if ret == T::MINUS_ONE {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`] for a call that returns a new file descriptor: the fd becomes an
/// [`OwnedFd`](std::os::fd::OwnedFd) at once, so no error path can leak it.
pub(crate) fn cvt_fd(ret: i32) -> io::Result<std::os::fd::OwnedFd> {
    let fd = cvt(ret)?;
    // SAFETY: the kernel just returned `fd` as a new descriptor (not -1) and nothing else
    // owns it: we take sole ownership here, on the line after its creation.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_is_the_last_os_error_and_anything_else_is_ok() {
        for (ret, ok) in [(0i32, true), (5, true), (-1, false), (-2, true)] {
            assert_eq!(cvt(ret).is_ok(), ok, "ret {ret}");
        }
        assert!(cvt(-1isize).is_err());
        assert_eq!(cvt(7isize).unwrap(), 7);
    }
}

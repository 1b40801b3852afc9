//! What the datagram and Unix-domain sockets share: [sendmsg(2)]/[recvmsg(2)] with an
//! address, the `MSG_TRUNC` report and `SCM_RIGHTS` fd passing ([unix(7)], [cmsg(3)]).
//! (Their socket options are in `socket_options.rs`, with TCP's.)
//!
//! # Passing fds
//!
//! [`send_fds`] attaches fds to a message as one `SCM_RIGHTS` control message; the
//! kernel installs duplicates of them in the receiver's fd table when the message is
//! read. [`recv_fds`] reads with `MSG_CMSG_CLOEXEC`, so a received fd is close-on-exec
//! from the moment it exists, and wraps each one in an [`OwnedFd`] on the line where it
//! comes out of the control buffer. Fds the caller did not make room for are closed at
//! once, never leaked: the kernel drops the ones that do not fit the control buffer
//! (and sets `MSG_CTRUNC`), and the ones that fit the buffer's alignment padding but are
//! beyond the caller's `max_fds` are closed here. Either way the result says
//! [`fds_truncated`](RecvMsg::fds_truncated).
//!
//! [sendmsg(2)]: https://man7.org/linux/man-pages/man2/sendmsg.2.html
//! [recvmsg(2)]: https://man7.org/linux/man-pages/man2/recvmsg.2.html
//! [unix(7)]: https://man7.org/linux/man-pages/man7/unix.7.html
//! [cmsg(3)]: https://man7.org/linux/man-pages/man3/cmsg.3.html

use crate::cvt::cvt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What one [recvmsg(2)] reported besides the bytes.
///
/// [recvmsg(2)]: https://man7.org/linux/man-pages/man2/recvmsg.2.html
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvMsg {
    /// How many bytes were written into the buffers.
    pub len: usize,
    /// `MSG_TRUNC`: the datagram was longer than the buffers, and its tail is gone
    /// (datagram sockets only; a stream keeps the rest for the next read).
    pub truncated: bool,
    /// More fds came than the caller made room for; the extra ones were closed.
    pub fds_truncated: bool,
}

/// The most fds one message may carry (`UnixSocket::send_with_fds`): the kernel's
/// `SCM_MAX_FD` (see unix(7)).
pub const SCM_MAX_FD: usize = 253;

/// The raw sendmsg: `name` is an optional (pointer, length) address, `control` an optional
/// control buffer already filled in. Always `MSG_NOSIGNAL`.
pub(crate) fn sendmsg(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    name: Option<(*const libc::sockaddr, libc::socklen_t)>,
    control: &mut [u8],
) -> io::Result<usize> {
    // SAFETY: msghdr is plain old data; all-zero is "no address, no control data".
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some((ptr, len)) = name {
        // sendmsg only reads the address; the field is *mut only by C's declaration.
        msg.msg_name = ptr as *mut libc::c_void;
        msg.msg_namelen = len;
    }
    // sendmsg never writes through msg_iov either.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    if !control.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len() as _;
    }
    // SAFETY: IoSlice is ABI-compatible with iovec on Unix; every buffer, the address and
    // the control buffer are valid for reads for the whole call, and `msg` points only at
    // them.
    let n = cvt(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })?;
    Ok(n as usize)
}

/// Sends `bufs` with `fds` attached as one `SCM_RIGHTS` control message ([sendmsg(2)],
/// `MSG_NOSIGNAL`). The receiver gets its own duplicates; ours stay open. `name` is an
/// optional destination address for an unconnected datagram socket.
///
/// # Errors
///
/// `InvalidInput` for more than [`SCM_MAX_FD`] fds (or none, for which plain send is the
/// call), and those of sendmsg(2): `WouldBlock`, `EPIPE`, `ETOOMANYREFS` (the receiver's
/// fd budget for in-flight fds), `EBADF`.
///
/// [sendmsg(2)]: https://man7.org/linux/man-pages/man2/sendmsg.2.html
pub(crate) fn send_fds(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
    name: Option<(*const libc::sockaddr, libc::socklen_t)>,
) -> io::Result<usize> {
    if fds.is_empty() || fds.len() > SCM_MAX_FD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("send_fds passes 1..={SCM_MAX_FD} fds, not {}", fds.len()),
        ));
    }
    let data_len = mem::size_of_val(fds) as libc::c_uint;
    // SAFETY: CMSG_SPACE is pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    // u64 words so the buffer is aligned for a cmsghdr (which holds a size_t).
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a zeroed msghdr pointing at our control buffer, only for the CMSG_* macros.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer is `space` bytes, aligned, and large enough for one
    // header and `data_len` bytes of data (that is what CMSG_SPACE computes), so
    // CMSG_FIRSTHDR returns a valid header pointer into it, and CMSG_DATA a pointer with
    // room for `fds.len()` c_ints, written unaligned as cmsg(3) advises.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(data_len) as _;
        let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
        for (i, f) in fds.iter().enumerate() {
            data.add(i).write_unaligned(f.as_raw_fd());
        }
    }
    // SAFETY: u64 has no padding; viewing the initialised words as bytes is sound.
    let bytes = unsafe { std::slice::from_raw_parts_mut(control.as_mut_ptr().cast(), space) };
    sendmsg(fd, bufs, name, bytes)
}

/// Receives into `bufs` with room for up to `max_fds` passed fds ([recvmsg(2)] with
/// `MSG_CMSG_CLOEXEC`), pushing each received fd onto `fds` as an [`OwnedFd`]. `name`, if
/// given, is a (pointer, in/out length) buffer for the sender's address.
///
/// # Errors
///
/// Those of recvmsg(2): `WouldBlock`, `ECONNRESET`, `EBADF`.
///
/// [recvmsg(2)]: https://man7.org/linux/man-pages/man2/recvmsg.2.html
pub(crate) fn recv_fds(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
    name: Option<(*mut libc::sockaddr, &mut libc::socklen_t)>,
    flags: i32,
) -> io::Result<RecvMsg> {
    let max_fds = max_fds.min(SCM_MAX_FD);
    let space = if max_fds == 0 {
        0
    } else {
        let data_len = (max_fds * mem::size_of::<libc::c_int>()) as libc::c_uint;
        // SAFETY: CMSG_SPACE is pure arithmetic.
        let space = unsafe { libc::CMSG_SPACE(data_len) };
        space as usize
    };
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: msghdr is plain old data; all-zero is "no address, no control data".
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let mut name_len_out = None;
    if let Some((ptr, len)) = name {
        msg.msg_name = ptr.cast();
        msg.msg_namelen = *len;
        name_len_out = Some(len);
    }
    msg.msg_iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len() as _;
    if space > 0 {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
    }
    // SAFETY: IoSliceMut is ABI-compatible with iovec; the buffers, the address buffer
    // (of `msg_namelen` bytes) and the control buffer (of `space` bytes, aligned) are all
    // valid for writes for the whole call.
    let n =
        cvt(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags | libc::MSG_CMSG_CLOEXEC) })?;
    if let Some(len) = name_len_out {
        *len = msg.msg_namelen;
    }
    let mut fds_truncated = msg.msg_flags & libc::MSG_CTRUNC != 0;
    let start = fds.len();
    if space > 0 {
        // SAFETY: the kernel filled in `msg_controllen` bytes of well-formed control
        // messages in our buffer; CMSG_FIRSTHDR/CMSG_NXTHDR walk only within it.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: `cmsg` is a valid header inside the control buffer (see above).
            let (level, ty, len) =
                unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
            if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
                // SAFETY: CMSG_LEN(0) is pure arithmetic.
                let header = unsafe { libc::CMSG_LEN(0) } as usize;
                // cmsg_len is a size_t with glibc but a u32 with musl.
                #[allow(clippy::unnecessary_cast)]
                let len = len as usize;
                let count = len.saturating_sub(header) / mem::size_of::<libc::c_int>();
                // SAFETY: the data of an SCM_RIGHTS message is `count` c_ints, read
                // unaligned as cmsg(3) advises.
                let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
                for i in 0..count {
                    // SAFETY: `i < count`, within this message's data (see above).
                    let raw = unsafe { data.add(i).read_unaligned() };
                    // SAFETY: the kernel installed `raw` in our fd table just now
                    // (close-on-exec, by MSG_CMSG_CLOEXEC) and nothing else knows of it:
                    // it is ours from this line.
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    if fds.len() - start < max_fds {
                        fds.push(owned);
                    } else {
                        // Beyond what the caller asked for (the buffer's alignment can fit
                        // more): dropping closes it.
                        drop(owned);
                        fds_truncated = true;
                    }
                }
            }
            // SAFETY: `msg` is the header the kernel filled, its control buffer is alive and
            // `cmsg` is a header inside it; NXTHDR checks the buffer's bounds and returns
            // null past its end.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
    }
    Ok(RecvMsg {
        len: n as usize,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        fds_truncated,
    })
}

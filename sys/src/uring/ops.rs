//! SQE constructors for the completion operations ply's streams use: multishot accept,
//! multishot recv into a provided-buffer ring, and send.
//!
//! Each function only fills an [`Sqe`]; nothing is submitted. Building an SQE is safe;
//! pushing it ([`Ring::push`](super::Ring::push)) is `unsafe`, because the memory it names
//! (a send's bytes, a recv's buffer group) must outlive its completions, which only the
//! caller can know.
//!
//! | constructor | opcode | kernel | completions |
//! |---|---|---|---|
//! | [`accept_multishot`] | `IORING_OP_ACCEPT` + `IORING_ACCEPT_MULTISHOT` | 5.19 | one per connection (`res` = the new fd), `MORE` until it ends |
//! | [`recv_multishot`] | `IORING_OP_RECV` + `IORING_RECV_MULTISHOT`, `IOSQE_BUFFER_SELECT` | 6.0 | one per chunk received (`res` = bytes, buffer id in `flags`), `MORE` until end of stream, an error or `-ENOBUFS` |
//! | [`send`] | `IORING_OP_SEND`, `MSG_NOSIGNAL` | 5.6 | one (`res` = bytes sent, possibly fewer than asked) |
//!
//! See [io_uring_prep_multishot_accept(3)], [io_uring_prep_recv_multishot(3)] and
//! [io_uring_prep_send(3)].
//!
//! [io_uring_prep_multishot_accept(3)]: https://man7.org/linux/man-pages/man3/io_uring_prep_multishot_accept.3.html
//! [io_uring_prep_recv_multishot(3)]: https://man7.org/linux/man-pages/man3/io_uring_prep_recv_multishot.3.html
//! [io_uring_prep_send(3)]: https://man7.org/linux/man-pages/man3/io_uring_prep_send.3.html

use super::abi::{IORING_ACCEPT_MULTISHOT, IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT};
use super::{opcode, Sqe};
use std::os::fd::RawFd;

/// A multishot accept on listening socket `fd`: every connection it accepts posts a
/// completion whose `res` is the new fd (nonblocking and close-on-exec), until the
/// operation is cancelled or fails (a completion without `MORE`). No peer address is
/// asked for (`getpeername` gives it when wanted), so the SQE carries no pointer.
pub fn accept_multishot(fd: RawFd, user_data: u64) -> Sqe {
    let mut sqe = Sqe::nop(user_data);
    sqe.opcode = opcode::ACCEPT;
    sqe.fd = fd;
    sqe.ioprio = IORING_ACCEPT_MULTISHOT;
    sqe.op_flags = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32;
    sqe
}

/// A multishot recv on socket `fd` into buffers picked from buffer group `buf_group` (a
/// [`BufRing`](super::BufRing)): every chunk posts a completion with the byte count in
/// `res` and the buffer's id in its flags. It ends (a completion without `MORE`) at end of
/// stream (`res == 0`), on an error, or with `-ENOBUFS` when the group has no buffer left.
pub fn recv_multishot(fd: RawFd, buf_group: u16, user_data: u64) -> Sqe {
    let mut sqe = Sqe::nop(user_data);
    sqe.opcode = opcode::RECV;
    sqe.fd = fd;
    sqe.ioprio = IORING_RECV_MULTISHOT;
    sqe.flags = IOSQE_BUFFER_SELECT;
    sqe.set_buf_group(buf_group);
    sqe
}

/// A send of `len` bytes at `ptr` on socket `fd`, with `MSG_NOSIGNAL` (a closed peer is
/// an `-EPIPE` result, never a `SIGPIPE`). The completion's `res` is the number of bytes
/// sent, which may be fewer than `len` on a stream socket: send the rest after it.
///
/// Pushing it is what needs care: `ptr..ptr + len` must stay valid and unchanged until the
/// completion is reaped.
pub fn send(fd: RawFd, ptr: *const u8, len: u32, user_data: u64) -> Sqe {
    let mut sqe = Sqe::nop(user_data);
    sqe.opcode = opcode::SEND;
    sqe.fd = fd;
    sqe.addr = ptr as u64;
    sqe.len = len;
    sqe.op_flags = libc::MSG_NOSIGNAL as u32;
    sqe
}

//! [`Sqe`] and [`Cqe`]: the entries of the two rings, in the kernel's layout.

use super::abi::{
    opcode, IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, IORING_POLL_ADD_MULTI,
    IORING_POLL_UPDATE_EVENTS, IORING_POLL_UPDATE_USER_DATA,
};
use std::os::fd::RawFd;

/// A submission queue entry: `struct io_uring_sqe`, 64 bytes.
///
/// The kernel's struct is a set of unions; each field here is named after its most common
/// member, and its doc lists the others. An all-zero `Sqe` ([`Default`]) is a NOP with no
/// flags. Prepare an opcode without a constructor by setting the fields its man page
/// ([io_uring_enter(2)]) lists.
///
/// [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sqe {
    /// The operation ([`opcode`]).
    pub opcode: u8,
    /// `IOSQE_*` flags.
    pub flags: u8,
    /// Request priority; for accept/recv/send, `IORING_ACCEPT_*`/`IORING_RECV*` flags.
    pub ioprio: u16,
    /// The file descriptor (or fixed-file index with `IOSQE_FIXED_FILE`).
    pub fd: i32,
    /// File offset; also `addr2` (e.g. accept's `addrlen` pointer), or the new user_data of
    /// a poll update.
    pub off: u64,
    /// Buffer address; also the target user_data of a poll remove or cancel.
    pub addr: u64,
    /// Buffer length or iovec count; for poll add/remove, `IORING_POLL_*` flags.
    pub len: u32,
    /// The per-opcode flags union: `rw_flags`, `poll32_events`, `msg_flags`,
    /// `accept_flags`, `cancel_flags`, ...
    pub op_flags: u32,
    /// Returned unchanged in the operation's CQE(s).
    pub user_data: u64,
    /// Fixed-buffer index, or with `IOSQE_BUFFER_SELECT` the provided-buffer group
    /// (`buf_group`, see [`Sqe::buf_group`]).
    pub buf_index: u16,
    /// Credentials registered with `IORING_REGISTER_PERSONALITY`.
    pub personality: u16,
    /// `splice_fd_in`, `file_index` (direct descriptors) or `addr_len`.
    pub file_index: u32,
    /// `addr3`, a third address for some opcodes.
    pub addr3: u64,
    /// Padding (`__pad2`); the first half of the 80-byte command of `URING_CMD`.
    pub pad2: u64,
}

const _: () = assert!(std::mem::size_of::<Sqe>() == 64);
const _: () = assert!(std::mem::align_of::<Sqe>() == 8);

/// A poll mask as the kernel's `poll32_events` field wants it: on big-endian machines the
/// two 16-bit halves are swapped (io_uring_enter(2), `IORING_OP_POLL_ADD`).
fn poll32(events: u32) -> u32 {
    if cfg!(target_endian = "big") {
        events.rotate_left(16)
    } else {
        events
    }
}

impl Sqe {
    /// `IORING_OP_NOP`: completes at once with `res == 0`.
    pub fn nop(user_data: u64) -> Sqe {
        Sqe {
            opcode: opcode::NOP,
            user_data,
            ..Sqe::default()
        }
    }

    /// `IORING_OP_POLL_ADD`: a CQE with the ready `POLL*` mask in `res` when `fd` has one
    /// of `poll_events` (`libc::POLLIN as u32`, ...). With `multishot` the poll stays
    /// armed and posts a CQE with `MORE` set for each new wake-up of the fd, until removed
    /// or ended by the kernel (a CQE without `MORE`).
    pub fn poll_add(fd: RawFd, poll_events: u32, multishot: bool, user_data: u64) -> Sqe {
        Sqe {
            opcode: opcode::POLL_ADD,
            fd,
            op_flags: poll32(poll_events),
            len: if multishot { IORING_POLL_ADD_MULTI } else { 0 },
            user_data,
            ..Sqe::default()
        }
    }

    /// `IORING_OP_POLL_REMOVE`: removes the poll whose user_data is `target_user_data`.
    /// Its own CQE (`user_data`) has `res` 0, or `-ENOENT` if no such poll is armed; the
    /// removed poll posts a final CQE with `-ECANCELED`.
    pub fn poll_remove(target_user_data: u64, user_data: u64) -> Sqe {
        Sqe {
            opcode: opcode::POLL_REMOVE,
            addr: target_user_data,
            user_data,
            ..Sqe::default()
        }
    }

    /// `IORING_OP_POLL_REMOVE` as an update (Linux 5.13): the poll `target_user_data`
    /// gets the mask `poll_events` and the user_data `new_user_data`, in place.
    pub fn poll_update(
        target_user_data: u64,
        new_user_data: u64,
        poll_events: u32,
        multishot: bool,
        user_data: u64,
    ) -> Sqe {
        let multi = if multishot { IORING_POLL_ADD_MULTI } else { 0 };
        Sqe {
            opcode: opcode::POLL_REMOVE,
            addr: target_user_data,
            off: new_user_data,
            op_flags: poll32(poll_events),
            len: IORING_POLL_UPDATE_EVENTS | IORING_POLL_UPDATE_USER_DATA | multi,
            user_data,
            ..Sqe::default()
        }
    }

    /// `IORING_OP_ASYNC_CANCEL`: cancels the request whose user_data is
    /// `target_user_data`. Its own CQE has `res` 0, `-ENOENT` (not found) or `-EALREADY`
    /// (already running, cannot be stopped).
    pub fn async_cancel(target_user_data: u64, user_data: u64) -> Sqe {
        Sqe {
            opcode: opcode::ASYNC_CANCEL,
            addr: target_user_data,
            user_data,
            ..Sqe::default()
        }
    }

    /// The provided-buffer group (the `buf_group` member of the `buf_index` union).
    pub fn buf_group(&self) -> u16 {
        self.buf_index
    }

    /// Sets the provided-buffer group (use with `IOSQE_BUFFER_SELECT`).
    pub fn set_buf_group(&mut self, group: u16) -> &mut Sqe {
        self.buf_index = group;
        self
    }
}

/// A completion queue entry: `struct io_uring_cqe`, 16 bytes, copied out of the ring.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    /// The `user_data` of the SQE this completes.
    pub user_data: u64,
    /// The result: what the syscall would return, or `-errno`.
    pub res: i32,
    /// `IORING_CQE_F_*` flags.
    pub flags: u32,
}

const _: () = assert!(std::mem::size_of::<Cqe>() == 16);

impl Cqe {
    /// `IORING_CQE_F_MORE`: the (multishot) request stays armed and will post more CQEs.
    pub fn more(&self) -> bool {
        self.flags & IORING_CQE_F_MORE != 0
    }

    /// With `IORING_CQE_F_BUFFER`, the id of the provided buffer the kernel filled.
    pub fn buffer_id(&self) -> Option<u16> {
        (self.flags & IORING_CQE_F_BUFFER != 0)
            .then_some((self.flags >> IORING_CQE_BUFFER_SHIFT) as u16)
    }

    /// `res` as an `io::Result`: a negative value is `-errno`.
    pub fn result(&self) -> std::io::Result<u32> {
        if self.res < 0 {
            Err(std::io::Error::from_raw_os_error(-self.res))
        } else {
            Ok(self.res as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_offsets_match_the_kernel_header() {
        let s = Sqe::default();
        let base = &s as *const Sqe as usize;
        let off = |p: *const u8| p as usize - base;
        let table = [
            (off(&s.opcode as *const u8), 0),
            (off(&s.flags as *const u8), 1),
            (off((&s.ioprio as *const u16).cast()), 2),
            (off((&s.fd as *const i32).cast()), 4),
            (off((&s.off as *const u64).cast()), 8),
            (off((&s.addr as *const u64).cast()), 16),
            (off((&s.len as *const u32).cast()), 24),
            (off((&s.op_flags as *const u32).cast()), 28),
            (off((&s.user_data as *const u64).cast()), 32),
            (off((&s.buf_index as *const u16).cast()), 40),
            (off((&s.personality as *const u16).cast()), 42),
            (off((&s.file_index as *const u32).cast()), 44),
            (off((&s.addr3 as *const u64).cast()), 48),
            (off((&s.pad2 as *const u64).cast()), 56),
        ];
        for (i, (got, want)) in table.into_iter().enumerate() {
            assert_eq!(got, want, "field {i}");
        }
    }

    #[test]
    fn cqe_flags_decode() {
        let table = [
            (0, false, None),
            (IORING_CQE_F_MORE, true, None),
            (IORING_CQE_F_BUFFER | (7 << 16), false, Some(7)),
            (
                IORING_CQE_F_BUFFER | IORING_CQE_F_MORE | (0xffff << 16),
                true,
                Some(0xffff),
            ),
        ];
        for (flags, more, buf) in table {
            let c = Cqe {
                user_data: 1,
                res: 0,
                flags,
            };
            assert_eq!((c.more(), c.buffer_id()), (more, buf), "{flags:#x}");
        }
        let e = Cqe {
            user_data: 0,
            res: -libc::ECANCELED,
            flags: 0,
        };
        assert_eq!(
            e.result().unwrap_err().raw_os_error(),
            Some(libc::ECANCELED)
        );
    }
}

//! The kernel's io_uring ABI, transcribed from `include/uapi/linux/io_uring.h`: the structs
//! shared with the kernel (with compile-time size checks) and the constants ply uses.
//!
//! The libc crate gives only the syscall numbers, so the layouts are written here by hand.
//! Field names follow the kernel header, so [io_uring_setup(2)], [io_uring_enter(2)] and
//! [io_uring_register(2)] can be read beside this file.
//!
//! [io_uring_setup(2)]: https://man7.org/linux/man-pages/man2/io_uring_setup.2.html
//! [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html
//! [io_uring_register(2)]: https://man7.org/linux/man-pages/man2/io_uring_register.2.html

// The struct names are the kernel's, so the header and the man pages can be searched for them.
#![allow(non_camel_case_types)]

/// `struct io_sqring_offsets`: where each submission-ring field sits in the SQ mmap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct io_sqring_offsets {
    /// Offset of the head index (written by the kernel).
    pub head: u32,
    /// Offset of the tail index (written by us).
    pub tail: u32,
    /// Offset of the mask (`ring_entries - 1`).
    pub ring_mask: u32,
    /// Offset of the entry count.
    pub ring_entries: u32,
    /// Offset of the `IORING_SQ_*` flags word.
    pub flags: u32,
    /// Offset of the count of invalid SQEs the kernel dropped.
    pub dropped: u32,
    /// Offset of the index array (slot -> SQE index).
    pub array: u32,
    /// Reserved.
    pub resv1: u32,
    /// With `IORING_SETUP_NO_MMAP`, the user address of the ring (unused here).
    pub user_addr: u64,
}

/// `struct io_cqring_offsets`: where each completion-ring field sits in the CQ mmap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct io_cqring_offsets {
    /// Offset of the head index (written by us).
    pub head: u32,
    /// Offset of the tail index (written by the kernel).
    pub tail: u32,
    /// Offset of the mask (`ring_entries - 1`).
    pub ring_mask: u32,
    /// Offset of the entry count.
    pub ring_entries: u32,
    /// Offset of the count of CQEs lost to overflow (stays 0 with `IORING_FEAT_NODROP`).
    pub overflow: u32,
    /// Offset of the CQE array.
    pub cqes: u32,
    /// Offset of the `IORING_CQ_*` flags word.
    pub flags: u32,
    /// Reserved.
    pub resv1: u32,
    /// With `IORING_SETUP_NO_MMAP`, the user address of the ring (unused here).
    pub user_addr: u64,
}

/// `struct io_uring_params`: what [io_uring_setup(2)] reads (flags) and fills in (sizes,
/// features, ring offsets).
///
/// [io_uring_setup(2)]: https://man7.org/linux/man-pages/man2/io_uring_setup.2.html
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct io_uring_params {
    /// SQ entries the kernel allocated (a power of two).
    pub sq_entries: u32,
    /// CQ entries the kernel allocated (twice `sq_entries` unless `IORING_SETUP_CQSIZE`).
    pub cq_entries: u32,
    /// `IORING_SETUP_*` flags.
    pub flags: u32,
    /// CPU of the SQ polling thread (`IORING_SETUP_SQ_AFF`).
    pub sq_thread_cpu: u32,
    /// Idle time of the SQ polling thread, in milliseconds.
    pub sq_thread_idle: u32,
    /// `IORING_FEAT_*` bits the kernel offers.
    pub features: u32,
    /// The ring whose worker pool to share (`IORING_SETUP_ATTACH_WQ`).
    pub wq_fd: u32,
    /// Reserved.
    pub resv: [u32; 3],
    /// Submission-ring layout.
    pub sq_off: io_sqring_offsets,
    /// Completion-ring layout.
    pub cq_off: io_cqring_offsets,
}

/// `struct io_uring_probe_op`: one opcode's entry in a probe.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct io_uring_probe_op {
    /// The opcode.
    pub op: u8,
    /// Reserved.
    pub resv: u8,
    /// `IO_URING_OP_SUPPORTED` if the kernel implements it.
    pub flags: u16,
    /// Reserved.
    pub resv2: u32,
}

/// The number of opcode slots ply asks a probe for (every `u8`).
pub const PROBE_OPS: usize = 256;

/// `struct io_uring_probe` with room for [`PROBE_OPS`] entries (the kernel's struct ends in
/// a flexible array; `IORING_REGISTER_PROBE` is told how many entries fit).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct io_uring_probe {
    /// The highest opcode this kernel knows.
    pub last_op: u8,
    /// How many entries of `ops` the kernel filled.
    pub ops_len: u8,
    /// Reserved.
    pub resv: u16,
    /// Reserved.
    pub resv2: [u32; 3],
    /// One entry per opcode.
    pub ops: [io_uring_probe_op; PROBE_OPS],
}

/// `struct io_uring_getevents_arg`: the extended argument of [io_uring_enter(2)] with
/// `IORING_ENTER_EXT_ARG` (Linux 5.11), which carries a wait timeout.
///
/// [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct io_uring_getevents_arg {
    /// Pointer to a signal mask to wait with, or 0.
    pub sigmask: u64,
    /// Size of that mask in bytes.
    pub sigmask_sz: u32,
    /// `min_wait_usec` on kernels with `IORING_FEAT_MIN_TIMEOUT`, else padding; 0 here.
    pub min_wait_usec: u32,
    /// Pointer to a `struct __kernel_timespec` (relative timeout), or 0 for none.
    pub ts: u64,
}

/// `struct __kernel_timespec`: 64-bit seconds and nanoseconds on every architecture.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct kernel_timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, below one second.
    pub tv_nsec: i64,
}

const _: () = {
    assert!(std::mem::size_of::<io_sqring_offsets>() == 40);
    assert!(std::mem::size_of::<io_cqring_offsets>() == 40);
    assert!(std::mem::size_of::<io_uring_params>() == 120);
    assert!(std::mem::size_of::<io_uring_probe_op>() == 8);
    assert!(std::mem::size_of::<io_uring_probe>() == 16 + 8 * PROBE_OPS);
    assert!(std::mem::size_of::<io_uring_getevents_arg>() == 24);
    assert!(std::mem::size_of::<kernel_timespec>() == 16);
};

// mmap offsets of the three regions (io_uring_setup(2), "mmap").
/// mmap offset of the submission ring.
pub const IORING_OFF_SQ_RING: i64 = 0;
/// mmap offset of the completion ring.
pub const IORING_OFF_CQ_RING: i64 = 0x800_0000;
/// mmap offset of the SQE array.
pub const IORING_OFF_SQES: i64 = 0x1000_0000;

/// Setup: clamp too-large entry counts instead of failing (unused: ply checks itself).
pub const IORING_SETUP_CLAMP: u32 = 1 << 4;

/// Feature: the SQ and CQ rings share one mmap (Linux 5.4).
pub const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
/// Feature: CQEs are never dropped on overflow; the kernel keeps them until there is room.
pub const IORING_FEAT_NODROP: u32 = 1 << 1;
/// Feature: the kernel copied the SQE at submission, so it may be reused at once.
pub const IORING_FEAT_SUBMIT_STABLE: u32 = 1 << 2;
/// Feature: internal poll for nonblocking files (no worker thread for sockets).
pub const IORING_FEAT_FAST_POLL: u32 = 1 << 5;
/// Feature: poll masks are 32 bits wide (`EPOLLEXCLUSIVE` and friends).
pub const IORING_FEAT_POLL_32BITS: u32 = 1 << 6;
/// Feature: [`io_uring_getevents_arg`] with a timeout (Linux 5.11).
pub const IORING_FEAT_EXT_ARG: u32 = 1 << 8;

/// SQ flag: the ring has CQEs held back in the kernel's overflow list; an enter with
/// `IORING_ENTER_GETEVENTS` flushes them.
pub const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;

/// Enter: wait for `min_complete` completions.
pub const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
/// Enter: the last two arguments are an [`io_uring_getevents_arg`] and its size.
pub const IORING_ENTER_EXT_ARG: u32 = 1 << 3;

/// SQE flag: `fd` is an index into the registered file table.
pub const IOSQE_FIXED_FILE: u8 = 1 << 0;
/// SQE flag: start only once all earlier SQEs completed.
pub const IOSQE_IO_DRAIN: u8 = 1 << 1;
/// SQE flag: the next SQE starts only after this one succeeds.
pub const IOSQE_IO_LINK: u8 = 1 << 2;
/// SQE flag: like `IO_LINK`, but the chain continues on failure.
pub const IOSQE_IO_HARDLINK: u8 = 1 << 3;
/// SQE flag: always go to a worker thread.
pub const IOSQE_ASYNC: u8 = 1 << 4;
/// SQE flag: pick a buffer from the provided-buffer group `buf_group`.
pub const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
/// SQE flag: post no CQE when the operation succeeds.
pub const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << 6;

/// Poll (in `len`): multishot; stay armed and post a CQE per event (Linux 5.13).
pub const IORING_POLL_ADD_MULTI: u32 = 1 << 0;
/// Poll remove (in `len`): update the events of the poll instead of removing it.
pub const IORING_POLL_UPDATE_EVENTS: u32 = 1 << 1;
/// Poll remove (in `len`): update the user_data of the poll (new value in `off`).
pub const IORING_POLL_UPDATE_USER_DATA: u32 = 1 << 2;
/// Poll (in `len`): level-triggered instead of the default edge-triggered wake-up.
pub const IORING_POLL_ADD_LEVEL: u32 = 1 << 3;

/// Accept (in `ioprio`): multishot accept (Linux 5.19).
pub const IORING_ACCEPT_MULTISHOT: u16 = 1 << 0;
/// Recv (in `ioprio`): multishot recv into provided buffers (Linux 6.0).
pub const IORING_RECV_MULTISHOT: u16 = 1 << 1;
/// Send/recv (in `ioprio`): poll first instead of trying the operation at once.
pub const IORING_RECVSEND_POLL_FIRST: u16 = 1 << 0;

/// Cancel (in `op_flags`): cancel every match, not only the first.
pub const IORING_ASYNC_CANCEL_ALL: u32 = 1 << 0;
/// Cancel (in `op_flags`): match on `fd` instead of user_data.
pub const IORING_ASYNC_CANCEL_FD: u32 = 1 << 1;
/// Cancel (in `op_flags`): match any request.
pub const IORING_ASYNC_CANCEL_ANY: u32 = 1 << 2;

/// CQE flag: the upper 16 bits of `flags` hold the id of the provided buffer used.
pub const IORING_CQE_F_BUFFER: u32 = 1 << 0;
/// CQE flag: the request stays armed; more CQEs will follow for it (multishot).
pub const IORING_CQE_F_MORE: u32 = 1 << 1;
/// CQE flag: the socket had more data to read after this recv.
pub const IORING_CQE_F_SOCK_NONEMPTY: u32 = 1 << 2;
/// CQE flag: a zero-copy send's notification CQE.
pub const IORING_CQE_F_NOTIF: u32 = 1 << 3;
/// How far the buffer id is shifted in a CQE's `flags`.
pub const IORING_CQE_BUFFER_SHIFT: u32 = 16;

/// Probe entry flag: the opcode is supported.
pub const IO_URING_OP_SUPPORTED: u16 = 1 << 0;

/// [io_uring_register(2)] opcodes (the `opcode` of
/// [`Ring::register_raw`](super::Ring::register_raw)).
///
/// [io_uring_register(2)]: https://man7.org/linux/man-pages/man2/io_uring_register.2.html
pub mod register {
    /// Register fixed buffers (`struct iovec` array).
    pub const REGISTER_BUFFERS: u32 = 0;
    /// Unregister fixed buffers.
    pub const UNREGISTER_BUFFERS: u32 = 1;
    /// Register a fixed file table (`int` array).
    pub const REGISTER_FILES: u32 = 2;
    /// Unregister the fixed file table.
    pub const UNREGISTER_FILES: u32 = 3;
    /// Register an eventfd signalled on each CQE.
    pub const REGISTER_EVENTFD: u32 = 4;
    /// Unregister that eventfd.
    pub const UNREGISTER_EVENTFD: u32 = 5;
    /// Fill a `struct io_uring_probe`.
    pub const REGISTER_PROBE: u32 = 8;
    /// Register a provided-buffer ring (`struct io_uring_buf_reg`, Linux 5.19).
    pub const REGISTER_PBUF_RING: u32 = 22;
    /// Unregister a provided-buffer ring.
    pub const UNREGISTER_PBUF_RING: u32 = 23;
}

/// `enum io_uring_op`: the SQE opcodes (the numbers are the kernel's ABI).
pub mod opcode {
    /// Does nothing; completes with res 0.
    pub const NOP: u8 = 0;
    /// readv(2).
    pub const READV: u8 = 1;
    /// writev(2).
    pub const WRITEV: u8 = 2;
    /// fsync(2).
    pub const FSYNC: u8 = 3;
    /// Read into a registered buffer.
    pub const READ_FIXED: u8 = 4;
    /// Write from a registered buffer.
    pub const WRITE_FIXED: u8 = 5;
    /// Wait for poll events on an fd (one-shot, or multishot with `IORING_POLL_ADD_MULTI`).
    pub const POLL_ADD: u8 = 6;
    /// Remove (or update) a poll by its user_data.
    pub const POLL_REMOVE: u8 = 7;
    /// sync_file_range(2).
    pub const SYNC_FILE_RANGE: u8 = 8;
    /// sendmsg(2).
    pub const SENDMSG: u8 = 9;
    /// recvmsg(2).
    pub const RECVMSG: u8 = 10;
    /// A timer (or a CQE count).
    pub const TIMEOUT: u8 = 11;
    /// Remove (or update) a timeout.
    pub const TIMEOUT_REMOVE: u8 = 12;
    /// accept4(2).
    pub const ACCEPT: u8 = 13;
    /// Cancel a request by user_data (or by fd, or any).
    pub const ASYNC_CANCEL: u8 = 14;
    /// A timeout for the previous linked SQE.
    pub const LINK_TIMEOUT: u8 = 15;
    /// connect(2).
    pub const CONNECT: u8 = 16;
    /// fallocate(2).
    pub const FALLOCATE: u8 = 17;
    /// openat(2).
    pub const OPENAT: u8 = 18;
    /// close(2).
    pub const CLOSE: u8 = 19;
    /// Update the registered file table.
    pub const FILES_UPDATE: u8 = 20;
    /// statx(2).
    pub const STATX: u8 = 21;
    /// read(2) / pread(2).
    pub const READ: u8 = 22;
    /// write(2) / pwrite(2).
    pub const WRITE: u8 = 23;
    /// posix_fadvise(2).
    pub const FADVISE: u8 = 24;
    /// madvise(2).
    pub const MADVISE: u8 = 25;
    /// send(2).
    pub const SEND: u8 = 26;
    /// recv(2).
    pub const RECV: u8 = 27;
    /// openat2(2).
    pub const OPENAT2: u8 = 28;
    /// epoll_ctl(2).
    pub const EPOLL_CTL: u8 = 29;
    /// splice(2).
    pub const SPLICE: u8 = 30;
    /// Hand buffers to the kernel for `IOSQE_BUFFER_SELECT` (the legacy, SQE-based way).
    pub const PROVIDE_BUFFERS: u8 = 31;
    /// Take provided buffers back.
    pub const REMOVE_BUFFERS: u8 = 32;
    /// tee(2).
    pub const TEE: u8 = 33;
    /// shutdown(2).
    pub const SHUTDOWN: u8 = 34;
    /// socket(2) (Linux 5.19).
    pub const SOCKET: u8 = 45;
    /// Zero-copy send (Linux 6.0).
    pub const SEND_ZC: u8 = 47;
    /// Multishot read into provided buffers (Linux 6.7).
    pub const READ_MULTISHOT: u8 = 49;
}

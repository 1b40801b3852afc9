//! [io_uring(7)]: two rings shared with the kernel, owned by one value.
//!
//! A [`Ring`] is an fd from [io_uring_setup(2)] and three mmapped regions: the
//! *submission queue* (SQ: a ring of indices into an array of 64-byte [`Sqe`]s, which we
//! produce and the kernel consumes) and the *completion queue* (CQ: a ring of 16-byte
//! [`Cqe`]s, which the kernel produces and we consume). [`Ring::push`] writes an SQE and
//! publishes it; [`Ring::submit`] and [`Ring::submit_and_wait`] ([io_uring_enter(2)]) tell
//! the kernel to consume the published SQEs and, for the latter, sleep until completions
//! arrive; [`Ring::reap`] drains the CQEs. One `io_uring_enter` can thus submit any number
//! of operations and collect any number of results: that is the point of io_uring.
//!
//! # Memory ordering
//!
//! Each ring has a head and a tail, 32-bit counters that only grow (wrapping); an entry's
//! slot is `counter & mask`. Each counter has one writer, and the other side only reads it:
//!
//! | counter | writer | reader | writer's store | reader's load |
//! |---|---|---|---|---|
//! | SQ tail | us | kernel | Release, after writing the SQE and its array slot | (kernel: acquire) |
//! | SQ head | kernel | us | (kernel: release, after reading the SQE) | Acquire, before reusing a slot |
//! | CQ tail | kernel | us | (kernel: release, after writing the CQE) | Acquire, before reading CQEs |
//! | CQ head | us | kernel | Release, after reading the CQEs | (kernel: acquire) |
//!
//! Our own counter (SQ tail, CQ head) is read back with Relaxed: we are its only writer,
//! and we read it under the lock that serialises our writes. Each rule is repeated beside
//! the load or store that obeys it.
//!
//! # Threads
//!
//! A `Ring` is `Send + Sync`. The SQ side (push) is behind one mutex and the CQ side
//! (reap) behind another, so one thread can block in [`Ring::submit_and_wait`] (which
//! holds neither lock while it sleeps) while others push and submit; the kernel serialises
//! concurrent `io_uring_enter` calls on the same ring itself.
//!
//! # Examples
//!
//! ```
//! use ply_sys::uring::{Ring, Sqe};
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! # let ring = match Ring::new(8) { Ok(r) => r, Err(_) => return Ok(()) }; // refused here
//! // SAFETY: a NOP carries no pointers.
//! unsafe { ring.push(&Sqe::nop(42))? };
//! ring.submit_and_wait(1, Some(Duration::from_secs(5)))?;
//! let mut seen = Vec::new();
//! ring.reap(|cqe| seen.push((cqe.user_data, cqe.res)));
//! assert_eq!(seen, [(42, 0)]);
//! # Ok(())
//! # }
//! ```
//!
//! [io_uring(7)]: https://man7.org/linux/man-pages/man7/io_uring.7.html
//! [io_uring_setup(2)]: https://man7.org/linux/man-pages/man2/io_uring_setup.2.html
//! [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html

pub mod abi;
mod buf_ring;
pub mod ops;
mod sqe;

pub use abi::{opcode, register};
pub use buf_ring::{BufRing, Lease};
pub use sqe::{Cqe, Sqe};

use crate::cvt::{cvt, cvt_fd};
use abi::*;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The user_data bit reserved for completion operations that are not
/// [`Selector`](crate::Selector) readiness events. The uring selector backend never sets it
/// on its own SQEs; a CQE carrying it belongs to whoever submitted it on the selector's
/// ring (see [`Selector::uring`](crate::Selector::uring)).
pub const COMPLETION_TAG: u64 = 1 << 63;

/// The most SQ entries a ring may ask for (the kernel's `IORING_MAX_ENTRIES`).
pub const MAX_ENTRIES: u32 = 32768;

/// One `mmap(2)`ed region, unmapped on drop.
struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mmap {
    /// Maps `len` bytes of the ring `fd` at the kernel-defined `offset`, shared and
    /// populated (the pages already exist in the kernel).
    fn new(fd: BorrowedFd<'_>, len: usize, offset: i64) -> io::Result<Mmap> {
        // SAFETY: a fresh mapping (addr NULL) of an io_uring fd at one of the offsets
        // io_uring_setup(2) defines; it aliases no Rust memory. MAP_FAILED is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).expect("mmap returned NULL without MAP_FIXED");
        Ok(Mmap { ptr, len })
    }

    /// The address `offset` bytes into the region, as a `T`.
    ///
    /// Panics if `T` would not fit there: the offsets come from the kernel, and one that
    /// points outside the region it sized is a broken invariant, not bad input.
    fn at<T>(&self, offset: u32) -> *mut T {
        let offset = offset as usize;
        assert!(
            offset + std::mem::size_of::<T>() <= self.len,
            "io_uring offset {offset} outside its {}-byte mapping",
            self.len
        );
        assert_eq!(
            offset % std::mem::align_of::<T>(),
            0,
            "misaligned io_uring offset"
        );
        // SAFETY: offset + size_of::<T>() <= len (checked above), so the result stays inside
        // the mapping that `ptr` starts.
        unsafe { self.ptr.as_ptr().add(offset).cast::<T>() }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly one mapping made in `Mmap::new`, unmapped only
        // here; the Ring that holds the pointers into it is being dropped with it.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The three regions. With `IORING_FEAT_SINGLE_MMAP` the CQ ring lives in the SQ ring's
/// mapping and `cq` is `None`.
// Never read: the regions are held only so that dropping the Ring unmaps them.
#[allow(dead_code)]
struct Maps {
    sq: Mmap,
    cq: Option<Mmap>,
    sqes: Mmap,
}

/// Pointers into the SQ ring. Immutable after setup.
struct SqRing {
    /// Kernel-written: how far the kernel has consumed.
    head: *const AtomicU32,
    /// Us-written: how far we have published.
    tail: *const AtomicU32,
    flags: *const AtomicU32,
    dropped: *const AtomicU32,
    mask: u32,
    entries: u32,
    /// The index array: slot `i & mask` names the SQE the kernel takes `i`-th.
    array: *mut u32,
    sqes: *mut Sqe,
}

/// Pointers into the CQ ring. Immutable after setup.
struct CqRing {
    /// Us-written: how far we have consumed.
    head: *const AtomicU32,
    /// Kernel-written: how far the kernel has produced.
    tail: *const AtomicU32,
    overflow: *const AtomicU32,
    mask: u32,
    entries: u32,
    cqes: *const Cqe,
}

/// An io_uring instance: the ring fd, its mmapped SQ and CQ rings and SQE array.
///
/// See the [module docs](self) for the memory-ordering rules and the threading model.
pub struct Ring {
    sq: SqRing,
    cq: CqRing,
    /// Serialises producers of the SQ (writes of SQEs, array slots and the tail).
    sq_lock: Mutex<()>,
    /// Serialises consumers of the CQ (reads of CQEs and the head store).
    cq_lock: Mutex<()>,
    features: u32,
    // Field order matters for drop: the mappings go before the fd closes.
    _maps: Maps,
    fd: OwnedFd,
}

// SAFETY: the raw pointers point into mappings the Ring owns and unmaps only on drop. The
// words the kernel shares are accessed only as atomics; SQE and array slots are written
// only under `sq_lock`, and CQEs read only under `cq_lock`, so moving the Ring to another
// thread or sharing it among threads introduces no unsynchronised access.
unsafe impl Send for Ring {}
// SAFETY: see `Send` above: every shared access goes through an atomic or one of the locks.
unsafe impl Sync for Ring {}

/// Which of the kernel's opcodes a ring supports, from `IORING_REGISTER_PROBE`.
#[derive(Clone)]
pub struct Probe {
    last_op: u8,
    supported: [bool; PROBE_OPS],
}

impl Probe {
    /// Whether the kernel implements `opcode` (one of [`opcode`]).
    pub fn supports(&self, opcode: u8) -> bool {
        self.supported[opcode as usize]
    }

    /// The highest opcode the kernel knows.
    pub fn last_op(&self) -> u8 {
        self.last_op
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops: Vec<usize> = (0..PROBE_OPS).filter(|&op| self.supported[op]).collect();
        f.debug_struct("Probe")
            .field("last_op", &self.last_op)
            .field("supported", &ops)
            .finish()
    }
}

/// An io_uring refusal: a clear message, with the kernel's error as the source (so errno
/// is still there to read through [`std::error::Error::source`]).
#[derive(Debug)]
struct Refused {
    message: &'static str,
    errno: io::Error,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.errno)
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.errno)
    }
}

/// Maps io_uring_setup(2)'s refusals to errors that say what happened.
fn setup_error(err: io::Error) -> io::Error {
    let (kind, message) = match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => (
            io::ErrorKind::PermissionDenied,
            "io_uring_setup(2) was refused: io_uring is blocked by a seccomp filter (the \
             default in many containers) or disabled by the kernel.io_uring_disabled sysctl",
        ),
        Some(libc::ENOSYS) => (
            io::ErrorKind::Unsupported,
            "io_uring_setup(2) is absent: the kernel is older than Linux 5.1, was built \
             without CONFIG_IO_URING, or a seccomp filter hides the syscall",
        ),
        _ => return err,
    };
    io::Error::new(
        kind,
        Refused {
            message,
            errno: err,
        },
    )
}

/// Converts a wait limit to the kernel's timespec, saturating at `i64::MAX` seconds.
fn timespec(d: Duration) -> kernel_timespec {
    kernel_timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

impl Ring {
    /// Sets up a ring with (at least) `entries` SQ entries and twice as many CQ entries
    /// ([io_uring_setup(2)]); the kernel rounds `entries` up to a power of two.
    ///
    /// # Errors
    ///
    /// - `InvalidInput` if `entries` is 0 or above [`MAX_ENTRIES`].
    /// - `PermissionDenied` where io_uring is refused (seccomp in a container answers
    ///   `EPERM`, as does the `kernel.io_uring_disabled` sysctl), and `Unsupported` where it
    ///   is absent (`ENOSYS`: an old kernel); each message says so, and the kernel's error
    ///   is its [`source`](std::error::Error::source).
    /// - `Unsupported` on kernels without `IORING_FEAT_EXT_ARG` (before Linux 5.11), which
    ///   [`submit_and_wait`](Self::submit_and_wait) needs for its timeout.
    /// - `EMFILE`/`ENFILE`, `ENOMEM` (locked-memory limits on kernels before 5.12).
    ///
    /// [io_uring_setup(2)]: https://man7.org/linux/man-pages/man2/io_uring_setup.2.html
    pub fn new(entries: u32) -> io::Result<Ring> {
        if entries == 0 || entries > MAX_ENTRIES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("io_uring entries must be 1..={MAX_ENTRIES}, not {entries}"),
            ));
        }
        let mut p = io_uring_params::default();
        // SAFETY: io_uring_setup reads and fills `p`, a live, exclusively borrowed
        // io_uring_params of the kernel's layout (size asserted in abi.rs). The returned fd
        // becomes an OwnedFd on the next line (cvt_fd). The fd is close-on-exec: io_uring
        // fds always are (the kernel sets O_CLOEXEC on them).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_io_uring_setup,
                entries,
                &mut p as *mut io_uring_params,
            )
        };
        let fd = cvt_fd(ret as i32).map_err(setup_error)?;
        if p.features & IORING_FEAT_EXT_ARG == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring on this kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11), needed for \
                 wait timeouts",
            ));
        }

        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * std::mem::size_of::<Cqe>();
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        let sq_map = Mmap::new(
            fd.as_fd(),
            if single { sq_len.max(cq_len) } else { sq_len },
            IORING_OFF_SQ_RING,
        )?;
        let cq_map = if single {
            None
        } else {
            Some(Mmap::new(fd.as_fd(), cq_len, IORING_OFF_CQ_RING)?)
        };
        let sqes_map = Mmap::new(
            fd.as_fd(),
            p.sq_entries as usize * std::mem::size_of::<Sqe>(),
            IORING_OFF_SQES,
        )?;

        let sq = SqRing {
            head: sq_map.at(p.sq_off.head),
            tail: sq_map.at(p.sq_off.tail),
            flags: sq_map.at(p.sq_off.flags),
            dropped: sq_map.at(p.sq_off.dropped),
            // SAFETY: ring_mask lies inside the SQ mapping (checked by `at`), was written
            // by the kernel before io_uring_setup returned, and never changes.
            mask: unsafe { *sq_map.at::<u32>(p.sq_off.ring_mask) },
            // SAFETY: as for `mask` just above: a kernel-initialised, constant word inside
            // the SQ mapping.
            entries: unsafe { *sq_map.at::<u32>(p.sq_off.ring_entries) },
            array: sq_map.at(p.sq_off.array),
            sqes: sqes_map.at(0),
        };
        let cq_base = cq_map.as_ref().unwrap_or(&sq_map);
        // The CQE array must fit (`at` checks only its first entry).
        assert!(cq_len <= cq_base.len, "io_uring CQ mapping too small");
        let cq = CqRing {
            head: cq_base.at(p.cq_off.head),
            tail: cq_base.at(p.cq_off.tail),
            overflow: cq_base.at(p.cq_off.overflow),
            // SAFETY: a kernel-initialised, constant word inside the CQ mapping (`at`
            // checks the bound).
            mask: unsafe { *cq_base.at::<u32>(p.cq_off.ring_mask) },
            // SAFETY: a kernel-initialised, constant word inside the CQ mapping (`at`
            // checks the bound).
            entries: unsafe { *cq_base.at::<u32>(p.cq_off.ring_entries) },
            cqes: cq_base.at(p.cq_off.cqes),
        };
        debug_assert_eq!(sq.entries, p.sq_entries);
        debug_assert_eq!(cq.entries, p.cq_entries);
        Ok(Ring {
            sq,
            cq,
            sq_lock: Mutex::new(()),
            cq_lock: Mutex::new(()),
            features: p.features,
            _maps: Maps {
                sq: sq_map,
                cq: cq_map,
                sqes: sqes_map,
            },
            fd,
        })
    }

    /// The number of SQ entries (a power of two).
    pub fn sq_entries(&self) -> u32 {
        self.sq.entries
    }

    /// The number of CQ entries.
    pub fn cq_entries(&self) -> u32 {
        self.cq.entries
    }

    /// The `IORING_FEAT_*` bits the kernel offered (see [`abi`]).
    pub fn features(&self) -> u32 {
        self.features
    }

    /// CQEs the kernel had to drop for lack of room (stays 0 on kernels with
    /// `IORING_FEAT_NODROP`, which hold them back instead) plus SQEs it dropped as invalid.
    pub fn dropped(&self) -> u64 {
        // SAFETY: both point at kernel-written words inside the live mapping; we only read.
        let (cq, sq) = unsafe { (&*self.cq.overflow, &*self.sq.dropped) };
        // Relaxed: a statistic, ordered with nothing else.
        u64::from(cq.load(Ordering::Relaxed)) + u64::from(sq.load(Ordering::Relaxed))
    }

    /// Which opcodes this kernel supports (`IORING_REGISTER_PROBE`, Linux 5.6).
    ///
    /// # Errors
    ///
    /// `EINVAL` on kernels without the probe.
    pub fn probe(&self) -> io::Result<Probe> {
        let mut probe = io_uring_probe {
            last_op: 0,
            ops_len: 0,
            resv: 0,
            resv2: [0; 3],
            ops: [io_uring_probe_op::default(); PROBE_OPS],
        };
        // SAFETY: REGISTER_PROBE writes at most `nr_args` (PROBE_OPS) entries into the
        // zeroed probe, which has room for exactly that many and lives across the call.
        unsafe {
            self.register_raw(
                register::REGISTER_PROBE,
                (&mut probe as *mut io_uring_probe).cast(),
                PROBE_OPS as u32,
            )
        }?;
        let mut supported = [false; PROBE_OPS];
        for op in &probe.ops[..usize::from(probe.ops_len)] {
            supported[usize::from(op.op)] = op.flags & IO_URING_OP_SUPPORTED != 0;
        }
        Ok(Probe {
            last_op: probe.last_op,
            supported,
        })
    }

    /// Queues one SQE (not submitted yet: see [`submit`](Self::submit)). If the SQ is full
    /// it submits first.
    ///
    /// # Safety
    ///
    /// Every pointer in `sqe` (`addr`, `addr3`, an `off` used as a pointer, ...) must point
    /// to memory valid for the operation's reads and writes until its completion(s) are
    /// reaped (for a multishot request, until its last CQE, the one without `MORE`).
    ///
    /// # Errors
    ///
    /// What the flushing `io_uring_enter` reports when the SQ is full; `EBUSY` if it is
    /// still full afterwards.
    pub unsafe fn push(&self, sqe: &Sqe) -> io::Result<()> {
        let _guard = self.sq_lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: both point at words inside the live SQ mapping.
        let (head, tail) = unsafe { (&*self.sq.head, &*self.sq.tail) };
        // Relaxed: we are the tail's only writer, and we hold `sq_lock`.
        let t = tail.load(Ordering::Relaxed);
        // Acquire: pairs with the kernel's release of the head after it copied the SQEs
        // out, so the slot we are about to overwrite is no longer read.
        if t.wrapping_sub(head.load(Ordering::Acquire)) >= self.sq.entries {
            self.enter(self.sq.entries, 0, 0, None)?;
            // Acquire: as above.
            if t.wrapping_sub(head.load(Ordering::Acquire)) >= self.sq.entries {
                return Err(io::Error::from_raw_os_error(libc::EBUSY));
            }
        }
        let slot = t & self.sq.mask;
        // SAFETY: slot <= mask < entries, so both writes are inside the SQE array and the
        // index array; the kernel no longer reads slot `slot` (the Acquire head check above)
        // and no other thread writes it (`sq_lock`).
        unsafe {
            self.sq.sqes.add(slot as usize).write(*sqe);
            self.sq.array.add(slot as usize).write(slot);
        }
        // Release: publishes the SQE and its array slot written above before the kernel
        // can see the new tail (it loads the tail with acquire).
        tail.store(t.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// SQEs pushed but not yet consumed by the kernel.
    fn pending(&self) -> u32 {
        // SAFETY: both point at words inside the live SQ mapping.
        let (head, tail) = unsafe { (&*self.sq.head, &*self.sq.tail) };
        // Acquire on the head: as in `push`; the tail is ours, Relaxed. The count may be
        // stale by the time we enter: the kernel clamps `to_submit` to what is there.
        tail.load(Ordering::Relaxed)
            .wrapping_sub(head.load(Ordering::Acquire))
    }

    /// One io_uring_enter(2).
    fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let ts;
        let arg;
        let (flags, argp, argsz) = match timeout {
            Some(d) if flags & IORING_ENTER_GETEVENTS != 0 => {
                ts = timespec(d);
                arg = io_uring_getevents_arg {
                    ts: &ts as *const kernel_timespec as u64,
                    ..Default::default()
                };
                (
                    flags | IORING_ENTER_EXT_ARG,
                    &arg as *const io_uring_getevents_arg as *const libc::c_void,
                    std::mem::size_of::<io_uring_getevents_arg>(),
                )
            }
            _ => (flags, std::ptr::null(), 0),
        };
        // SAFETY: the ring fd is ours; with EXT_ARG, `argp` points at a getevents_arg whose
        // `ts` points at a timespec, both locals alive for the whole call; without it the
        // argument is NULL/0 (no signal mask).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                self.fd.as_raw_fd(),
                to_submit,
                min_complete,
                flags,
                argp,
                argsz,
            )
        };
        cvt(ret).map(|n| n as usize)
    }

    /// Submits the queued SQEs ([io_uring_enter(2)] with `to_submit`), without waiting.
    /// Returns how many the kernel consumed.
    ///
    /// # Errors
    ///
    /// What io_uring_enter(2) reports (`EBUSY`/`EAGAIN` when the CQ backlog is full).
    ///
    /// [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html
    pub fn submit(&self) -> io::Result<usize> {
        let pending = self.pending();
        if pending == 0 {
            return Ok(0);
        }
        self.enter(pending, 0, 0, None)
    }

    /// Submits the queued SQEs and waits until at least `min_complete` CQEs are ready, or
    /// `timeout` passes (`None`: no limit); `IORING_ENTER_GETEVENTS`, with the timeout in
    /// an `IORING_ENTER_EXT_ARG`. Returns how many SQEs the kernel consumed.
    ///
    /// A timeout (`ETIME`) and a signal (`EINTR`) are an `Ok` return: [`reap`](Self::reap)
    /// whatever is there. With `min_complete == 0` it does not sleep. The wait does not
    /// hold either of the ring's locks, so other threads push, submit and reap meanwhile.
    ///
    /// # Errors
    ///
    /// What io_uring_enter(2) reports otherwise.
    pub fn submit_and_wait(
        &self,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        match self.enter(
            self.pending(),
            min_complete,
            IORING_ENTER_GETEVENTS,
            timeout,
        ) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EINTR)) => Ok(0),
            other => other,
        }
    }

    /// Whether CQEs are ready to reap.
    pub fn has_completions(&self) -> bool {
        // SAFETY: both point at words inside the live CQ mapping.
        let (head, tail) = unsafe { (&*self.cq.head, &*self.cq.tail) };
        // Acquire on the tail: pairs with the kernel's release after writing CQEs. Relaxed
        // on the head: ours (a stale value only makes the answer conservative-true).
        tail.load(Ordering::Acquire) != head.load(Ordering::Relaxed)
    }

    /// Whether the kernel holds CQEs back for lack of room in the CQ ring; a
    /// [`submit_and_wait`](Self::submit_and_wait) (even with `min_complete == 0`) flushes
    /// them in once [`reap`](Self::reap) has made room.
    pub fn cq_overflowed(&self) -> bool {
        // SAFETY: a kernel-written word inside the live SQ mapping.
        let flags = unsafe { &*self.sq.flags };
        // Relaxed: a hint to enter the kernel; no data is read on its strength.
        flags.load(Ordering::Relaxed) & IORING_SQ_CQ_OVERFLOW != 0
    }

    /// Drains the ready CQEs, calling `f` on each in order; returns how many. `f` runs
    /// without the CQ lock held, so it may push, submit, or even reap again.
    pub fn reap(&self, f: impl FnMut(Cqe)) -> usize {
        self.reap_at_most(usize::MAX, f)
    }

    /// Like [`reap`](Self::reap), but takes at most `max` CQEs, leaving the rest in the
    /// ring for a later call.
    pub fn reap_at_most(&self, max: usize, mut f: impl FnMut(Cqe)) -> usize {
        const BATCH: usize = 32;
        let mut total = 0;
        while total < max {
            let mut batch = [Cqe {
                user_data: 0,
                res: 0,
                flags: 0,
            }; BATCH];
            let n = {
                let _guard = self.cq_lock.lock().unwrap_or_else(|e| e.into_inner());
                // SAFETY: both point at words inside the live CQ mapping.
                let (head, tail) = unsafe { (&*self.cq.head, &*self.cq.tail) };
                // Relaxed: we are the head's only writer, under `cq_lock`.
                let h = head.load(Ordering::Relaxed);
                // Acquire: pairs with the kernel's release of the tail, so the CQEs up to
                // it are fully written before we read them below.
                let t = tail.load(Ordering::Acquire);
                let n = (t.wrapping_sub(h) as usize).min(BATCH).min(max - total);
                for (i, out) in batch.iter_mut().enumerate().take(n) {
                    let slot = h.wrapping_add(i as u32) & self.cq.mask;
                    // SAFETY: slot <= mask < cq entries, inside the CQE array; the entry
                    // lies between head and the Acquire-loaded tail, so the kernel wrote it
                    // and will not overwrite it until we move the head past it.
                    *out = unsafe { self.cq.cqes.add(slot as usize).read() };
                }
                // Release: our reads of those CQEs happen before the kernel sees the slots
                // free (it loads the head with acquire before reusing them).
                head.store(h.wrapping_add(n as u32), Ordering::Release);
                n
            };
            batch[..n].iter().for_each(|&c| f(c));
            total += n;
            if n < BATCH {
                break;
            }
        }
        total
    }

    /// One [io_uring_register(2)] call: `opcode` is one of [`register`], `arg` and
    /// `nr_args` as that opcode defines. Returns the kernel's non-negative result.
    ///
    /// # Safety
    ///
    /// `arg` must point to what `opcode` expects, valid for `nr_args` entries, for as long
    /// as the kernel uses it (for buffer and buffer-ring registrations, until they are
    /// unregistered or the ring is dropped).
    ///
    /// # Errors
    ///
    /// What io_uring_register(2) reports.
    ///
    /// [io_uring_register(2)]: https://man7.org/linux/man-pages/man2/io_uring_register.2.html
    pub unsafe fn register_raw(
        &self,
        opcode: u32,
        arg: *const libc::c_void,
        nr_args: u32,
    ) -> io::Result<i32> {
        // SAFETY: the ring fd is ours; the caller guarantees `arg`/`nr_args` fit `opcode`.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                self.fd.as_raw_fd(),
                opcode,
                arg,
                nr_args,
            )
        };
        cvt(ret).map(|n| n as i32)
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.fd.as_raw_fd())
            .field("sq_entries", &self.sq.entries)
            .field("cq_entries", &self.cq.entries)
            .field("features", &format_args!("{:#x}", self.features))
            .finish()
    }
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_saturates_and_keeps_nanoseconds() {
        let table = [
            (Duration::ZERO, (0, 0)),
            (Duration::from_nanos(1_500_000_001), (1, 500_000_001)),
            (Duration::MAX, (i64::MAX, 999_999_999)),
        ];
        for (d, (s, ns)) in table {
            let ts = timespec(d);
            assert_eq!((ts.tv_sec, ts.tv_nsec), (s, ns), "{d:?}");
        }
    }

    #[test]
    fn refusals_keep_errno_as_source() {
        for (errno, kind) in [
            (libc::EPERM, io::ErrorKind::PermissionDenied),
            (libc::ENOSYS, io::ErrorKind::Unsupported),
        ] {
            let e = setup_error(io::Error::from_raw_os_error(errno));
            assert_eq!(e.kind(), kind);
            assert!(e.to_string().contains("io_uring"), "{e}");
            let src = std::error::Error::source(e.get_ref().unwrap()).unwrap();
            let src = src.downcast_ref::<io::Error>().unwrap();
            assert_eq!(src.raw_os_error(), Some(errno));
        }
        let other = setup_error(io::Error::from_raw_os_error(libc::ENOMEM));
        assert_eq!(other.raw_os_error(), Some(libc::ENOMEM));
    }
}

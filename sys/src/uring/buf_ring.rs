//! A provided-buffer ring ([io_uring_register_buf_ring(3)]): buffers that ply owns and
//! lends to the kernel, which picks one for each receive that asks for it
//! (`IOSQE_BUFFER_SELECT`) and names it in the completion.
//!
//! # Ownership
//!
//! Each buffer is, at any time, in one of two hands:
//!
//! - **the kernel's**: its descriptor is in the ring between the kernel's head and the
//!   tail we published; a receive may pick it and write into it at any moment, so we do
//!   not read it;
//! - **ours**: a completion named it (`IORING_CQE_F_BUFFER`, id in the upper 16 bits of
//!   the CQE's flags). [`BufRing::claim`] turns that completion into a [`Lease`], the only
//!   way to read the bytes ([`BufRing::bytes`]); [`BufRing::recycle`] consumes the lease and
//!   gives the buffer back. A lease is not `Clone`, so a buffer cannot be given back twice;
//!   a lease that is dropped instead of recycled keeps its buffer out of the ring, which
//!   [`BufRing::available`] shows.
//!
//! This is what lets a borrowed `&mut [u8]` read stay safe under cancellation: the kernel
//! only ever writes into these buffers, and the caller's slice only ever receives a copy.
//!
//! # Memory ordering
//!
//! The ring is an array of 16-byte `io_uring_buf` descriptors; the 16-bit tail lives in
//! the reserved field of descriptor 0 (byte 14). We are the tail's only writer: we write a
//! descriptor at `tail & mask`, then store the new tail with **Release**, and the kernel
//! loads the tail with acquire semantics before it reads a descriptor (`smp_load_acquire` in
//! `io_ring_buffer_select`), so it never sees a half-written descriptor. The kernel's head
//! is not shared with us: a buffer comes back to us only through a CQE, which the CQ's own
//! Acquire (in [`Ring::reap`](super::Ring::reap)) orders after the kernel's write into the
//! buffer, so [`BufRing::bytes`] reads what the receive wrote.
//!
//! [io_uring_register_buf_ring(3)]: https://man7.org/linux/man-pages/man3/io_uring_register_buf_ring.3.html

use super::{register, Cqe, Ring};
use std::alloc::{self, Layout};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// `IORING_CQE_F_BUFFER`: the completion names a provided buffer.
const CQE_F_BUFFER: u32 = 1 << 0;
/// `IORING_CQE_BUFFER_SHIFT`: where the buffer id sits in the CQE's flags.
const CQE_BUFFER_SHIFT: u32 = 16;
/// The ring of descriptors must be page aligned (the kernel maps it by address).
const PAGE: usize = 4096;
/// `struct io_uring_buf` (16 bytes).
#[repr(C)]
struct BufDesc {
    addr: u64,
    len: u32,
    bid: u16,
    /// Descriptor 0's `resv` is the ring's tail: never written by [`BufRing::put`].
    resv: u16,
}

/// `struct io_uring_buf_reg` (40 bytes).
#[repr(C)]
struct BufReg {
    ring_addr: u64,
    ring_entries: u32,
    bgid: u16,
    flags: u16,
    resv: [u64; 3],
}

const _: () = assert!(std::mem::size_of::<BufDesc>() == 16);
const _: () = assert!(std::mem::size_of::<BufReg>() == 40);

/// One heap allocation with a fixed layout, freed on drop.
struct Block {
    ptr: *mut u8,
    layout: Layout,
}

impl Block {
    fn zeroed(size: usize, align: usize) -> io::Result<Block> {
        let layout = Layout::from_size_align(size, align)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer ring too large"))?;
        // SAFETY: the layout has a non-zero size (callers pass at least one entry of at
        // least one byte).
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        }
        Ok(Block { ptr, layout })
    }
}

impl Block {
    /// Forgets the allocation: it is never freed.
    fn leak(&mut self) {
        self.ptr = std::ptr::null_mut();
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: `ptr` came from `alloc_zeroed` with this layout and is freed once.
            unsafe { alloc::dealloc(self.ptr, self.layout) };
        }
    }
}

/// A buffer the kernel has filled and handed to us: read it with [`BufRing::bytes`], give
/// it back with [`BufRing::recycle`].
#[must_use = "a lease that is not recycled keeps its buffer out of the ring"]
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    bid: u16,
    len: u32,
    group: u16,
}

impl Lease {
    /// The buffer's id in its ring.
    pub fn id(&self) -> u16 {
        self.bid
    }

    /// How many bytes the receive wrote.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the receive wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A provided-buffer ring registered with one [`Ring`] under one buffer group id.
///
/// `entries` buffers of `buf_len` bytes each, allocated by ply and registered with
/// `IORING_REGISTER_PBUF_RING` (Linux 5.19). All of them start in the kernel's hands. The
/// registration is removed when the `BufRing` is dropped.
///
/// # Examples
///
/// ```
/// use ply_sys::uring::{BufRing, Ring};
/// use std::sync::Arc;
///
/// # fn main() -> std::io::Result<()> {
/// # let ring = match Ring::new(8) { Ok(r) => Arc::new(r), Err(_) => return Ok(()) };
/// let bufs = BufRing::new(&ring, 7, 64, 4096)?;
/// assert_eq!(bufs.available(), 64);
/// # Ok(())
/// # }
/// ```
pub struct BufRing {
    ring: Arc<Ring>,
    descs: Block,
    mem: Block,
    entries: u16,
    buf_len: u32,
    group: u16,
    /// Our copy of the tail; the lock orders concurrent recycles.
    tail: Mutex<u16>,
    /// Buffers in our hands (leased out).
    leased: AtomicUsize,
}

// SAFETY: the raw pointers point into the two blocks this value owns; the kernel-shared
// tail is written only under `tail`'s lock, and buffer bytes are read only through a
// `Lease`, which names a buffer the kernel no longer touches.
unsafe impl Send for BufRing {}
// SAFETY: shared access mutates only the kernel-shared tail (under `tail`'s lock) and the
// `leased` atomic; buffer bytes are read only through a `Lease` the caller holds.
unsafe impl Sync for BufRing {}

impl BufRing {
    /// Allocates `entries` buffers of `buf_len` bytes and registers them with `ring` as
    /// buffer group `group`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `entries` is not a power of two in 1..=32768 or `buf_len` is 0;
    /// `OutOfMemory`; what `io_uring_register` reports (`EEXIST`: the group is taken,
    /// `EINVAL`: a kernel before 5.19).
    pub fn new(ring: &Arc<Ring>, group: u16, entries: u16, buf_len: u32) -> io::Result<BufRing> {
        if !entries.is_power_of_two() || entries > 32768 || buf_len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "buffer ring: entries must be a power of two up to 32768, buf_len > 0",
            ));
        }
        let descs = Block::zeroed(entries as usize * 16, PAGE)?;
        let total = (entries as usize)
            .checked_mul(buf_len as usize)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "buffer ring too large"))?;
        let mem = Block::zeroed(total, 64)?;
        let reg = BufReg {
            ring_addr: descs.ptr as u64,
            ring_entries: entries as u32,
            bgid: group,
            flags: 0,
            resv: [0; 3],
        };
        // SAFETY: `reg` is a valid io_uring_buf_reg for the duration of the call, and the
        // descriptor block it names is page aligned, `entries * 16` bytes, and owned by the
        // `BufRing` built below, which unregisters it before freeing it.
        unsafe {
            ring.register_raw(
                register::REGISTER_PBUF_RING,
                (&reg as *const BufReg).cast(),
                1,
            )?
        };
        let b = BufRing {
            ring: Arc::clone(ring),
            descs,
            mem,
            entries,
            buf_len,
            group,
            tail: Mutex::new(0),
            leased: AtomicUsize::new(0),
        };
        {
            let mut tail = b.tail.lock().unwrap_or_else(|e| e.into_inner());
            for bid in 0..entries {
                b.put(&mut tail, bid);
            }
            b.publish(*tail);
        }
        Ok(b)
    }

    /// The buffer group id receives name in `buf_group` to pick from this ring.
    pub fn group(&self) -> u16 {
        self.group
    }

    /// The size of each buffer.
    pub fn buf_len(&self) -> usize {
        self.buf_len as usize
    }

    /// How many buffers the ring has.
    pub fn entries(&self) -> usize {
        self.entries as usize
    }

    /// How many buffers are in the kernel's hands (all but the leased ones).
    pub fn available(&self) -> usize {
        self.entries as usize - self.leased.load(Ordering::Acquire)
    }

    /// Takes the buffer a completion names, if it names one of this ring's.
    ///
    /// Returns `None` for a completion without a buffer (an error, or `-ENOBUFS`), and an
    /// error for a buffer id out of range.
    ///
    /// # Safety
    ///
    /// `cqe` was reaped from the ring this `BufRing` is registered with, for an operation
    /// that selected from this buffer group, and it is claimed at most once: the buffer it
    /// names is then no longer the kernel's.
    pub unsafe fn claim(&self, cqe: &Cqe) -> Option<io::Result<Lease>> {
        if cqe.flags & CQE_F_BUFFER == 0 {
            return None;
        }
        let bid = (cqe.flags >> CQE_BUFFER_SHIFT) as u16;
        if bid >= self.entries {
            return Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "completion names a buffer id outside the ring",
            )));
        }
        self.leased.fetch_add(1, Ordering::AcqRel);
        let len = (cqe.res.max(0) as u32).min(self.buf_len);
        Some(Ok(Lease {
            bid,
            len,
            group: self.group,
        }))
    }

    /// The bytes the receive wrote into a leased buffer.
    ///
    /// # Panics
    ///
    /// If the lease belongs to another buffer group (a bug in the caller).
    pub fn bytes(&self, lease: &Lease) -> &[u8] {
        assert_eq!(lease.group, self.group, "lease from another buffer ring");
        // SAFETY: `lease.bid < entries` (checked in `claim`) and `len <= buf_len`, so the
        // range lies inside `mem`; the buffer is leased, so the kernel does not write it
        // until `recycle` gives it back, which consumes the lease this borrow holds.
        unsafe {
            std::slice::from_raw_parts(
                self.mem.ptr.add(lease.bid as usize * self.buf_len as usize),
                lease.len as usize,
            )
        }
    }

    /// Gives a leased buffer back to the kernel.
    ///
    /// # Panics
    ///
    /// If the lease belongs to another buffer group (a bug in the caller).
    pub fn recycle(&self, lease: Lease) {
        self.recycle_many(std::iter::once(lease));
    }

    /// Gives several leased buffers back with one tail store.
    ///
    /// # Panics
    ///
    /// If a lease belongs to another buffer group (a bug in the caller).
    pub fn recycle_many(&self, leases: impl IntoIterator<Item = Lease>) {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for lease in leases {
            assert_eq!(lease.group, self.group, "lease from another buffer ring");
            self.put(&mut tail, lease.bid);
            n += 1;
        }
        if n > 0 {
            self.publish(*tail);
            self.leased.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Writes buffer `bid`'s descriptor at our tail, not yet visible to the kernel.
    fn put(&self, tail: &mut u16, bid: u16) {
        let slot = (*tail & (self.entries - 1)) as usize;
        // SAFETY: `bid < entries`, so the address is inside `mem`.
        let addr = unsafe { self.mem.ptr.add(bid as usize * self.buf_len as usize) } as u64;
        // SAFETY: `slot < entries` lies inside the descriptor block. The kernel reads only
        // descriptors between its head and the published tail, and at most `entries` are
        // there, all buffers other than `bid`'s (which is leased), so this slot is free.
        // Only `addr`, `len` and `bid` are written: slot 0's `resv` is the shared tail.
        unsafe {
            let d = (self.descs.ptr as *mut BufDesc).add(slot);
            std::ptr::addr_of_mut!((*d).addr).write(addr);
            std::ptr::addr_of_mut!((*d).len).write(self.buf_len);
            std::ptr::addr_of_mut!((*d).bid).write(bid);
        }
        *tail = tail.wrapping_add(1);
    }

    /// Publishes the descriptors written so far.
    fn publish(&self, tail: u16) {
        // SAFETY: byte 14 of the page-aligned descriptor block is the 2-aligned u16 tail
        // (`io_uring_buf_ring.tail`); the kernel only reads it, we write it under `tail`'s
        // lock. Release: the descriptor writes of `put` happen before the kernel, which
        // loads the tail with acquire semantics, reads them.
        let t = unsafe { &*(self.descs.ptr.add(14) as *const AtomicU16) };
        t.store(tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        let reg = BufReg {
            ring_addr: 0,
            ring_entries: 0,
            bgid: self.group,
            flags: 0,
            resv: [0; 3],
        };
        // SAFETY: `reg` names only our group id and lives for the call.
        let r = unsafe {
            self.ring.register_raw(
                register::UNREGISTER_PBUF_RING,
                (&reg as *const BufReg).cast(),
                1,
            )
        };
        if r.is_err() {
            // The kernel may still hold the ring: leak the memory rather than free it
            // under the kernel.
            self.descs.leak();
            self.mem.leak();
        }
    }
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.group)
            .field("entries", &self.entries)
            .field("buf_len", &self.buf_len)
            .field("available", &self.available())
            .finish()
    }
}

//! The io_uring floor (issue 16): what a careful C programmer would write for this one job
//! with io_uring, over raw syscalls and a minimal ring of its own (no liburing, nothing from
//! ply), so that it measures the kernel interface and not any library.
//!
//! One thread, one ring (`IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN`: the
//! completions' task work runs only when this thread enters the kernel, in a batch), one
//! provided-buffer ring of `NBUF` buffers of `BUF` bytes. One multishot accept for the
//! listener; one multishot recv per connection that picks its buffer from the ring; each
//! received buffer is sent back as it is (a `SEND` from the ring buffer, no copy) and goes
//! back to the buffer ring when its send has completed. One send in flight per connection
//! (two sends on one socket may finish out of order if the first has to wait); a short send
//! sends the rest. Every turn of the loop is one `io_uring_enter` that submits all that the
//! last turn's completions prepared and waits for at least one completion.
//!
//! `-ENOBUFS` (the buffer ring ran dry) ends a connection's multishot recv: it is re-armed
//! after the turn that returned buffers.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

const BUF: usize = super::BUF;
/// Buffers in the provided-buffer ring (a power of two): 1,000 connections with one request
/// in flight each hold at most 1,000 at once.
const NBUF: u16 = 2048;
const BGID: u16 = 0;
const ENTRIES: u32 = 4096;

// The kernel ABI (include/uapi/linux/io_uring.h), only what this loop uses.
const OP_ACCEPT: u8 = 13;
const OP_SEND: u8 = 26;
const OP_RECV: u8 = 27;
const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
const IORING_ACCEPT_MULTISHOT: u16 = 1 << 0;
const IORING_RECV_MULTISHOT: u16 = 1 << 1;
const IORING_CQE_F_BUFFER: u32 = 1 << 0;
const IORING_CQE_F_MORE: u32 = 1 << 1;
const IORING_CQE_BUFFER_SHIFT: u32 = 16;
const IORING_SETUP_SINGLE_ISSUER: u32 = 1 << 12;
const IORING_SETUP_DEFER_TASKRUN: u32 = 1 << 13;
const IORING_SETUP_SUBMIT_ALL: u32 = 1 << 7;
const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const IORING_REGISTER_PBUF_RING: u32 = 22;

#[repr(C)]
#[derive(Default)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Sqe {
    opcode: u8,
    flags: u8,
    ioprio: u16,
    fd: i32,
    off: u64,
    addr: u64,
    len: u32,
    op_flags: u32,
    user_data: u64,
    buf_group: u16,
    personality: u16,
    file_index: u32,
    addr3: u64,
    pad: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Cqe {
    user_data: u64,
    res: i32,
    flags: u32,
}

#[repr(C)]
struct BufDesc {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

#[repr(C)]
struct BufReg {
    ring_addr: u64,
    ring_entries: u32,
    bgid: u16,
    flags: u16,
    resv: [u64; 3],
}

const _: () = assert!(std::mem::size_of::<Params>() == 120);
const _: () = assert!(std::mem::size_of::<Sqe>() == 64);
const _: () = assert!(std::mem::size_of::<Cqe>() == 16);
const _: () = assert!(std::mem::size_of::<BufDesc>() == 16);
const _: () = assert!(std::mem::size_of::<BufReg>() == 40);

/// A mapping unmapped on drop.
struct Map {
    ptr: *mut u8,
    len: usize,
}

impl Map {
    fn new(fd: RawFd, len: usize, off: i64) -> io::Result<Map> {
        // SAFETY: a fresh shared mapping of the ring fd (or anonymous memory with fd -1);
        // the result is checked before use.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                if fd < 0 {
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS
                } else {
                    libc::MAP_SHARED | libc::MAP_POPULATE
                },
                fd,
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Map {
            ptr: p as *mut u8,
            len,
        })
    }

    /// # Safety
    ///
    /// `off` plus the size of `T` lies inside the mapping and is aligned for `T`.
    unsafe fn at<T>(&self, off: u32) -> *mut T {
        // SAFETY: in bounds by the caller's promise.
        unsafe { self.ptr.add(off as usize) as *mut T }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `Map::new` with this length and is unmapped once.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

struct Ring {
    fd: OwnedFd,
    // The mappings are kept alive for the pointers below; the SQE array last.
    _sq_map: Map,
    _cq_map: Option<Map>,
    _sqe_map: Map,
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_mask: u32,
    sqes: *mut Sqe,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const Cqe,
    /// SQEs written since the last enter; our local copy of the SQ tail.
    tail: u32,
    pending: u32,
}

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Ring {
    fn new() -> io::Result<Ring> {
        let mut p = Params {
            flags: IORING_SETUP_SINGLE_ISSUER
                | IORING_SETUP_DEFER_TASKRUN
                | IORING_SETUP_SUBMIT_ALL,
            ..Params::default()
        };
        // SAFETY: `p` is a valid io_uring_params the kernel fills in.
        let fd = cvt(unsafe { libc::syscall(libc::SYS_io_uring_setup, ENTRIES, &mut p) })?;
        // SAFETY: `fd` is a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let raw = fd.as_raw_fd();
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * 16;
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        let sq_map = Map::new(
            raw,
            if single { sq_len.max(cq_len) } else { sq_len },
            IORING_OFF_SQ_RING,
        )?;
        let cq_map = if single {
            None
        } else {
            Some(Map::new(raw, cq_len, IORING_OFF_CQ_RING)?)
        };
        let sqe_map = Map::new(raw, p.sq_entries as usize * 64, IORING_OFF_SQES)?;
        let cq = cq_map.as_ref().unwrap_or(&sq_map);
        // SAFETY: the offsets come from the kernel for these mappings, each field is a u32
        // at a 4-aligned offset (the CQE array 16-aligned), and the sizes mapped cover them.
        let ring = unsafe {
            let sq_array = sq_map.at::<u32>(p.sq_off.array);
            // Without IORING_SETUP_NO_SQARRAY the kernel reads SQ slot i through
            // array[i]; the identity map set once makes slot i mean SQE i.
            for i in 0..p.sq_entries {
                *sq_array.add(i as usize) = i;
            }
            Ring {
                sq_head: sq_map.at(p.sq_off.head),
                sq_tail: sq_map.at(p.sq_off.tail),
                sq_mask: *sq_map.at::<u32>(p.sq_off.ring_mask),
                sqes: sqe_map.ptr as *mut Sqe,
                cq_head: cq.at(p.cq_off.head),
                cq_tail: cq.at(p.cq_off.tail),
                cq_mask: *cq.at::<u32>(p.cq_off.ring_mask),
                cqes: cq.at(p.cq_off.cqes),
                tail: (*sq_map.at::<AtomicU32>(p.sq_off.tail)).load(Ordering::Relaxed),
                pending: 0,
                fd,
                _sq_map: sq_map,
                _cq_map: cq_map,
                _sqe_map: sqe_map,
            }
        };
        Ok(ring)
    }

    /// Queues one SQE, entering the kernel first if the SQ is full.
    fn push(&mut self, sqe: Sqe) -> io::Result<()> {
        // SAFETY: sq_head points into the live SQ mapping. Acquire: the kernel's head store
        // (Release) says it is done reading the SQEs before head, so we may overwrite them.
        let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
        if self.tail.wrapping_sub(head) > self.sq_mask {
            self.enter(0)?;
        }
        let i = (self.tail & self.sq_mask) as usize;
        // SAFETY: slot i is inside the SQE array (masked), and the check above ensured
        // fewer than `entries` SQEs lie between the kernel's head and our tail, so this
        // slot is not one the kernel may still be reading.
        unsafe { self.sqes.add(i).write(sqe) };
        self.tail = self.tail.wrapping_add(1);
        self.pending += 1;
        Ok(())
    }

    /// Publishes the queued SQEs and enters the kernel once: submits them all and, with
    /// `wait > 0`, waits for that many completions.
    fn enter(&mut self, wait: u32) -> io::Result<()> {
        // SAFETY: sq_tail points into the live SQ mapping. Release: the SQE writes above
        // happen before the kernel, which loads the tail with Acquire, reads them.
        unsafe { (*self.sq_tail).store(self.tail, Ordering::Release) };
        let flags = if wait > 0 { IORING_ENTER_GETEVENTS } else { 0 };
        loop {
            // SAFETY: plain syscall on our ring fd with no argument struct.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_io_uring_enter,
                    self.fd.as_raw_fd(),
                    self.pending,
                    wait,
                    flags,
                    ptr::null::<libc::c_void>(),
                    0usize,
                )
            };
            match cvt(r) {
                Ok(n) => {
                    self.pending -= (n as u32).min(self.pending);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EBUSY/EAGAIN: the CQ is full of unreaped completions; the caller reaps.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves every posted completion into `out`.
    fn reap(&mut self, out: &mut Vec<Cqe>) {
        // SAFETY: cq_head/cq_tail point into the live CQ mapping; only this thread moves
        // the head. Acquire on the tail: the kernel's CQE writes happen before its Release
        // store of the tail, so every CQE before it is complete when we read it.
        let (mut head, tail) = unsafe {
            (
                (*self.cq_head).load(Ordering::Relaxed),
                (*self.cq_tail).load(Ordering::Acquire),
            )
        };
        while head != tail {
            // SAFETY: index masked into the CQE array; the entry is published (above).
            out.push(unsafe { *self.cqes.add((head & self.cq_mask) as usize) });
            head = head.wrapping_add(1);
        }
        // SAFETY: cq_head points into the live CQ mapping, and only this thread writes it.
        // Release: our reads of the CQEs happen before the kernel sees
        // their slots free and overwrites them.
        unsafe { (*self.cq_head).store(head, Ordering::Release) };
    }
}

/// The provided-buffer ring: `NBUF` descriptors and `NBUF * BUF` bytes, both ours.
struct Bufs {
    ring: Map,
    mem: Map,
    tail: u16,
}

impl Bufs {
    fn new(ring: &Ring) -> io::Result<Bufs> {
        let descs = Map::new(-1, NBUF as usize * 16, 0)?;
        let mem = Map::new(-1, NBUF as usize * BUF, 0)?;
        let reg = BufReg {
            ring_addr: descs.ptr as u64,
            ring_entries: NBUF as u32,
            bgid: BGID,
            flags: 0,
            resv: [0; 3],
        };
        // SAFETY: `reg` is a valid io_uring_buf_reg; the descriptor memory is a page-aligned
        // mapping owned by the returned `Bufs`, which `run` keeps until the process exits
        // (the server never returns from its loop but with an error that ends the process).
        cvt(unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                ring.fd.as_raw_fd(),
                IORING_REGISTER_PBUF_RING,
                &reg as *const BufReg,
                1u32,
            )
        })?;
        let mut b = Bufs {
            ring: descs,
            mem,
            tail: 0,
        };
        for bid in 0..NBUF {
            b.put(bid);
        }
        b.publish();
        Ok(b)
    }

    fn buf(&self, bid: u16) -> *mut u8 {
        // SAFETY: bid < NBUF, so the offset lies inside `mem`.
        unsafe { self.mem.ptr.add(bid as usize * BUF) }
    }

    /// Writes buffer `bid`'s descriptor at our tail (not yet visible to the kernel).
    fn put(&mut self, bid: u16) {
        let slot = (self.tail & (NBUF - 1)) as usize;
        let d = BufDesc {
            addr: self.buf(bid) as u64,
            len: BUF as u32,
            bid,
            resv: 0,
        };
        // SAFETY: slot < NBUF lies inside the descriptor ring. The kernel reads only the
        // descriptors between its head and the published tail, and this one is past it.
        // The write leaves the `resv` field of descriptor 0, which doubles as the ring's
        // tail, to `publish`: write the descriptor's first 14 bytes only.
        unsafe {
            let p = (self.ring.ptr as *mut BufDesc).add(slot);
            ptr::addr_of_mut!((*p).addr).write(d.addr);
            ptr::addr_of_mut!((*p).len).write(d.len);
            ptr::addr_of_mut!((*p).bid).write(d.bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes every `put` visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail is the u16 at byte 14 of the ring (io_uring_buf_ring's `tail`,
        // overlaying descriptor 0's `resv`), 2-aligned. Release: the descriptor writes
        // happen before the kernel, which reads the tail with Acquire, reads them.
        unsafe {
            (*(self.ring.ptr.add(14) as *const AtomicU16)).store(self.tail, Ordering::Release)
        };
    }
}

struct Conn {
    fd: OwnedFd,
    /// Received buffers waiting for their send: (buffer id, bytes).
    queue: VecDeque<(u16, usize)>,
    /// The send in flight: (buffer id, bytes in it, bytes sent so far).
    sending: Option<(u16, usize, usize)>,
    recv_armed: bool,
    closing: bool,
}

// user_data: kind in the top byte, connection slot (the fd) below.
const UD_ACCEPT: u64 = 1 << 56;
const UD_RECV: u64 = 2 << 56;
const UD_SEND: u64 = 3 << 56;

fn accept_sqe(lfd: RawFd) -> Sqe {
    Sqe {
        opcode: OP_ACCEPT,
        ioprio: IORING_ACCEPT_MULTISHOT,
        fd: lfd,
        op_flags: (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32,
        user_data: UD_ACCEPT,
        ..Sqe::default()
    }
}

fn recv_sqe(fd: RawFd) -> Sqe {
    Sqe {
        opcode: OP_RECV,
        flags: IOSQE_BUFFER_SELECT,
        ioprio: IORING_RECV_MULTISHOT,
        fd,
        buf_group: BGID,
        user_data: UD_RECV | fd as u64,
        ..Sqe::default()
    }
}

fn send_sqe(fd: RawFd, p: *const u8, len: usize) -> Sqe {
    Sqe {
        opcode: OP_SEND,
        fd,
        addr: p as u64,
        len: len as u32,
        op_flags: libc::MSG_NOSIGNAL as u32,
        user_data: UD_SEND | fd as u64,
        ..Sqe::default()
    }
}

pub(super) fn run(addr: SocketAddr) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    let lfd = listener.as_raw_fd();
    let mut ring = Ring::new()?;
    let mut bufs = Bufs::new(&ring)?;
    super::announce(listener.local_addr()?);
    ring.push(accept_sqe(lfd))?;

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut cqes = Vec::with_capacity(ENTRIES as usize);
    // Connections whose multishot recv ended on ENOBUFS, re-armed once buffers return.
    let mut starved: Vec<RawFd> = Vec::new();
    loop {
        ring.enter(1)?;
        ring.reap(&mut cqes);
        let mut returned = false;
        for cqe in cqes.drain(..) {
            let slot = (cqe.user_data & 0xff_ffff_ffff) as usize;
            match cqe.user_data & (0xff << 56) {
                UD_ACCEPT => {
                    if cqe.res >= 0 {
                        // SAFETY: a successful accept CQE carries a fresh fd we now own.
                        let fd = unsafe { OwnedFd::from_raw_fd(cqe.res) };
                        nodelay(fd.as_raw_fd())?;
                        let i = cqe.res as usize;
                        if conns.len() <= i {
                            conns.resize_with(i + 1, || None);
                        }
                        ring.push(recv_sqe(cqe.res))?;
                        conns[i] = Some(Conn {
                            fd,
                            queue: VecDeque::new(),
                            sending: None,
                            recv_armed: true,
                            closing: false,
                        });
                    }
                    if cqe.flags & IORING_CQE_F_MORE == 0 {
                        ring.push(accept_sqe(lfd))?;
                    }
                }
                UD_RECV => {
                    let Some(c) = conns.get_mut(slot).and_then(Option::as_mut) else {
                        continue;
                    };
                    if cqe.flags & IORING_CQE_F_MORE == 0 {
                        c.recv_armed = false;
                    }
                    if cqe.flags & IORING_CQE_F_BUFFER != 0 {
                        let bid = (cqe.flags >> IORING_CQE_BUFFER_SHIFT) as u16;
                        if cqe.res > 0 {
                            c.queue.push_back((bid, cqe.res as usize));
                        } else {
                            bufs.put(bid);
                            returned = true;
                        }
                    }
                    if cqe.res == -libc::ENOBUFS {
                        starved.push(slot as RawFd);
                    } else if cqe.res <= 0 {
                        c.closing = true;
                    } else if !c.recv_armed {
                        ring.push(recv_sqe(slot as RawFd))?;
                        c.recv_armed = true;
                    }
                    if c.sending.is_none() {
                        start_send(&mut ring, &bufs, slot as RawFd, c)?;
                    }
                }
                UD_SEND => {
                    let Some(c) = conns.get_mut(slot).and_then(Option::as_mut) else {
                        continue;
                    };
                    let Some((bid, len, sent)) = c.sending.take() else {
                        continue;
                    };
                    if cqe.res < 0 {
                        bufs.put(bid);
                        returned = true;
                        c.closing = true;
                    } else if sent + (cqe.res as usize) < len {
                        let sent = sent + cqe.res as usize;
                        // SAFETY: sent < len <= BUF: inside buffer bid.
                        let p = unsafe { bufs.buf(bid).add(sent) };
                        ring.push(send_sqe(slot as RawFd, p, len - sent))?;
                        c.sending = Some((bid, len, sent));
                    } else {
                        bufs.put(bid);
                        returned = true;
                        start_send(&mut ring, &bufs, slot as RawFd, c)?;
                    }
                }
                _ => {}
            }
            // A connection is closed once nothing of it is in flight: no recv armed and
            // no send (closing the fd with ops in flight would leave their CQEs to a
            // reused fd number).
            if let Some(c) = conns.get_mut(slot).and_then(Option::as_mut) {
                if c.closing && !c.recv_armed && c.sending.is_none() {
                    for (bid, _) in c.queue.drain(..) {
                        bufs.put(bid);
                        returned = true;
                    }
                    conns[slot] = None;
                    super::closed();
                } else if c.closing && c.recv_armed {
                    // Half-closed by an error on send: shutting the socket down ends the
                    // multishot recv with a final CQE.
                    // SAFETY: plain syscall on an fd we own.
                    unsafe { libc::shutdown(c.fd.as_raw_fd(), libc::SHUT_RDWR) };
                }
            }
        }
        if returned {
            bufs.publish();
            for fd in starved.drain(..) {
                if let Some(c) = conns.get_mut(fd as usize).and_then(Option::as_mut) {
                    if !c.recv_armed && !c.closing {
                        ring.push(recv_sqe(fd))?;
                        c.recv_armed = true;
                    }
                }
            }
        }
    }
}

/// Sends the next queued buffer of `c`, if any.
fn start_send(ring: &mut Ring, bufs: &Bufs, fd: RawFd, c: &mut Conn) -> io::Result<()> {
    if let Some((bid, len)) = c.queue.pop_front() {
        ring.push(send_sqe(fd, bufs.buf(bid), len))?;
        c.sending = Some((bid, len, 0));
    }
    Ok(())
}

fn nodelay(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int option value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    cvt(r as libc::c_long).map(drop)
}

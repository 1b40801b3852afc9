//! The completion driver: io_uring operations beside readiness.
//!
//! A reactor built with [`Builder::completion`](crate::Builder::completion) (which needs
//! the `uring` selector backend) can run operations *through* the ring: the kernel accepts,
//! receives and sends, and posts a completion (CQE). This module keeps the table of
//! operations in flight, keyed by the CQE's `user_data`, and turns completions into
//! [`Waker`] calls in the same driver step that turns readiness into them
//! ([`Reactor::poll`](crate::Reactor::poll)). See `docs/architecture.md`, "Completion
//! I/O", for where it sits in the layers.
//!
//! # user_data
//!
//! `COMPLETION_TAG | generation << 32 | index`: bit 63 marks a completion (the uring
//! selector never sets it on its own poll requests), the low 32 bits name the slot, and the
//! generation makes a late CQE for a slot that was freed and reused harmless. The index
//! `u32::MAX` is reserved for cancel requests, whose own completions are ignored.
//!
//! # Ownership while the kernel works
//!
//! What the kernel may write or read for an operation belongs to the operation's slot, not
//! to its handle: the send buffer, the accepted fds and received buffers not yet taken. The
//! slot is freed only when the operation's final CQE (one without `IORING_CQE_F_MORE`) has
//! been reaped. Dropping an [`Op`] before that *orphans* its slot: it pushes an
//! `ASYNC_CANCEL` (for multishot operations), and the driver frees the slot, closing the
//! fds and recycling the buffers that still arrive, when the final CQE comes. So the kernel
//! never holds a pointer into freed memory, which is what [`Ring::push`]'s safety contract
//! asks.
//!
//! # Submission
//!
//! Operations are pushed into the SQ (no syscall) and submitted by the next driver step's
//! `io_uring_enter`, which also waits: many operations share one syscall. If a driver is
//! blocked in the kernel right now (another thread), the pusher ends its wait (the
//! reactor's wake), and the driver's next turn submits. Only driver steps submit: io_uring
//! runs an op's deferred work as task work of the thread that submitted it, and a driver
//! thread is sure to enter the kernel again, where a task's thread may sleep indefinitely.

use crate::loom::sync::Mutex;
use ply_sys::uring::{ops, BufRing, Cqe, Lease, Ring, Sqe, COMPLETION_TAG};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Buffers in each reactor's receive ring, and their size.
const RECV_BUFFERS: u16 = 1024;
const RECV_BUFFER_LEN: u32 = 4096;
/// The buffer group id of the receive ring.
const RECV_GROUP: u16 = 0;
/// SQ entries of the reactor's ring (the CQ has twice as many; more wait in the kernel's
/// overflow list, `IORING_FEAT_NODROP`).
const RING_ENTRIES: u32 = 256;
/// The selector token of the ring's fd: index `INDEX_MASK`, which no registration uses
/// (see `reactor.rs`), so it can never equal a registration's token.
pub(crate) const RING_TOKEN: ply_sys::Token = ply_sys::Token((1 << 24) - 1);
/// The slot index of cancel requests (their completions are ignored).
const CANCEL_INDEX: u64 = u32::MAX as u64;

/// What one completion reported, as the [`Op`] that asked for it sees it.
#[derive(Debug)]
pub enum Completion {
    /// An accept completed: the new connection, nonblocking and close-on-exec.
    Accepted(io::Result<OwnedFd>),
    /// A receive completed: bytes in a ring buffer, or `None` at end of stream.
    Received(io::Result<Option<Chunk>>),
    /// A send completed: how many bytes the kernel took.
    Sent(io::Result<usize>),
}

/// Received bytes in a buffer of the reactor's receive ring. Copy them out with
/// [`bytes`](Self::bytes) and [`advance`](Self::advance); dropping the chunk gives the
/// buffer back to the kernel.
pub struct Chunk {
    lease: Option<Lease>,
    bufs: Arc<BufRing>,
    pos: usize,
}

impl Chunk {
    /// The bytes not yet consumed.
    pub fn bytes(&self) -> &[u8] {
        match &self.lease {
            Some(l) => &self.bufs.bytes(l)[self.pos..],
            None => &[],
        }
    }

    /// Marks `n` more bytes consumed (at most all of them).
    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.pos + self.bytes().len());
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(l) = self.lease.take() {
            self.bufs.recycle(l);
        }
    }
}

impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk")
            .field("remaining", &self.bytes().len())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Accept,
    Recv,
    Send,
}

struct OpState {
    kind: Kind,
    waker: Option<Waker>,
    results: VecDeque<Completion>,
    /// The final CQE has been reaped: the kernel holds nothing of this op any more.
    finished: bool,
    /// The handle was dropped: the slot is freed at the final CQE.
    orphan: bool,
    /// Memory the kernel reads until the final CQE (a send's bytes).
    _owned: Option<Box<[u8]>>,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    op: Option<OpState>,
}

#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

/// The completion side of one reactor: its ring, its receive buffers, its op table.
pub(crate) struct Completions {
    ring: Arc<Ring>,
    bufs: Arc<BufRing>,
    table: Mutex<Table>,
}

fn user_data(index: u32, generation: u32) -> u64 {
    COMPLETION_TAG | (generation as u64) << 32 | index as u64
}

impl Completions {
    /// A ring of its own, its buffer ring, and the ring's fd registered with `selector`
    /// under [`RING_TOKEN`]: the fd is readable while completions wait in the CQ.
    pub(crate) fn new(selector: &ply_sys::Selector) -> io::Result<Completions> {
        let ring = Arc::new(Ring::new(RING_ENTRIES)?);
        selector.register(ring.as_raw_fd(), RING_TOKEN, ply_sys::Interest::READABLE)?;
        let bufs = Arc::new(BufRing::new(
            &ring,
            RECV_GROUP,
            RECV_BUFFERS,
            RECV_BUFFER_LEN,
        )?);
        Ok(Completions {
            ring,
            bufs,
            table: Mutex::new(Table::default()),
        })
    }

    /// The ring.
    pub(crate) fn ring(&self) -> &Ring {
        &self.ring
    }

    /// Operations whose slot is still held (in flight, orphaned, or finished but not yet
    /// dropped).
    pub(crate) fn live(&self) -> usize {
        self.table.lock().live
    }

    /// Receive buffers in the kernel's hands.
    pub(crate) fn buffers_available(&self) -> usize {
        self.bufs.available()
    }

    /// Receive buffers in all.
    pub(crate) fn buffers(&self) -> usize {
        self.bufs.entries()
    }

    /// Allocates a slot and pushes the SQE `make` builds for its user_data.
    ///
    /// # Safety
    ///
    /// The SQE's pointers, if any, point into `owned`, or to memory that outlives the
    /// reactor.
    unsafe fn start(
        &self,
        kind: Kind,
        owned: Option<Box<[u8]>>,
        make: impl FnOnce(u64, Option<&[u8]>) -> Sqe,
    ) -> io::Result<u64> {
        let mut table = self.table.lock();
        let index = match table.free.pop() {
            Some(i) => i,
            None if (table.slots.len() as u64) < CANCEL_INDEX => {
                table.slots.push(Slot::default());
                (table.slots.len() - 1) as u32
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "too many completion operations on one reactor",
                ))
            }
        };
        let slot = &mut table.slots[index as usize];
        let ud = user_data(index, slot.generation);
        let sqe = make(ud, owned.as_deref());
        // SAFETY: the SQE points only into `owned` (the caller's promise), which the slot
        // keeps until the final CQE is reaped (the slot is freed only then).
        if let Err(e) = unsafe { self.ring.push(&sqe) } {
            table.free.push(index);
            return Err(e);
        }
        slot.op = Some(OpState {
            kind,
            waker: None,
            results: VecDeque::new(),
            finished: false,
            orphan: false,
            _owned: owned,
        });
        table.live += 1;
        Ok(ud)
    }

    /// Frees a slot (the final CQE was reaped and no handle is left).
    fn free(table: &mut Table, index: u32) {
        let slot = &mut table.slots[index as usize];
        if slot.op.take().is_some() {
            slot.generation = slot.generation.wrapping_add(1);
            table.free.push(index);
            table.live -= 1;
        }
    }

    /// Files each completion in its op's slot and collects the wakers to call.
    pub(crate) fn dispatch(&self, cqes: &mut Vec<Cqe>, wakers: &mut Vec<Waker>) {
        let mut table = self.table.lock();
        for cqe in cqes.drain(..) {
            let index = cqe.user_data & 0xffff_ffff;
            if index == CANCEL_INDEX {
                continue;
            }
            let generation = ((cqe.user_data >> 32) & 0x7fff_ffff) as u32;
            let Some(slot) = table.slots.get_mut(index as usize) else {
                continue;
            };
            if slot.generation != generation {
                continue;
            }
            let Some(op) = slot.op.as_mut() else {
                continue;
            };
            let last = !cqe.more();
            let completion = self.completion(op.kind, &cqe);
            if !op.orphan {
                op.results.push_back(completion);
                if let Some(w) = op.waker.take() {
                    wakers.push(w);
                }
            }
            // An orphan's completion is dropped here: its fd closed, its buffer recycled.
            if last {
                op.finished = true;
                if op.orphan {
                    Completions::free(&mut table, index as u32);
                }
            }
        }
    }

    fn completion(&self, kind: Kind, cqe: &Cqe) -> Completion {
        let err = || io::Error::from_raw_os_error(-cqe.res);
        match kind {
            Kind::Accept if cqe.res >= 0 => {
                // SAFETY: a successful accept CQE carries a fresh fd nobody else owns.
                Completion::Accepted(Ok(unsafe { OwnedFd::from_raw_fd(cqe.res) }))
            }
            Kind::Accept => Completion::Accepted(Err(err())),
            Kind::Recv => {
                // SAFETY: `cqe` was reaped from the ring `bufs` is registered with, for a
                // recv of this reactor (the only ops that select from its group), and each
                // CQE is dispatched once.
                let lease = unsafe { self.bufs.claim(cqe) };
                Completion::Received(match lease {
                    Some(Ok(lease)) if cqe.res > 0 => Ok(Some(Chunk {
                        lease: Some(lease),
                        bufs: Arc::clone(&self.bufs),
                        pos: 0,
                    })),
                    Some(Ok(lease)) => {
                        self.bufs.recycle(lease);
                        Ok(None)
                    }
                    Some(Err(e)) => Err(e),
                    None if cqe.res == 0 => Ok(None),
                    None => Err(err()),
                })
            }
            Kind::Send if cqe.res >= 0 => Completion::Sent(Ok(cqe.res as usize)),
            Kind::Send => Completion::Sent(Err(err())),
        }
    }
}

/// One io_uring operation in flight on a reactor built with completions: a multishot
/// accept, a multishot receive into the reactor's buffer ring, or a send of owned bytes.
///
/// Poll it with [`poll_completion`](Self::poll_completion). Dropping it cancels it (for
/// the multishot kinds); what the kernel still holds of it stays alive until the kernel
/// is done, and what still arrives for it is cleaned up (fds closed, buffers recycled).
pub struct Op {
    reactor: crate::Reactor,
    ud: u64,
    kind: Kind,
}

impl Op {
    fn completions(reactor: &crate::Reactor) -> io::Result<&Completions> {
        reactor.completions().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "this reactor was not built with completion I/O (Builder::completion)",
            )
        })
    }

    fn started(reactor: &crate::Reactor, ud: u64, kind: Kind) -> Op {
        reactor.wake_if_waiting();
        Op {
            reactor: reactor.clone(),
            ud,
            kind,
        }
    }

    /// Starts a multishot accept on listening socket `fd`. The socket must stay open
    /// while the op lives (the kernel holds its own reference to the file meanwhile).
    ///
    /// # Errors
    ///
    /// `Unsupported` if the reactor has no completion driver; what the SQ push reports.
    pub fn accept_multishot(reactor: &crate::Reactor, fd: BorrowedFd<'_>) -> io::Result<Op> {
        let c = Op::completions(reactor)?;
        let raw = fd.as_raw_fd();
        // SAFETY: a multishot accept carries no pointers.
        let ud = unsafe { c.start(Kind::Accept, None, |ud, _| ops::accept_multishot(raw, ud))? };
        Ok(Op::started(reactor, ud, Kind::Accept))
    }

    /// Starts a multishot receive on socket `fd` into the reactor's buffer ring.
    ///
    /// # Errors
    ///
    /// As [`accept_multishot`](Self::accept_multishot).
    pub fn recv_multishot(reactor: &crate::Reactor, fd: BorrowedFd<'_>) -> io::Result<Op> {
        let c = Op::completions(reactor)?;
        let raw = fd.as_raw_fd();
        let group = c.bufs.group();
        // SAFETY: the recv names no memory but the buffer group, which lives as long as
        // the reactor's completion driver, longer than any op (the driver waits for every
        // op's final CQE before it drops the ring).
        let ud = unsafe {
            c.start(Kind::Recv, None, |ud, _| {
                ops::recv_multishot(raw, group, ud)
            })?
        };
        Ok(Op::started(reactor, ud, Kind::Recv))
    }

    /// Starts a send of `data` on socket `fd`; the op owns the bytes until the kernel is
    /// done with them.
    ///
    /// # Errors
    ///
    /// As [`accept_multishot`](Self::accept_multishot); `InvalidInput` for more than
    /// `u32::MAX` bytes.
    pub fn send(reactor: &crate::Reactor, fd: BorrowedFd<'_>, data: Box<[u8]>) -> io::Result<Op> {
        let c = Op::completions(reactor)?;
        let len = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "send of 4 GiB or more"))?;
        let raw = fd.as_raw_fd();
        // SAFETY: the SQE points into `data`, which `start` moves into the op's slot.
        let ud = unsafe {
            c.start(Kind::Send, Some(data), |ud, owned| {
                let p = owned.map_or(std::ptr::null(), |b| b.as_ptr());
                ops::send(raw, p, len, ud)
            })?
        };
        Ok(Op::started(reactor, ud, Kind::Send))
    }

    /// The next completion, `Ready(None)` once the op has finished and every completion
    /// was taken, or `Pending` (the task is woken by the driver step that files the next
    /// one).
    pub fn poll_completion(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
        let Some(c) = self.reactor.completions() else {
            return Poll::Ready(None);
        };
        let mut table = c.table.lock();
        let index = (self.ud & 0xffff_ffff) as usize;
        let Some(op) = table.slots[index].op.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(r) = op.results.pop_front() {
            return Poll::Ready(Some(r));
        }
        if op.finished {
            return Poll::Ready(None);
        }
        match &op.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => op.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether the kernel has posted this op's final completion.
    pub fn is_finished(&self) -> bool {
        let Some(c) = self.reactor.completions() else {
            return true;
        };
        let table = c.table.lock();
        table.slots[(self.ud & 0xffff_ffff) as usize]
            .op
            .as_ref()
            .is_none_or(|op| op.finished)
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let Some(c) = self.reactor.completions() else {
            return;
        };
        let index = (self.ud & 0xffff_ffff) as u32;
        let cancel = {
            let mut table = c.table.lock();
            let Some(op) = table.slots[index as usize].op.as_mut() else {
                return;
            };
            // Completions not taken are dropped: fds closed, buffers recycled.
            op.results.clear();
            op.waker = None;
            if op.finished {
                Completions::free(&mut table, index);
                false
            } else {
                op.orphan = true;
                // A send ends by itself; the multishot kinds end only when cancelled.
                self.kind != Kind::Send
            }
        };
        if cancel {
            let sqe = Sqe::async_cancel(self.ud, COMPLETION_TAG | CANCEL_INDEX);
            // SAFETY: a cancel carries no pointers. If the push fails (SQ full even after
            // a flush), the op stays orphaned and is freed at its end or with the reactor.
            if unsafe { c.ring.push(&sqe) }.is_ok() {
                self.reactor.wake_if_waiting();
            }
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("kind", &self.kind)
            .field("user_data", &format_args!("{:#x}", self.ud))
            .finish()
    }
}

impl Drop for Completions {
    /// Cancels every op still in flight and reaps until the kernel is done with them (a
    /// bounded wait), so no buffer is freed while the kernel may still use it; the memory of
    /// an op that does not finish in time is leaked rather than freed under the kernel.
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut table = self.table.lock();
        let pending: Vec<u64> = table
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let op = s.op.as_ref()?;
                (!op.finished).then(|| user_data(i as u32, s.generation))
            })
            .collect();
        for &ud in &pending {
            // SAFETY: a cancel carries no pointers.
            let _ = unsafe {
                self.ring
                    .push(&Sqe::async_cancel(ud, COMPLETION_TAG | CANCEL_INDEX))
            };
        }
        let mut unfinished = pending.len();
        let mut cqes = Vec::new();
        while unfinished > 0 && std::time::Instant::now() < deadline {
            let _ = self
                .ring
                .submit_and_wait(1, Some(std::time::Duration::from_millis(10)));
            self.ring.reap(|c| cqes.push(c));
            for cqe in cqes.drain(..) {
                let index = cqe.user_data & 0xffff_ffff;
                if cqe.user_data & COMPLETION_TAG == 0 || index == CANCEL_INDEX || cqe.more() {
                    continue;
                }
                let generation = ((cqe.user_data >> 32) & 0x7fff_ffff) as u32;
                if let Some(slot) = table.slots.get_mut(index as usize) {
                    if slot.generation == generation {
                        if let Some(op) = slot.op.as_mut().filter(|op| !op.finished) {
                            // Dropped here: an accepted fd is closed, a lease... recycled
                            // into a ring about to go away.
                            let _ = self.completion(op.kind, &cqe);
                            op.finished = true;
                            unfinished -= 1;
                        }
                    }
                }
            }
        }
        for slot in &mut table.slots {
            if let Some(op) = slot.op.as_mut().filter(|op| !op.finished) {
                std::mem::forget(op._owned.take());
            }
        }
    }
}

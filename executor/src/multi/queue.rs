//! Each worker's bounded run queue: the owner pushes and pops, others steal half.
//!
//! # The protocol
//!
//! A ring buffer of [`CAPACITY`] slots with three positions (`u32`, wrapping):
//!
//! ```text
//!            steal        real                  tail
//!              │ being copied │    ready tasks    │  free
//!   ───────────┼──────────────┼───────────────────┼────────
//! ```
//!
//! - `tail` is written only by the owner (`push`), published with `Release`.
//! - `head` packs two positions in one `AtomicU64`: `real`, the next task to pop or steal,
//!   and `steal`, the first slot a stealer may still be copying. When no steal is in
//!   progress they are equal.
//! - **pop** (owner) advances `real` by one with a CAS; if no steal is in progress it moves
//!   `steal` along too.
//! - **steal** happens in two steps. First a CAS claims half of `[real, tail)` by advancing
//!   `real` only (possible only when `steal == real`, so one stealer at a time); the slots
//!   `[steal, real)` are now the stealer's, and the owner will not reuse them because it
//!   counts free space from `steal`. The stealer copies them into its own queue, then a
//!   second CAS sets `steal = real`, handing the slots back.
//! - **push** (owner) writes at `tail` if `tail - steal < CAPACITY`; otherwise it moves half
//!   of the queue, plus the new task, to the injection queue in one batch (or, if a steal
//!   is in progress, just the new task).
//!
//! Stealing half (rounded up) keeps both sides busy: the thief gets enough to amortise the
//! CAS, and the victim keeps enough to stay busy until it notices.

use std::mem::MaybeUninit;

use super::inject::Inject;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicU32, AtomicU64, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use crate::loom::sync::Arc;
use crate::task::Task;

/// Slots per worker queue (a power of two).
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
/// Slots per worker queue: tiny under loom so that the overflow path is reachable.
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: usize = CAPACITY - 1;

struct Inner {
    /// `(steal << 32) | real`.
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<Task>>]>,
}

// SAFETY: the slots are only touched by whoever the head/tail protocol above makes their
// owner at that moment; everything else is atomic.
unsafe impl Sync for Inner {}

/// The owner's end: push and pop. Exactly one per queue.
pub(crate) struct Local {
    inner: Arc<Inner>,
}

/// The thieves' end: steal half. Cloneable.
#[derive(Clone)]
pub(crate) struct Steal {
    inner: Arc<Inner>,
}

fn pack(steal: u32, real: u32) -> u64 {
    ((steal as u64) << 32) | real as u64
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// Creates a queue and returns its two ends.
pub(crate) fn new() -> (Local, Steal) {
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer: (0..CAPACITY)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
    });
    (
        Local {
            inner: inner.clone(),
        },
        Steal { inner },
    )
}

impl Inner {
    /// Moves the task out of a slot.
    ///
    /// # Safety
    ///
    /// The caller has claimed position `pos` (it holds a written task no one else reads).
    unsafe fn take(&self, pos: u32) -> Task {
        // SAFETY: the caller claimed `pos`, so the slot holds an initialised task that no
        // one else reads or writes until the claim is released.
        self.buffer[pos as usize & MASK].with(|p| unsafe { (*p).assume_init_read() })
    }

    /// Writes a task into a slot.
    ///
    /// # Safety
    ///
    /// Position `pos` is free and only the caller may write it.
    unsafe fn put(&self, pos: u32, task: Task) {
        // SAFETY: the caller owns the free position `pos`: no one reads the slot until the
        // tail that publishes it is stored, so this write cannot race.
        self.buffer[pos as usize & MASK].with_mut(|p| unsafe { (*p).write(task) });
    }

    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real) as usize
    }
}

impl Local {
    /// The number of tasks that may be popped (approximate under concurrent steals).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pushes a task at the tail if there is room; never touches the injection queue (so
    /// it may be called while that queue is locked).
    pub(crate) fn try_push_back(&mut self, task: Task) -> Result<(), Task> {
        let inner = &*self.inner;
        let tail = inner.tail.load(Relaxed);
        let (steal, _) = unpack(inner.head.load(Acquire));
        if tail.wrapping_sub(steal) >= CAPACITY as u32 {
            return Err(task);
        }
        // SAFETY: as in `push_back`: the slot at `tail` is free and ours alone.
        unsafe { inner.put(tail, task) };
        inner.tail.store(tail.wrapping_add(1), Release);
        Ok(())
    }

    /// Pushes a task at the tail; on overflow moves half the queue to `inject`.
    pub(crate) fn push_back(&mut self, mut task: Task, inject: &Inject) {
        let inner = &*self.inner;
        // Only this thread stores `tail`, so a relaxed load reads our own last store.
        let tail = inner.tail.load(Relaxed);
        loop {
            let (steal, real) = unpack(inner.head.load(Acquire));
            if tail.wrapping_sub(steal) < CAPACITY as u32 {
                // SAFETY: the slot at `tail` is outside `[steal, tail)`, so no stealer reads it
                // and we are its only writer.
                unsafe { inner.put(tail, task) };
                inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // A thief is copying and will free half the queue soon; do not wait for it.
                inject.push(task);
                return;
            }
            match self.push_overflow(task, real, tail, inject) {
                Ok(()) => return,
                // A thief claimed tasks first: there may be room now.
                Err(t) => task = t,
            }
        }
    }

    fn push_overflow(&self, task: Task, real: u32, tail: u32, inject: &Inject) -> Result<(), Task> {
        let inner = &*self.inner;
        let n = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(real), CAPACITY as u32);
        let next = real.wrapping_add(n);
        // Claim the oldest half exactly as a thief would, but for the injection queue.
        if inner
            .head
            .compare_exchange(pack(real, real), pack(next, next), AcqRel, Acquire)
            .is_err()
        {
            return Err(task);
        }
        // SAFETY: the CAS moved both positions past `[real, next)`: those slots are ours.
        let batch = (0..n).map(|i| unsafe { inner.take(real.wrapping_add(i)) });
        inject.push_batch(batch.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops the task at the head.
    pub(crate) fn pop(&mut self) -> Option<Task> {
        let inner = &*self.inner;
        let mut head = inner.head.load(Acquire);
        let pos = loop {
            let (steal, real) = unpack(head);
            if real == inner.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // Move `steal` along only when no thief is copying; otherwise the thief moves
            // it when done.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match inner.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed position `pos` for us.
        Some(unsafe { inner.take(pos) })
    }
}

impl Steal {
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Steals half of this queue into `dst` (the thief's own, empty-enough queue).
    /// Returns one of the stolen tasks to run now, and how many were stolen in all.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<(Task, u32)> {
        let dst_inner = &*dst.inner;
        let dst_tail = dst_inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst_inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) > (CAPACITY / 2) as u32 {
            // Not enough room for half a queue: the thief has work anyway.
            return None;
        }
        let src = &*self.inner;

        // Step 1: claim `[real, real + n)` by advancing `real` alone.
        let mut head = src.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                // Another thief is copying from this queue.
                return None;
            }
            let tail = src.tail.load(Acquire);
            let available = tail.wrapping_sub(real);
            let n = available - available / 2;
            if n == 0 {
                return None;
            }
            let next = pack(steal, real.wrapping_add(n));
            match src.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break (real, n),
                Err(actual) => head = actual,
            }
        };

        // Step 2: copy the claimed tasks into the thief's queue.
        for i in 0..n {
            // SAFETY: `[first, first + n)` is claimed by us: the owner neither pops it (its
            // `real` is past it) nor overwrites it (it counts free space from `steal`).
            let task = unsafe { src.take(first.wrapping_add(i)) };
            // SAFETY: the destination is our own queue with room for `n` (checked above);
            // only its owner, us, writes past its tail.
            unsafe { dst_inner.put(dst_tail.wrapping_add(i), task) };
        }

        // Step 3: release the claim by catching `steal` up with `real`, which the owner may
        // have advanced meanwhile.
        let mut head = pack(first, first.wrapping_add(n));
        loop {
            let (_, real) = unpack(head);
            match src
                .head
                .compare_exchange(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }

        // Run the last stolen task now; publish the others.
        let last = dst_tail.wrapping_add(n - 1);
        // SAFETY: written above and not yet published, so still ours.
        let task = unsafe { dst_inner.take(last) };
        if n > 1 {
            dst_inner.tail.store(last, Release);
        }
        Some((task, n))
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Release the references of tasks still queued; the executor's owned list keeps
        // those tasks alive until shutdown drops their futures.
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::{self as task_mod, Schedule};

    struct NoSchedule;
    impl Schedule for NoSchedule {
        fn schedule(&self, _task: Task) {
            unreachable!("the tests never wake tasks");
        }
    }

    fn task() -> Task {
        let (t, join, _) = task_mod::new(async {}, NoSchedule, false);
        drop(join);
        t
    }

    #[test]
    fn fifo_pop_and_overflow_to_inject() {
        let inject = Inject::new();
        let (mut local, _steal) = new();
        for _ in 0..CAPACITY {
            local.push_back(task(), &inject);
        }
        assert_eq!(local.len(), CAPACITY);
        assert!(inject.is_empty());
        local.push_back(task(), &inject);
        assert_eq!(inject.len(), CAPACITY / 2 + 1);
        assert_eq!(local.len(), CAPACITY / 2);
        let mut popped = 0;
        while local.pop().is_some() {
            popped += 1;
        }
        assert_eq!(popped, CAPACITY / 2);
        drop(inject.close());
    }

    #[test]
    fn steal_takes_half_rounded_up() {
        let inject = Inject::new();
        let (mut victim, steal) = new();
        let (mut thief, _) = new();
        for _ in 0..5 {
            victim.push_back(task(), &inject);
        }
        let (_t, n) = steal.steal_into(&mut thief).unwrap();
        assert_eq!(n, 3);
        assert_eq!(thief.len(), 2);
        assert_eq!(victim.len(), 2);
        // Wrapping positions keep working across many rounds.
        for _ in 0..1000 {
            victim.push_back(task(), &inject);
            assert!(victim.pop().is_some());
        }
        assert_eq!(victim.len(), 2);
    }
}

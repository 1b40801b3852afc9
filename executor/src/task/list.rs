//! Intrusive lists of live tasks, so that shutdown can find (and drop) every future.
//!
//! A task in a list is linked through `Header::links`; the list holds one reference to it,
//! given up by [`List::remove`] when the task completes or by shutdown after cancelling it.
//! The links are guarded by whatever guards the list (a `RefCell` on the local executor,
//! one of [`OwnedTasks`]'s mutexes on the multi-threaded one).

use std::ptr::NonNull;

use super::raw::Header;
use super::{Completed, RawTask};
use crate::loom::sync::Mutex;

/// A task's neighbours in its owner's list.
#[derive(Default)]
pub(crate) struct Links {
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
}

/// A doubly linked list threaded through task headers.
#[derive(Default)]
pub(crate) struct List {
    head: Option<NonNull<Header>>,
    len: usize,
}

// SAFETY: the list only stores task addresses; every access to the links goes through the
// list, which its owner guards with a lock.
unsafe impl Send for List {}

fn links(ptr: NonNull<Header>) -> *mut Links {
    // SAFETY: the list holds a reference, so the header is alive.
    unsafe { ptr.as_ref() }.links.with_mut(|l| l)
}

impl List {
    /// Links `task` at the front.
    ///
    /// # Safety
    ///
    /// `task` is live and in no list; the list takes over one of its references.
    pub(crate) unsafe fn push(&mut self, task: RawTask) {
        let ptr = task.as_ptr();
        // SAFETY: the task is in no list, so its links are ours; the old head's links are
        // guarded by this list.
        unsafe {
            *links(ptr) = Links {
                prev: None,
                next: self.head,
            };
            if let Some(head) = self.head {
                (*links(head)).prev = Some(ptr);
            }
        }
        self.head = Some(ptr);
        self.len += 1;
    }

    /// Unlinks `task`; the caller then owns the list's reference.
    ///
    /// # Safety
    ///
    /// `task` is in this list.
    pub(crate) unsafe fn remove(&mut self, task: RawTask) {
        let ptr = task.as_ptr();
        // SAFETY: the task and its neighbours are in this list, so their links are ours.
        unsafe {
            let Links { prev, next } = std::mem::take(&mut *links(ptr));
            match prev {
                Some(p) => (*links(p)).next = next,
                None => self.head = next,
            }
            if let Some(n) = next {
                (*links(n)).prev = prev;
            }
        }
        self.len -= 1;
    }

    /// Returns `true` if `task` is linked in this list.
    ///
    /// # Safety
    ///
    /// `task` is live and either in this list or in none.
    unsafe fn contains(&self, task: RawTask) -> bool {
        let ptr = task.as_ptr();
        // SAFETY: a task in no list has default (empty) links, which only its owner
        // writes; in this list, they are guarded by the list.
        self.head == Some(ptr) || unsafe { (*links(ptr)).prev.is_some() }
    }

    /// Unlinks the first task; the caller then owns the list's reference.
    pub(crate) fn pop(&mut self) -> Option<RawTask> {
        let head = self.head?;
        let task = RawTask::from_ptr(head);
        // SAFETY: the head is in this list.
        unsafe { self.remove(task) };
        Some(task)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The multi-threaded executor's live tasks: a list per shard, each under its own mutex, so
/// that workers completing tasks rarely meet on the same lock.
pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    list: List,
    closed: bool,
}

impl OwnedTasks {
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let n = shards.next_power_of_two();
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, task: RawTask) -> &Mutex<Shard> {
        // Task cells are at least 64-byte apart: mix address bits above that.
        let a = task.addr();
        let h = (a >> 6) ^ (a >> 12);
        &self.shards[h & (self.shards.len() - 1)]
    }

    /// Adds `task`, taking over one of its references. Returns `false` (and takes
    /// nothing) if the executor is shutting down.
    ///
    /// # Safety
    ///
    /// `task` is live and in no list.
    pub(crate) unsafe fn insert(&self, task: RawTask) -> bool {
        let mut shard = self.shard(task).lock();
        if shard.closed {
            return false;
        }
        // SAFETY: the caller guarantees `task` is live and in no list, which is what
        // `push` needs; the shard lock held here makes this the only writer of the list.
        unsafe { shard.list.push(task) };
        true
    }

    /// Removes a completed task and releases the list's reference together with the
    /// runner's. If shutdown already took the task out (which happens only when an executor
    /// is dropped from one of its own tasks, while that task completes), releases only the
    /// runner's.
    ///
    /// # Safety
    ///
    /// The task was inserted here, and not yet removed by this function.
    pub(crate) unsafe fn remove(&self, done: Completed) {
        let task = done.raw();
        let removed = {
            let mut shard = self.shard(task).lock();
            // SAFETY: the task was inserted here; shutdown's `pop` may have unlinked it.
            if unsafe { shard.list.contains(task) } {
                // SAFETY: it is linked in this list.
                unsafe { shard.list.remove(task) };
                true
            } else {
                false
            }
        };
        if removed {
            // SAFETY: the list's reference is now ours.
            unsafe { done.release_with_list_ref() };
        } else {
            drop(done);
        }
    }

    /// Refuses new tasks, then drops the future of every live task that is not being
    /// polled and releases the list's references.
    pub(crate) fn close_and_shutdown_all(&self) {
        for shard in self.shards.iter() {
            shard.lock().closed = true;
        }
        for shard in self.shards.iter() {
            loop {
                // The lock is released before the task is shut down: its destructor may
                // spawn (and be refused) or complete other tasks.
                let Some(task) = shard.lock().list.pop() else {
                    break;
                };
                // SAFETY: the list's reference is ours now.
                unsafe {
                    task.shutdown();
                    task.release();
                }
            }
        }
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().list.len()).sum()
    }
}

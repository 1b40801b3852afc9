//! The injection queue: tasks spawned or woken from outside the workers, and overflow from
//! full worker queues. Any worker may pop from it.
//!
//! A mutex-protected `VecDeque` with its length mirrored in an atomic, so that workers
//! (which look at it often, for fairness) check emptiness without taking the lock. Once
//! closed at shutdown it drops whatever is pushed.

use std::collections::VecDeque;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Acquire, Ordering::Release};
use crate::loom::sync::Mutex;
use crate::task::Task;

pub(crate) struct Inject {
    inner: Mutex<Inner>,
    len: AtomicUsize,
}

struct Inner {
    tasks: VecDeque<Task>,
    closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            inner: Mutex::new(Inner {
                tasks: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues a task. Returns `false` (having dropped the task) once the queue is closed.
    pub(crate) fn push(&self, task: Task) -> bool {
        let mut inner = self.inner.lock();
        if inner.closed {
            drop(inner);
            // Outside the lock: dropping the last reference frees the task, which may drop
            // the executor's shared state, this queue included.
            drop(task);
            return false;
        }
        inner.tasks.push_back(task);
        self.len.store(inner.tasks.len(), Release);
        true
    }

    /// Queues several tasks under one lock.
    pub(crate) fn push_batch(&self, tasks: impl Iterator<Item = Task>) {
        let mut inner = self.inner.lock();
        if inner.closed {
            let rejected: Vec<Task> = tasks.collect();
            drop(inner);
            drop(rejected);
            return;
        }
        inner.tasks.extend(tasks);
        self.len.store(inner.tasks.len(), Release);
    }

    /// Pops the oldest task.
    pub(crate) fn pop(&self) -> Option<Task> {
        if self.is_empty() {
            return None;
        }
        let mut inner = self.inner.lock();
        let task = inner.tasks.pop_front();
        self.len.store(inner.tasks.len(), Release);
        task
    }

    /// Pops up to `max` tasks: the first is returned, the rest handed to `rest` in order
    /// until it gives one back (the destination is full), which returns to the front.
    ///
    /// `rest` runs under this queue's lock, so it must not touch this queue.
    pub(crate) fn pop_batch(
        &self,
        max: usize,
        mut rest: impl FnMut(Task) -> Result<(), Task>,
    ) -> Option<Task> {
        if self.is_empty() {
            return None;
        }
        let mut inner = self.inner.lock();
        let first = inner.tasks.pop_front()?;
        let n = max.saturating_sub(1).min(inner.tasks.len());
        for _ in 0..n {
            let Some(task) = inner.tasks.pop_front() else {
                break;
            };
            if let Err(task) = rest(task) {
                inner.tasks.push_front(task);
                break;
            }
        }
        self.len.store(inner.tasks.len(), Release);
        Some(first)
    }

    /// Refuses further tasks and returns those queued, for the caller to drop.
    pub(crate) fn close(&self) -> VecDeque<Task> {
        let mut inner = self.inner.lock();
        inner.closed = true;
        self.len.store(0, Release);
        std::mem::take(&mut inner.tasks)
    }
}

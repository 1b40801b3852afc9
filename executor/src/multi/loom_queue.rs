//! loom models of the run queues: a worker's queue (push and pop racing a steal, and the
//! overflow to the injection queue) and the injection queue (push, pop and close).
//!
//! The invariant is conservation: every task pushed is found exactly once, popped by the
//! owner, stolen, moved to the injection queue, or still queued, and each task is freed
//! exactly once (its scheduler hook counts its own drop).

use super::inject::Inject;
use super::queue::{self, CAPACITY};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::task::{self, Schedule, Task};

struct Freed(Arc<AtomicUsize>);

impl Schedule for Freed {
    fn schedule(&self, _task: Task) {
        unreachable!("the queue models never wake tasks");
    }
}

impl Drop for Freed {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn task(freed: &Arc<AtomicUsize>) -> Task {
    let (task, join, _) = task::new(async {}, Freed(freed.clone()), false);
    drop(join);
    task
}

#[test]
fn loom_push_pop_vs_steal() {
    loom::model(|| {
        let freed = Arc::new(AtomicUsize::new(0));
        let inject = Inject::new();
        let (mut owner, steal) = queue::new();
        for _ in 0..2 {
            owner.push_back(task(&freed), &inject);
        }
        let thief = loom::thread::spawn(move || {
            let (mut mine, _) = queue::new();
            let mut got = 0;
            if let Some((t, n)) = steal.steal_into(&mut mine) {
                drop(t);
                got += n as usize;
                assert_eq!(mine.len(), n as usize - 1);
            }
            // Dropping `mine` drops the tasks left in it.
            got
        });
        owner.push_back(task(&freed), &inject);
        let mut popped = 0;
        while let Some(t) = owner.pop() {
            drop(t);
            popped += 1;
        }
        let stolen = thief.join().unwrap();
        assert_eq!(popped + stolen, 3);
        assert!(inject.is_empty());
        assert_eq!(freed.load(SeqCst), 3);
    });
}

#[test]
fn loom_overflow_vs_steal() {
    loom::model(|| {
        let freed = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let (mut owner, steal) = queue::new();
        for _ in 0..CAPACITY {
            owner.push_back(task(&freed), &inject);
        }
        let thief = loom::thread::spawn(move || {
            let (mut mine, _) = queue::new();
            steal.steal_into(&mut mine).map_or(0, |(_, n)| n as usize)
        });
        // The queue is full: this push either finds room a thief made, or moves half the
        // queue (or, mid-steal, just this task) to the injection queue.
        owner.push_back(task(&freed), &inject);
        let stolen = thief.join().unwrap();
        let mut popped = 0;
        while owner.pop().is_some() {
            popped += 1;
        }
        let injected = inject.close().len();
        assert_eq!(popped + stolen + injected, CAPACITY + 1);
        assert_eq!(freed.load(SeqCst), CAPACITY + 1);
    });
}

#[test]
fn loom_two_thieves() {
    loom::model(|| {
        let freed = Arc::new(AtomicUsize::new(0));
        let inject = Inject::new();
        let (mut owner, steal) = queue::new();
        for _ in 0..3 {
            owner.push_back(task(&freed), &inject);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                loom::thread::spawn(move || {
                    let (mut mine, _) = queue::new();
                    steal.steal_into(&mut mine).map_or(0, |(_, n)| n as usize)
                })
            })
            .collect();
        let popped = usize::from(owner.pop().is_some());
        let stolen: usize = thieves.into_iter().map(|t| t.join().unwrap()).sum();
        let rest = std::iter::from_fn(|| owner.pop()).count();
        assert_eq!(popped + stolen + rest, 3);
        assert_eq!(freed.load(SeqCst), 3);
    });
}

#[test]
fn loom_inject_push_pop_close() {
    loom::model(|| {
        let freed = Arc::new(AtomicUsize::new(0));
        let inject = Arc::new(Inject::new());
        let pushers: Vec<_> = (0..2)
            .map(|_| {
                let (inject, freed) = (inject.clone(), freed.clone());
                loom::thread::spawn(move || usize::from(inject.push(task(&freed))))
            })
            .collect();
        let popped = usize::from(inject.pop().is_some());
        let closed = inject.close().len();
        let accepted: usize = pushers.into_iter().map(|t| t.join().unwrap()).sum();
        // Tasks pushed after close were refused (and dropped by `push`).
        assert_eq!(popped + closed, accepted);
        assert!(inject.pop().is_none());
        assert_eq!(freed.load(SeqCst), 2);
    });
}

#[test]
fn loom_batch_from_inject_vs_steal() {
    // A worker refills its queue from the injection queue while a thief is copying from
    // that queue: the refill must not wait on (or push into) the injection queue it holds.
    loom::model(|| {
        let freed = Arc::new(AtomicUsize::new(0));
        let inject = Inject::new();
        let (mut owner, steal) = queue::new();
        for _ in 0..2 {
            owner.push_back(task(&freed), &inject);
        }
        for _ in 0..CAPACITY {
            inject.push(task(&freed));
        }
        let thief = loom::thread::spawn(move || {
            let (mut mine, _) = queue::new();
            steal.steal_into(&mut mine).map_or(0, |(_, n)| n as usize)
        });
        let mut ran = 0;
        while owner.pop().is_some() {
            ran += 1;
        }
        if inject
            .pop_batch(CAPACITY, |t| owner.try_push_back(t))
            .is_some()
        {
            ran += 1;
        }
        let stolen = thief.join().unwrap();
        ran += std::iter::from_fn(|| owner.pop()).count();
        let left = inject.close().len();
        assert_eq!(ran + stolen + left, 2 + CAPACITY);
        assert_eq!(freed.load(SeqCst), 2 + CAPACITY);
    });
}

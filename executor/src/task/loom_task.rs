//! loom models of the task state machine: every interleaving of a wake, the task's
//! completion, the `JoinHandle` being dropped or polled, and `abort`.
//!
//! Each model checks that the future and the output are dropped exactly once, that the
//! allocation is freed exactly once (the scheduler hook inside it counts its own drop),
//! and that a `JoinHandle` waiting for the output is always woken.
//!
//! [`loom_wake_by_val_vs_executor_teardown`] checks the invariant of issue 12: a scheduler
//! is never freed while a `schedule` call is still using it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use super::{new, JoinHandle, RawTask, Run, Schedule, Task};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};

/// Counts drops.
struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A scheduler that queues tasks for the model's main thread to run.
struct Queue {
    tasks: Arc<Mutex<Vec<Task>>>,
    _freed: Token,
}

impl Schedule for Queue {
    fn schedule(&self, task: Task) {
        self.tasks.lock().push(task);
    }
}

/// Pending on its first poll (publishing its waker), ready with an output on the next.
struct TwoPolls {
    polled: bool,
    waker: Arc<Mutex<Option<Waker>>>,
    output: Option<Token>,
    _dropped: Token,
}

impl Future for TwoPolls {
    type Output = Token;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Token> {
        if self.polled {
            return Poll::Ready(self.output.take().unwrap());
        }
        self.polled = true;
        *self.waker.lock() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Unpin for TwoPolls {}

struct Counters {
    future: Arc<AtomicUsize>,
    output: Arc<AtomicUsize>,
    freed: Arc<AtomicUsize>,
}

struct Setup {
    queue: Arc<Mutex<Vec<Task>>>,
    waker: Arc<Mutex<Option<Waker>>>,
    join: JoinHandle<Token>,
    counters: Counters,
}

/// Spawns a `TwoPolls` task and runs its first poll, so that its waker is out.
fn setup() -> Setup {
    let counters = Counters {
        future: Arc::new(AtomicUsize::new(0)),
        output: Arc::new(AtomicUsize::new(0)),
        freed: Arc::new(AtomicUsize::new(0)),
    };
    let queue = Arc::new(Mutex::new(Vec::new()));
    let waker = Arc::new(Mutex::new(None));
    let fut = TwoPolls {
        polled: false,
        waker: waker.clone(),
        output: Some(Token(counters.output.clone())),
        _dropped: Token(counters.future.clone()),
    };
    let sched = Queue {
        tasks: queue.clone(),
        _freed: Token(counters.freed.clone()),
    };
    let (task, join, _) = new(fut, sched, false);
    assert!(matches!(task.run(), Run::Idle));
    Setup {
        queue,
        waker,
        join,
        counters,
    }
}

/// Runs queued tasks until none is left.
fn drain(queue: &Mutex<Vec<Task>>) {
    loop {
        let Some(task) = queue.lock().pop() else {
            return;
        };
        if let Run::Yielded(t) = task.run() {
            queue.lock().push(t);
        }
    }
}

struct FlagWaker(AtomicBool);

impl Wake for FlagWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn loom_wake_vs_complete_vs_join_handle_drop() {
    loom::model(|| {
        let s = setup();
        let waker = s.waker.lock().take().unwrap();
        let q = s.queue.clone();
        // A thread wakes the task and runs it to completion...
        let runner = loom::thread::spawn(move || {
            waker.wake();
            drain(&q);
        });
        // ...while the JoinHandle is dropped here.
        drop(s.join);
        runner.join().unwrap();
        drain(&s.queue);
        assert_eq!(s.counters.future.load(SeqCst), 1);
        assert_eq!(s.counters.output.load(SeqCst), 1);
        assert_eq!(s.counters.freed.load(SeqCst), 1);
    });
}

#[test]
fn loom_abort_vs_wake() {
    loom::model(|| {
        let s = setup();
        let waker = s.waker.lock().take().unwrap();
        let join = s.join;
        let aborter = loom::thread::spawn(move || {
            join.abort();
            join
        });
        // Wake by reference from here, racing with the abort.
        waker.wake_by_ref();
        drop(waker);
        let join = aborter.join().unwrap();
        drain(&s.queue);
        // Either the abort or the second poll won; both are complete and dropped the future.
        assert_eq!(s.counters.future.load(SeqCst), 1);
        let mut join = join;
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut join).poll(&mut cx) {
            Poll::Ready(Ok(token)) => drop(token),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("the task is complete"),
        }
        drop(join);
        assert_eq!(s.counters.output.load(SeqCst), 1);
        assert_eq!(s.counters.freed.load(SeqCst), 1);
    });
}

#[test]
fn loom_complete_vs_join_handle_poll() {
    loom::model(|| {
        let s = setup();
        let waker = s.waker.lock().take().unwrap();
        let q = s.queue.clone();
        let runner = loom::thread::spawn(move || {
            waker.wake();
            drain(&q);
        });
        let flag = std::sync::Arc::new(FlagWaker(AtomicBool::new(false)));
        let join_waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&join_waker);
        let mut join = s.join;
        let first = Pin::new(&mut join).poll(&mut cx);
        runner.join().unwrap();
        let token = match first {
            Poll::Ready(out) => out.unwrap(),
            Poll::Pending => {
                // The completion must have woken us: no lost join wake-up.
                assert!(flag.0.load(SeqCst), "JoinHandle not woken");
                match Pin::new(&mut join).poll(&mut cx) {
                    Poll::Ready(out) => out.unwrap(),
                    Poll::Pending => panic!("woken but not ready"),
                }
            }
        };
        drop(token);
        drop(join);
        assert_eq!(s.counters.future.load(SeqCst), 1);
        assert_eq!(s.counters.output.load(SeqCst), 1);
        assert_eq!(s.counters.freed.load(SeqCst), 1);
    });
}

#[test]
fn loom_abort_vs_complete_vs_join_drop() {
    loom::model(|| {
        let s = setup();
        let waker = s.waker.lock().take().unwrap();
        let q = s.queue.clone();
        let runner = loom::thread::spawn(move || {
            waker.wake();
            drain(&q);
        });
        s.join.abort();
        drop(s.join);
        runner.join().unwrap();
        drain(&s.queue);
        assert_eq!(s.counters.future.load(SeqCst), 1);
        // The output exists only if the second poll won the race, and is dropped once.
        assert!(s.counters.output.load(SeqCst) == 1);
        assert_eq!(s.counters.freed.load(SeqCst), 1);
    });
}

/// A scheduler shaped like the executors' remote queues: a queue that the executor's drop
/// closes, and work done *after* the push (where a real executor unparks a thread). Its
/// destructor fails the model if a `schedule` call is still running: that call would go
/// on to use the freed scheduler.
struct Teardown {
    /// `None` once the "executor" has been dropped.
    queue: Arc<Mutex<Option<Vec<Task>>>>,
    /// `schedule` calls in progress.
    in_schedule: Arc<AtomicUsize>,
    /// Stands for the unparker an executor calls after pushing.
    unparks: AtomicUsize,
    _freed: Token,
}

impl Schedule for Teardown {
    fn schedule(&self, task: Task) {
        let calls = self.in_schedule.clone();
        calls.fetch_add(1, SeqCst);
        let rejected = {
            let mut q = self.queue.lock();
            match &mut *q {
                Some(tasks) => {
                    tasks.push(task);
                    None
                }
                None => Some(task),
            }
        };
        // A closed queue drops the task, outside the lock, as `push_remote` does.
        drop(rejected);
        // After the push: what `push_remote`'s `unpark` or `notify_parked` does.
        self.unparks.fetch_add(1, SeqCst);
        calls.fetch_sub(1, SeqCst);
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        assert_eq!(
            self.in_schedule.load(SeqCst),
            0,
            "the scheduler was freed while a `schedule` call was still using it"
        );
    }
}

/// Issue 12: a wake by value from another thread while the executor is dropped.
///
/// The real task code (state machine, raw waker vtable, `schedule`, shutdown and release)
/// runs against a [`Teardown`] scheduler. The task is owned (a list reference, as both
/// executors keep), its `JoinHandle` was dropped, and its waker is out after a first poll.
/// One thread wakes it by value; the main thread does what `LocalExecutor`'s drop does:
/// close the queue and drop what is queued, then shut the owned task down and release the
/// list's reference. The model checks that the scheduler outlives every `schedule` call,
/// and that the future and the allocation are dropped exactly once.
///
/// What it leaves out: the executors' own queues, parkers and worker loops (a mutex-guarded
/// `Vec` and one atomic stand in for them), the multi-threaded executor's idle and
/// injection protocols (they have their own models in `multi/`), the fast path that pushes
/// to the owner's local queue (a wake on the owner thread, which cannot race its drop), a
/// task being polled during the teardown (an executor's drop never overlaps its polls), and
/// more than one waker.
#[test]
fn loom_wake_by_val_vs_executor_teardown() {
    loom::model(|| {
        let counters = Counters {
            future: Arc::new(AtomicUsize::new(0)),
            output: Arc::new(AtomicUsize::new(0)),
            freed: Arc::new(AtomicUsize::new(0)),
        };
        let queue = Arc::new(Mutex::new(Some(Vec::new())));
        let waker_slot = Arc::new(Mutex::new(None));
        let fut = TwoPolls {
            polled: false,
            waker: waker_slot.clone(),
            output: Some(Token(counters.output.clone())),
            _dropped: Token(counters.future.clone()),
        };
        let sched = Teardown {
            queue: queue.clone(),
            in_schedule: Arc::new(AtomicUsize::new(0)),
            unparks: AtomicUsize::new(0),
            _freed: Token(counters.freed.clone()),
        };
        let (task, join, owned): (Task, JoinHandle<Token>, RawTask) = new(fut, sched, true);
        drop(join);
        assert!(matches!(task.run(), Run::Idle));
        let waker: Waker = waker_slot.lock().take().unwrap();

        let waking = loom::thread::spawn(move || waker.wake());

        // The executor's drop.
        let queued = queue.lock().take().unwrap();
        drop(queued);
        // SAFETY: `owned` is the list's reference, ours now; nothing polls the task.
        unsafe {
            owned.shutdown();
            owned.release();
        }

        waking.join().unwrap();
        assert_eq!(counters.future.load(SeqCst), 1);
        assert_eq!(counters.output.load(SeqCst), 1);
        assert_eq!(counters.freed.load(SeqCst), 1);
    });
}

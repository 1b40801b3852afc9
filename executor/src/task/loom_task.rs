//! loom models of the task state machine: every interleaving of a wake, the task's
//! completion, the `JoinHandle` being dropped or polled, and `abort`.
//!
//! Each model checks that the future and the output are dropped exactly once, that the
//! allocation is freed exactly once (the scheduler hook inside it counts its own drop),
//! and that a `JoinHandle` waiting for the output is always woken.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use super::{new, JoinHandle, Run, Schedule, Task};
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

//! loom model of the waker slots ([`io_state`](crate::io_state)). Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-reactor --lib -- loom`.

use crate::io_state::{Direction, IoState};
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::Arc;
use crate::readiness::READABLE;
use loom::sync::atomic::AtomicBool;
use std::task::{Context, Wake, Waker};

/// A waker that records that it was called.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag_waker() -> (std::sync::Arc<Flag>, Waker) {
    let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
    (flag.clone(), Waker::from(flag))
}

/// A task registers its waker while the poller sets readiness and takes wakers: either
/// the task sees readiness or its waker is called.
#[test]
fn loom_waker_slot_register_vs_wake() {
    loom::model(|| {
        let io = Arc::new(IoState::new());
        let (flag, waker) = flag_waker();

        let poller = {
            let io = io.clone();
            loom::thread::spawn(move || {
                let mut out = Vec::new();
                io.set_and_take(1, READABLE, &mut out);
                for w in out {
                    w.wake();
                }
            })
        };
        let mut cx = Context::from_waker(&waker);
        let ready = io.poll_ready(Direction::Read, &mut cx).is_ready();
        poller.join().unwrap();
        assert!(ready || flag.0.load(Ordering::SeqCst), "lost wake-up");
    });
}

/// Two tasks wait on the same direction while the poller sets readiness: each of them
/// either sees readiness or is woken.
#[test]
fn loom_waker_slot_two_waiters() {
    loom::model(|| {
        let io = Arc::new(IoState::new());
        let (first, w1) = flag_waker();
        let (second, w2) = flag_waker();

        let other_task = {
            let io = io.clone();
            loom::thread::spawn(move || {
                io.poll_ready(Direction::Read, &mut Context::from_waker(&w2))
                    .is_ready()
            })
        };
        let poller = {
            let io = io.clone();
            loom::thread::spawn(move || {
                let mut out = Vec::new();
                io.set_and_take(1, READABLE, &mut out);
                for w in out {
                    w.wake();
                }
            })
        };
        let mine = io
            .poll_ready(Direction::Read, &mut Context::from_waker(&w1))
            .is_ready();
        let theirs = other_task.join().unwrap();
        poller.join().unwrap();
        assert!(mine || first.0.load(Ordering::SeqCst), "first waiter lost");
        assert!(
            theirs || second.0.load(Ordering::SeqCst),
            "second waiter lost"
        );
    });
}

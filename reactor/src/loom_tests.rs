//! loom models of the reactor's atomic protocols. Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-reactor --lib -- loom`.

use crate::io_state::{Direction, IoState};
use crate::loom::sync::atomic::{AtomicU8, Ordering};
use crate::loom::sync::Arc;
use crate::park::{Begin, ParkState, Unpark};
use crate::readiness::{next_tick, Clear, ReadinessWord, READABLE};
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

/// The driver sets readiness (new tick) while a task clears what it saw at the old tick:
/// the new event is never erased. The ticks straddle the old 16-bit wrap (0xffff, then
/// 0x1_0000), where a 16-bit tick would have read 0xffff then 0.
#[test]
fn loom_readiness_word_set_vs_clear() {
    const OLD: u64 = 0xffff;
    const NEW: u64 = next_tick(OLD);
    loom::model(|| {
        let word = Arc::new(ReadinessWord::new());
        word.set(OLD, READABLE);

        let task = {
            let word = word.clone();
            loom::thread::spawn(move || {
                let seen = word.load();
                let cleared = word.clear(seen.tick(), READABLE);
                (seen.tick(), cleared)
            })
        };
        word.set(NEW, READABLE); // the driver: a new edge
        let (seen_tick, cleared) = task.join().unwrap();

        let last = word.load();
        assert_eq!(last.tick(), NEW);
        if last.ready() & READABLE == 0 {
            // Readiness may only be gone if the task cleared what it had seen at the new
            // tick, i.e. after the new event, which its next operation will consume.
            assert_eq!(cleared, Clear::Cleared);
            assert_eq!(
                seen_tick, NEW,
                "an event newer than the task's look was lost"
            );
        }
    });
}

/// A task registers its waker while the driver sets readiness and takes wakers: either
/// the task sees readiness or its waker is called.
#[test]
fn loom_waker_slot_register_vs_wake() {
    loom::model(|| {
        let io = Arc::new(IoState::new());
        let (flag, waker) = flag_waker();

        let driver = {
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
        driver.join().unwrap();
        assert!(ready || flag.0.load(Ordering::SeqCst), "lost wake-up");
    });
}

/// Two tasks wait on the same direction while the driver sets readiness: each of them
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
        let driver = {
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
        driver.join().unwrap();
        assert!(mine || first.0.load(Ordering::SeqCst), "first waiter lost");
        assert!(
            theirs || second.0.load(Ordering::SeqCst),
            "second waiter lost"
        );
    });
}

/// A wake arriving around a driver's wait is never lost: the wait either does not block
/// or is ended through the selector; a wake after the wait is kept for the next one.
#[test]
fn loom_unpark_vs_park() {
    loom::model(|| {
        let park = Arc::new(ParkState::new());
        // Stands in for the selector's eventfd.
        let selector_woken = Arc::new(AtomicU8::new(0));

        let waker = {
            let park = park.clone();
            let selector_woken = selector_woken.clone();
            loom::thread::spawn(move || {
                let u = park.unpark();
                if u == Unpark::WakeSelector {
                    selector_woken.store(1, Ordering::SeqCst);
                }
                u
            })
        };

        let begin = park.begin();
        if begin == Begin::Block {
            // The blocking wait: it can only end through the "eventfd". Were a wake lost
            // here, this loop would spin forever and loom would fail the model.
            while selector_woken.load(Ordering::SeqCst) == 0 {
                loom::thread::yield_now();
            }
        }
        park.end();
        let unpark = waker.join().unwrap();
        if unpark == Unpark::Recorded {
            // The wake came before the wait (consumed by begin) or after it (kept).
            let next = park.begin();
            park.end();
            assert!(
                begin == Begin::DontBlock || next == Begin::DontBlock,
                "a recorded wake was dropped"
            );
        } else {
            assert_eq!(selector_woken.load(Ordering::SeqCst), 1);
        }
    });
}

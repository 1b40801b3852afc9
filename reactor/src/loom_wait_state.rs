//! loom model of the poller's wait state ([`wait_state`](crate::wait_state)). Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-reactor --lib -- loom`.

use crate::loom::sync::atomic::{AtomicU8, Ordering};
use crate::loom::sync::Arc;
use crate::wait_state::{Begin, Unpark, WaitState};

/// A wake arriving around a poller's wait is never lost: the wait either does not block
/// or is ended through the selector; a wake after the wait is kept for the next one.
#[test]
fn loom_unpark_vs_park() {
    loom::model(|| {
        let park = Arc::new(WaitState::new());
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

//! loom model of the readiness word ([`readiness`](crate::readiness)). Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-reactor --lib -- loom`.

use crate::loom::sync::Arc;
use crate::readiness::{next_tick, Clear, ReadinessWord, READABLE};

/// The poller sets readiness (new tick) while a task clears what it saw at the old tick:
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
        word.set(NEW, READABLE); // the poller: a new edge
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

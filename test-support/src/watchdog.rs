//! Bounding a test in time.

use std::sync::mpsc;
use std::time::Duration;

/// `limit`, or ten times `limit` under valgrind.
///
/// `.ci/valgrind` sets `PLY_UNDER_VALGRIND`: valgrind runs one thread at a time and each
/// instruction dozens of times slower, and a heavy test (the executor's million tasks)
/// shares that one thread of execution with the others. Ten times the bound still turns
/// a hang into a failure.
pub fn time_limit(limit: Duration) -> Duration {
    if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        limit * 10
    } else {
        limit
    }
}

/// Aborts the whole test process if not dropped within [`time_limit`]`(limit)`.
///
/// Hold it for the length of the test: `let _w = watchdog("name", Duration::from_secs(30));`.
/// A hang then fails loudly, naming the test, instead of blocking CI. Abort rather than
/// panic because the hung code may hold the test thread.
#[derive(Debug)]
#[must_use = "the watchdog is disarmed when dropped: bind it to `_w`, not `_`"]
pub struct Watchdog {
    _done: mpsc::Sender<()>,
}

/// Arms a [`Watchdog`] for the test `name`.
pub fn watchdog(name: &'static str, limit: Duration) -> Watchdog {
    let limit = time_limit(limit);
    let (done, wait) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        // Dropping the guard drops the sender: `Disconnected` ends the thread quietly.
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            eprintln!("watchdog: test `{name}` still running after {limit:?}; aborting");
            std::process::abort();
        }
    });
    Watchdog { _done: done }
}

/// Runs `f` on its own thread and fails the test (a panic, not an abort) if it takes
/// longer than [`time_limit`]`(limit)`. A panic in `f` is re-raised here.
pub fn with_watchdog<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let limit = time_limit(limit);
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: test still running after {limit:?}")
        }
    }
}

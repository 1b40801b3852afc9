//! Memory safety and panic safety of tasks (issue 12): a wake by value racing the
//! executor's drop, a `JoinHandle` waker that panics, and `block_on` inside a task.
//!
//! The race tests are bounded both by a round count and by wall-clock time, and run more
//! rounds in release builds. The stress run is:
//!
//! ```text
//! cargo test --release -p ply-executor --test safety
//! ```
//!
//! `docs/safety.md` has the AddressSanitizer and valgrind commands.

mod util;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ply_executor::park::{Park, ThreadParker, Unpark};
use ply_executor::{Executor, JoinHandle, LocalExecutor};
use util::{watchdog, DropCounter, DropToken};

/// Rounds and wall-clock time each race test may use, whichever runs out first.
fn race_budget() -> (usize, Duration) {
    if cfg!(debug_assertions) {
        (20_000, Duration::from_secs(3))
    } else {
        (200_000, Duration::from_secs(10))
    }
}

/// Pending forever; hands its waker out on the first poll and counts its own drop.
struct HandOutWaker {
    tx: Option<mpsc::Sender<Waker>>,
    _dropped: DropToken,
}

impl Future for HandOutWaker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A thread that wakes, by value, every waker it is sent, and acknowledges each one.
struct Waker2 {
    tx: Option<mpsc::Sender<Waker>>,
    done: mpsc::Receiver<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Waker2 {
    fn start() -> Waker2 {
        let (tx, rx) = mpsc::channel::<Waker>();
        let (done_tx, done) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for w in rx {
                w.wake();
                let _ = done_tx.send(());
            }
        });
        Waker2 {
            tx: Some(tx),
            done,
            thread: Some(thread),
        }
    }

    fn wake(&self, w: Waker) {
        self.tx.as_ref().unwrap().send(w).unwrap();
    }

    fn wait_done(&self) {
        self.done
            .recv_timeout(Duration::from_secs(10))
            .expect("waker thread stuck");
    }
}

impl Drop for Waker2 {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// The handshake that holds a waking thread inside the executor's `unpark` until the
/// executor has been dropped: the widest possible window for the use-after-free of issue
/// 12, made deterministic.
#[derive(Default)]
struct Gate {
    /// Set by the test for one wake-up; the first `unpark` to see it takes it.
    armed: AtomicBool,
    /// Set by that `unpark` once it is inside.
    inside: AtomicBool,
    /// Set by the test once the executor is dropped.
    dropped: AtomicBool,
}

/// A thread parker whose unparker waits at the gate.
struct GatedParker {
    inner: ThreadParker,
    gate: Arc<Gate>,
}

#[derive(Clone)]
struct GatedUnparker {
    inner: <ThreadParker as Park>::Unparker,
    gate: Arc<Gate>,
}

impl Unpark for GatedUnparker {
    fn unpark(&self) {
        if self.gate.armed.swap(false, SeqCst) {
            self.gate.inside.store(true, SeqCst);
            let deadline = Instant::now() + Duration::from_millis(500);
            while !self.gate.dropped.load(SeqCst) && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        // Before the fix the executor, and this unparker with it, may be freed by now: this
        // read is the use-after-free that AddressSanitizer reports.
        self.inner.unpark();
    }
}

impl Park for GatedParker {
    type Unparker = GatedUnparker;
    fn unparker(&self) -> GatedUnparker {
        GatedUnparker {
            inner: self.inner.unparker(),
            gate: self.gate.clone(),
        }
    }
    fn park(&mut self) {
        self.inner.park();
    }
    fn park_timeout(&mut self, timeout: Duration) {
        self.inner.park_timeout(timeout);
    }
}

/// Waits (bounded) until `cond` holds.
fn wait_until(cond: impl Fn() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// Spawns `spawn` on an executor made by `make`, with its `JoinHandle` dropped (so the
/// executor's drop may free the task), takes the task's waker, has another thread wake it
/// by value and drops the executor meanwhile. With `gate`, the wake is held inside the
/// executor's `unpark` until the drop is over. Returns the futures spawned (one).
fn wake_by_val_round<E>(
    waker_thread: &Waker2,
    dropped: &DropCounter,
    gate: Option<&Gate>,
    make: impl FnOnce() -> E,
    spawn: impl FnOnce(&E, HandOutWaker),
    idle: impl Fn(&E) -> bool,
) -> usize {
    let ex = make();
    let (tx, rx) = mpsc::channel();
    spawn(
        &ex,
        HandOutWaker {
            tx: Some(tx),
            _dropped: dropped.token(),
        },
    );
    let w = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the task was polled");
    // The wake-up must find the executor idle (parked) to take the path that unparks it.
    let _ = wait_until(|| idle(&ex), Duration::from_secs(1));
    if let Some(gate) = gate {
        gate.inside.store(false, SeqCst);
        gate.dropped.store(false, SeqCst);
        gate.armed.store(true, SeqCst);
    }
    waker_thread.wake(w);
    if let Some(gate) = gate {
        // Bounded: if the wake took another path there is no unpark to wait for.
        let _ = wait_until(|| gate.inside.load(SeqCst), Duration::from_millis(200));
    }
    drop(ex);
    if let Some(gate) = gate {
        gate.armed.store(false, SeqCst);
        gate.dropped.store(true, SeqCst);
    }
    waker_thread.wait_done();
    1
}

fn local_round(w: &Waker2, dropped: &DropCounter, gate: Option<&Arc<Gate>>) -> usize {
    wake_by_val_round(
        w,
        dropped,
        gate.map(|g| &**g),
        || match gate {
            Some(g) => LocalExecutor::with_parker(GatedParker {
                inner: ThreadParker::new(),
                gate: g.clone(),
            }),
            None => LocalExecutor::with_parker(GatedParker {
                inner: ThreadParker::new(),
                gate: Arc::default(),
            }),
        },
        |ex, f| {
            drop(ex.spawn_local(f));
            ex.run_until_idle();
        },
        |_| true,
    )
}

fn multi_round(w: &Waker2, dropped: &DropCounter, gate: Option<&Arc<Gate>>) -> usize {
    let gate2 = gate.cloned().unwrap_or_default();
    wake_by_val_round(
        w,
        dropped,
        gate.map(|g| &**g),
        || {
            Executor::builder()
                .worker_threads(1)
                // One worker: it always waits in the driver, so the wake's unpark goes
                // through the gated parker.
                .build_with_driver(GatedParker {
                    inner: ThreadParker::new(),
                    gate: gate2.clone(),
                })
                .unwrap()
        },
        |ex, f| drop(ex.spawn(f)),
        // Parked after polling the task (the first park may precede the spawn).
        |ex| ex.handle().worker_metrics(0).parks >= 1 && ex.handle().metrics().polled >= 1,
    )
}

/// Runs `round` (which returns how many futures it spawned) until the budget is spent;
/// returns the rounds run.
fn race(round: impl Fn(&Waker2, &DropCounter) -> usize, rounds: usize, time: Duration) -> usize {
    let waker_thread = Waker2::start();
    let dropped = DropCounter::default();
    let start = Instant::now();
    let (mut n, mut spawned) = (0, 0);
    while n < rounds && start.elapsed() < time {
        spawned += round(&waker_thread, &dropped);
        n += 1;
        // Every future was dropped exactly once, by its executor's drop.
        assert_eq!(dropped.count(), spawned);
    }
    n
}

#[test]
fn wake_by_val_races_local_executor_drop() {
    let (rounds, time) = race_budget();
    let _w = watchdog("wake_by_val_races_local_executor_drop", 60);
    let gate = Arc::new(Gate::default());
    let n = race(|w, d| local_round(w, d, Some(&gate)), rounds / 10, time);
    assert!(n >= 1);
}

#[test]
fn wake_by_val_races_executor_drop() {
    let (rounds, time) = race_budget();
    let _w = watchdog("wake_by_val_races_executor_drop", 60);
    let gate = Arc::new(Gate::default());
    let n = race(|w, d| multi_round(w, d, Some(&gate)), rounds / 10, time);
    assert!(n >= 1);
}

/// The release-mode stress run: both executors, alternately, no gate (the natural race),
/// for the whole budget.
#[test]
fn stress_wake_by_val_vs_drop() {
    let (rounds, time) = race_budget();
    let _w = watchdog("stress_wake_by_val_vs_drop", 120);
    let both = |w: &Waker2, d: &DropCounter| local_round(w, d, None) + multi_round(w, d, None);
    let n = race(both, rounds, time);
    assert!(n >= 1);
}

/// A waker that panics when woken, as a buggy foreign runtime's might.
struct PanickingWaker {
    woken: AtomicUsize,
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.fetch_add(1, SeqCst);
        panic!("join waker panics on purpose");
    }
}

/// Polls `h` once with a waker that panics when woken, so that its task's completion
/// calls it.
fn register_panicking_waker<T>(h: &mut JoinHandle<T>) -> Arc<PanickingWaker> {
    let pw = Arc::new(PanickingWaker {
        woken: AtomicUsize::new(0),
    });
    let waker = Waker::from(pw.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(h).poll(&mut cx).is_pending());
    pw
}

/// Reads a finished task's output without registering a waker.
fn take_output<T>(h: &mut JoinHandle<T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(h).poll(&mut cx) {
        Poll::Ready(out) => out.expect("the task returned"),
        Poll::Pending => panic!("the task is not finished"),
    }
}

const OTHERS: usize = 100;

#[test]
fn panicking_join_waker_local_executor() {
    let _w = watchdog("panicking_join_waker_local_executor", 30);
    let ex = LocalExecutor::new();
    let output = DropCounter::default();
    let pending = DropCounter::default();
    let ran = Arc::new(AtomicUsize::new(0));

    let (tx, rx) = util::oneshot::<()>();
    let token = output.token();
    let mut h = ex.spawn_local(async move {
        rx.await;
        token
    });
    ex.run_until_idle();
    let pw = register_panicking_waker(&mut h);

    // 100 tasks queued behind the one whose completion panics, and 100 that never finish.
    let others: Vec<_> = (0..OTHERS)
        .map(|_| {
            let ran = ran.clone();
            ex.spawn_local(async move {
                ran.fetch_add(1, SeqCst);
            })
        })
        .collect();
    let _forever: Vec<_> = (0..OTHERS)
        .map(|_| {
            let t = pending.token();
            ex.spawn_local(async move {
                std::future::pending::<()>().await;
                drop(t);
            })
        })
        .collect();
    tx.send(());
    let run = panic::catch_unwind(AssertUnwindSafe(|| ex.run_until_idle()));
    assert!(
        run.is_ok(),
        "a panicking join waker unwound into the executor"
    );
    assert_eq!(pw.woken.load(SeqCst), 1);
    assert_eq!(ran.load(SeqCst), OTHERS);
    assert!(others.iter().all(|h| h.is_finished()));

    // The output is still there, and is dropped once, with the handle.
    drop(take_output(&mut h));
    drop(h);
    assert_eq!(output.count(), 1);

    let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(ex)));
    assert!(dropped.is_ok(), "dropping the executor panicked");
    assert_eq!(pending.count(), OTHERS);
}

#[test]
fn panicking_join_waker_executor() {
    let _w = watchdog("panicking_join_waker_executor", 30);
    // One worker: if it dies, nothing else runs the tasks.
    let ex = Executor::builder().worker_threads(1).build().unwrap();
    let output = DropCounter::default();
    let pending = DropCounter::default();
    let ran = Arc::new(AtomicUsize::new(0));

    let (tx, rx) = util::oneshot::<()>();
    let token = output.token();
    let r = ran.clone();
    let mut h = ex.spawn(async move {
        rx.await;
        // Fill the worker's queue (and LIFO slot) just before completing.
        for _ in 0..OTHERS {
            let ran = r.clone();
            ply_executor::spawn(async move {
                ran.fetch_add(1, SeqCst);
            });
        }
        token
    });
    let pw = register_panicking_waker(&mut h);
    let _forever: Vec<_> = (0..OTHERS)
        .map(|_| {
            let t = pending.token();
            ex.spawn(async move {
                std::future::pending::<()>().await;
                drop(t);
            })
        })
        .collect();
    tx.send(());

    let deadline = Instant::now() + Duration::from_secs(10);
    while ran.load(SeqCst) < OTHERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ran.load(SeqCst), OTHERS, "the worker stopped running tasks");
    assert_eq!(pw.woken.load(SeqCst), 1);
    // The executor still runs new work.
    assert_eq!(ex.block_on(ex.spawn(async { 5 })).unwrap(), 5);

    while !h.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(take_output(&mut h));
    drop(h);
    assert_eq!(output.count(), 1);

    let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(ex)));
    assert!(dropped.is_ok(), "dropping the executor panicked");
    assert_eq!(pending.count(), OTHERS);
}

fn panic_message(err: ply_executor::JoinError) -> String {
    let payload = err.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a message")
}

#[test]
fn block_on_inside_executor_task_panics() {
    let _w = watchdog("block_on_inside_executor_task_panics", 30);
    let ex = Executor::builder().worker_threads(2).build().unwrap();
    let h = ex.spawn(async { ply_executor::block_on(async { 1 }) });
    let err = ex.block_on(h).unwrap_err();
    let msg = panic_message(err);
    assert!(msg.contains("block_on") && msg.contains(".await"), "{msg}");
    // The worker survived it.
    assert_eq!(ex.block_on(ex.spawn(async { 2 })).unwrap(), 2);
    // From the executor's blocking pool, `block_on` is fine.
    let h = ex.spawn(async {
        ply_executor::spawn_blocking(|| ply_executor::block_on(async { 3 })).await
    });
    assert_eq!(ex.block_on(h).unwrap().unwrap(), 3);
}

#[test]
fn block_on_inside_local_task_panics() {
    let _w = watchdog("block_on_inside_local_task_panics", 30);
    let ex = LocalExecutor::new();
    let h = ex.spawn_local(async { ply_executor::block_on(async { 1 }) });
    let err = ex.block_on(h).unwrap_err();
    let msg = panic_message(err);
    assert!(msg.contains("block_on") && msg.contains(".await"), "{msg}");
    assert_eq!(ex.block_on(ex.spawn_local(async { 2 })).unwrap(), 2);
}

#[test]
fn block_on_outside_tasks_still_works() {
    let _w = watchdog("block_on_outside_tasks_still_works", 30);
    // A plain thread, nested.
    let v = ply_executor::block_on(async { ply_executor::block_on(async { 1 }) + 1 });
    assert_eq!(v, 2);
    // Another plain thread.
    let v = std::thread::spawn(|| ply_executor::block_on(async { 3 }))
        .join()
        .unwrap();
    assert_eq!(v, 3);
    // The executors' own `block_on`, which use it (or their own loop) from outside tasks.
    let ex = Executor::builder().worker_threads(1).build().unwrap();
    assert_eq!(ex.block_on(async { 4 }), 4);
    let local = LocalExecutor::new();
    assert_eq!(local.block_on(async { 5 }), 5);
    // Inside `Executor::block_on`'s main future (not a task), a nested `block_on` is allowed.
    assert_eq!(
        ex.block_on(async { ply_executor::block_on(async { 6 }) }),
        6
    );
}

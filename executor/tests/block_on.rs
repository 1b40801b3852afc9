//! `block_on`, `block_on_with` and custom parkers.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ply_executor::park::{Park, ThreadParker, Unpark};
use ply_executor::{Executor, LocalExecutor};
use util::{watchdog, YieldTimes};

/// A parker that counts parks and unparks around a `ThreadParker`.
struct Counting {
    inner: ThreadParker,
    parks: Arc<AtomicUsize>,
    unparks: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct CountingUnparker {
    inner: <ThreadParker as Park>::Unparker,
    unparks: Arc<AtomicUsize>,
}

impl Unpark for CountingUnparker {
    fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::SeqCst);
        self.inner.unpark();
    }
}

impl Park for Counting {
    type Unparker = CountingUnparker;
    fn unparker(&self) -> CountingUnparker {
        CountingUnparker {
            inner: self.inner.unparker(),
            unparks: self.unparks.clone(),
        }
    }
    fn park(&mut self) {
        self.parks.fetch_add(1, Ordering::SeqCst);
        self.inner.park();
    }
    fn park_timeout(&mut self, d: Duration) {
        self.parks.fetch_add(1, Ordering::SeqCst);
        self.inner.park_timeout(d);
    }
}

fn counting() -> (Counting, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let parks = Arc::new(AtomicUsize::new(0));
    let unparks = Arc::new(AtomicUsize::new(0));
    (
        Counting {
            inner: ThreadParker::new(),
            parks: parks.clone(),
            unparks: unparks.clone(),
        },
        parks,
        unparks,
    )
}

fn wake_later() -> impl std::future::Future<Output = u32> {
    let mut started = false;
    std::future::poll_fn(move |cx| {
        if started {
            return std::task::Poll::Ready(9);
        }
        started = true;
        let w = cx.waker().clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            w.wake();
        });
        std::task::Poll::Pending
    })
}

#[test]
fn block_on_runs_futures_woken_from_other_threads() {
    let _w = watchdog("block_on", 30);
    assert_eq!(ply_executor::block_on(wake_later()), 9);
    // Nested block_on does not steal the outer one's wake-ups.
    let v = ply_executor::block_on(async {
        let inner = ply_executor::block_on(wake_later());
        inner + wake_later().await
    });
    assert_eq!(v, 18);
    ply_executor::block_on(YieldTimes(100));
}

#[test]
fn block_on_with_uses_the_given_parker() {
    let _w = watchdog("block_on_with", 30);
    let (mut p, parks, unparks) = counting();
    assert_eq!(ply_executor::block_on_with(&mut p, wake_later()), 9);
    assert!(parks.load(Ordering::SeqCst) >= 1);
    assert!(unparks.load(Ordering::SeqCst) >= 1);
}

#[test]
fn local_executor_with_custom_parker() {
    let _w = watchdog("local_custom_parker", 30);
    let (p, parks, _unparks) = counting();
    let ex = LocalExecutor::with_parker(p);
    let h = ex.spawn_local(wake_later());
    assert_eq!(ex.block_on(h).unwrap(), 9);
    assert!(parks.load(Ordering::SeqCst) >= 1);
}

#[test]
fn executor_with_a_parker_per_worker() {
    let _w = watchdog("executor_custom_parker", 30);
    let parks: Vec<_> = (0..2).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let indices = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (pk, ix) = (parks.clone(), indices.clone());
    let ex = Executor::builder()
        .worker_threads(2)
        .build_with_parker(move |i| {
            ix.lock().push(i);
            Counting {
                inner: ThreadParker::new(),
                parks: pk[i].clone(),
                unparks: Arc::new(AtomicUsize::new(0)),
            }
        })
        .unwrap();
    assert_eq!(*indices.lock(), [0, 1]);
    let h = ex.spawn(wake_later());
    assert_eq!(ex.block_on(h).unwrap(), 9);
    // Idle workers park through their own parkers.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while parks.iter().any(|p| p.load(Ordering::SeqCst) == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "a worker never parked"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let m = ex.handle().metrics();
    assert!(m.parks >= 2);
}

#[test]
fn executor_block_on_makes_spawn_available() {
    let _w = watchdog("executor_block_on", 30);
    assert!(ply_executor::try_spawn(async {}).is_err());
    let ex = Executor::builder().worker_threads(1).build().unwrap();
    let v = ex.block_on(async { ply_executor::spawn(async { 2 }).await.unwrap() });
    assert_eq!(v, 2);
    assert!(ply_executor::Handle::try_current().is_none());
}

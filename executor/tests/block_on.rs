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
fn executor_with_a_shared_driver() {
    let _w = watchdog("executor_shared_driver", 30);
    let (driver, parks, _unparks) = counting();
    let ex = Executor::builder()
        .worker_threads(2)
        .build_with_driver(driver)
        .unwrap();
    // Idle workers: one of them waits in the driver.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while parks.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no worker parked in the driver"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // A spawn from outside reaches a worker however it sleeps; if the driver holder is the
    // one picked, the unpark goes through the driver's unparker.
    for i in 0..100 {
        let h = ex.spawn(async move { i * 2 });
        assert_eq!(ex.block_on(h).unwrap(), i * 2);
    }
    let h = ex.spawn(wake_later());
    assert_eq!(ex.block_on(h).unwrap(), 9);
    drop(ex);

    // With one worker, the worker always waits in the driver: a spawn onto the idle
    // executor wakes it through the driver's unparker.
    let (driver, _parks, unparks) = counting();
    let ex = Executor::builder()
        .worker_threads(1)
        .build_with_driver(driver)
        .unwrap();
    let mut rounds = 0;
    while unparks.load(Ordering::SeqCst) == 0 {
        rounds += 1;
        assert!(rounds <= 1000, "no spawn ever went through the driver");
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(ex.block_on(ex.spawn(async { 5 })).unwrap(), 5);
    }
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

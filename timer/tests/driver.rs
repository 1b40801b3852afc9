//! Driving a timer explicitly: next_deadline, fire_due, the unpark hook, the current
//! handle.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ply_timer::{Timer, TimerHandle};
use util::{count_waker, poll_once, poll_with, with_watchdog};

#[test]
fn next_deadline_and_fire_due_on_the_paused_clock() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let start = handle.now();
    assert_eq!(timer.next_deadline(), None);
    let mut a = Box::pin(handle.sleep(Duration::from_millis(7)));
    let mut b = Box::pin(handle.sleep(Duration::from_millis(3)));
    let mut far = Box::pin(handle.sleep(Duration::from_secs(10_000)));
    for s in [a.as_mut(), b.as_mut(), far.as_mut()] {
        assert!(poll_once(s).is_pending());
    }
    assert_eq!(
        timer.next_deadline(),
        Some(start + Duration::from_millis(3))
    );
    // A `now` ahead of the clock is clamped: nothing fires early.
    assert_eq!(timer.fire_due(start + Duration::from_secs(60)), 0);
    timer.advance(Duration::from_millis(3));
    assert!(poll_once(b.as_mut()).is_ready());
    assert_eq!(
        timer.next_deadline(),
        Some(start + Duration::from_millis(7))
    );
    timer.advance(Duration::from_millis(4));
    assert!(poll_once(a.as_mut()).is_ready());
    // A far deadline: the next wake-up may be earlier (a cascade), never later.
    let next = timer.next_deadline().unwrap();
    assert!(next <= far.deadline());
}

#[test]
fn unpark_hook_fires_only_for_an_earlier_deadline() {
    let unparks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&unparks);
    let timer = Timer::builder()
        .paused()
        .unpark(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }))
        .build();
    let handle = timer.handle();
    let mut sleeps = Vec::new();
    let mut register = |ms: u64| {
        let mut s = Box::pin(handle.sleep(Duration::from_millis(ms)));
        assert!(poll_once(s.as_mut()).is_pending());
        sleeps.push(s);
        unparks.load(Ordering::SeqCst)
    };
    // The driver has not reported a deadline: the first registration unparks it.
    assert_eq!(register(100), 1);
    // The driver now sleeps toward 100 ms.
    assert!(timer.next_deadline().is_some());
    assert_eq!(register(200), 1, "later: no unpark");
    assert_eq!(register(50), 2, "earlier: unpark");
    assert_eq!(
        register(60),
        2,
        "earlier than the driver, but not than the last unpark"
    );
    assert_eq!(register(10), 3);
}

#[test]
fn composed_driver_loop_with_thread_parking() {
    with_watchdog(Duration::from_secs(20), || {
        // A minimal parker: the unpark hook unparks the driving thread.
        let driver = std::thread::current();
        let timer = Timer::builder()
            .unpark(Arc::new(move || driver.unpark()))
            .build();
        let handle = timer.handle();
        let workers: Vec<_> = (0..4u64)
            .map(|i| {
                let handle = handle.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let d = Duration::from_millis(5 + 10 * i);
                    futures::executor::block_on(handle.sleep(d));
                    assert!(start.elapsed() >= d);
                })
            })
            .collect();
        let mut fired = 0;
        while !workers.iter().all(|w| w.is_finished()) {
            match timer.next_deadline() {
                // Nothing registered yet: park until a registration unparks us (bounded so
                // the loop also notices the workers finishing).
                None => std::thread::park_timeout(Duration::from_millis(100)),
                Some(deadline) => {
                    std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()))
                }
            }
            fired += timer.fire_due(Instant::now());
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(fired, 4);
    });
}

#[test]
fn enter_sets_the_current_handle_and_restores_it() {
    let outer = Timer::paused();
    let inner = Timer::paused();
    assert!(TimerHandle::current().ptr_eq(&TimerHandle::standalone()));
    {
        let _a = outer.handle().enter();
        assert!(TimerHandle::current().ptr_eq(&outer.handle()));
        {
            let _b = inner.handle().enter();
            assert!(ply_timer::sleep(Duration::from_secs(1))
                .handle()
                .ptr_eq(&inner.handle()));
        }
        assert!(TimerHandle::current().ptr_eq(&outer.handle()));
    }
    assert!(TimerHandle::current().ptr_eq(&TimerHandle::standalone()));
}

#[test]
fn fire_order_follows_deadlines_within_one_fire() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut sleeps = Vec::new();
    // Registered in scrambled order, spread over several levels.
    for (id, ms) in [
        (0usize, 70_000u64),
        (1, 3),
        (2, 4_100),
        (3, 64),
        (4, 300_000),
        (5, 65),
        (6, 1),
    ] {
        let mut s = Box::pin(handle.sleep(Duration::from_millis(ms)));
        assert!(poll_with(s.as_mut(), &util::log_waker(id, &log)).is_pending());
        sleeps.push(s);
    }
    assert_eq!(timer.advance(Duration::from_secs(400)), 7);
    assert_eq!(*log.lock().unwrap(), vec![6, 1, 3, 5, 2, 0, 4]);
}

#[test]
fn metrics_count_every_operation() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let (waker, _) = count_waker();
    let mut a = Box::pin(handle.sleep(Duration::from_millis(1)));
    let mut b = Box::pin(handle.sleep(Duration::from_millis(2)));
    assert!(poll_with(a.as_mut(), &waker).is_pending());
    assert!(poll_with(b.as_mut(), &waker).is_pending());
    b.as_mut().reset(handle.now() + Duration::from_millis(20));
    assert_eq!(handle.metrics().pending, 2);
    timer.advance(Duration::from_millis(5));
    drop(b);
    let m = handle.metrics();
    assert_eq!(
        (m.pending, m.inserted, m.cancelled, m.fired, m.reset),
        (0, 2, 1, 1, 1)
    );
}

//! Wakers that panic when the timer wakes them: the timer catches, counts and carries on,
//! so later sleeps still complete (issue 12).

mod util;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use ply_timer::{Timer, TimerHandle};
use util::{flag_waker as flag, with_watchdog, PanickingWaker as Panics};

#[test]
fn a_panicking_waker_does_not_kill_the_standalone_timer_thread() {
    with_watchdog(Duration::from_secs(60), || {
        let standalone = TimerHandle::standalone();
        let before = standalone.metrics().waker_panics;

        // A standalone sleep whose task's waker panics when the driver thread fires it.
        let panicking = Waker::from(Arc::new(Panics));
        let mut doomed = Box::pin(ply_timer::sleep(Duration::from_millis(5)));
        assert!(doomed
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        let deadline = Instant::now() + Duration::from_secs(20);
        while standalone.metrics().waker_panics == before {
            assert!(Instant::now() < deadline, "the panic was not counted");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(doomed.is_elapsed());

        // The driver thread is alive: a normal sleep on it completes, not early.
        let start = Instant::now();
        futures::executor::block_on(ply_timer::sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn one_panicking_waker_does_not_stop_the_fires_after_it() {
    with_watchdog(Duration::from_secs(20), || {
        let timer = Timer::paused();
        let handle = timer.handle();
        let panicking = Waker::from(Arc::new(Panics));
        let (first, good) = flag();
        let (second, later) = flag();

        // Same deadline, the panicking one filed first; and one a tick later.
        let mut a = Box::pin(handle.sleep(Duration::from_millis(10)));
        let mut b = Box::pin(handle.sleep(Duration::from_millis(10)));
        let mut c = Box::pin(handle.sleep(Duration::from_millis(11)));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());
        assert!(c
            .as_mut()
            .poll(&mut Context::from_waker(&later))
            .is_pending());

        // `advance` (that is, `fire_due`) returns normally and fires all three.
        assert_eq!(timer.advance(Duration::from_millis(20)), 3);
        assert!(
            first.0.load(Ordering::SeqCst),
            "same-tick waker after the panic"
        );
        assert!(
            second.0.load(Ordering::SeqCst),
            "later waker after the panic"
        );
        let m = timer.metrics();
        assert_eq!((m.fired, m.waker_panics, m.pending), (3, 1, 0));
        assert!(a.is_elapsed() && b.is_elapsed() && c.is_elapsed());

        // The timer keeps working.
        let mut d = Box::pin(handle.sleep(Duration::from_millis(5)));
        let (third, w) = flag();
        assert!(d.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        assert_eq!(timer.advance(Duration::from_millis(5)), 1);
        assert!(third.0.load(Ordering::SeqCst));
    });
}

#[test]
fn a_panicking_waker_at_shutdown_is_caught() {
    with_watchdog(Duration::from_secs(20), || {
        let timer = Timer::paused();
        let handle = timer.handle();
        let panicking = Waker::from(Arc::new(Panics));
        let (woken, good) = flag();
        let mut a = Box::pin(handle.sleep(Duration::from_secs(10)));
        let mut b = Box::pin(handle.sleep(Duration::from_secs(10)));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());

        // Dropping the timer shuts it down and wakes both: the drop does not unwind.
        drop(timer);
        assert!(woken.0.load(Ordering::SeqCst), "the waker after the panic");
        let m = handle.metrics();
        assert_eq!((m.cancelled, m.waker_panics), (2, 1));
    });
}

#[test]
fn a_panicking_waker_woken_by_a_reset_into_the_past_is_caught() {
    with_watchdog(Duration::from_secs(20), || {
        let timer = Timer::paused();
        let handle = timer.handle();
        let panicking = Waker::from(Arc::new(Panics));
        let mut a = Box::pin(handle.sleep(Duration::from_secs(10)));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        timer.advance(Duration::from_secs(1));
        // Reset to a deadline already past: the reset fires it and wakes the waker.
        a.as_mut().reset(handle.now() - Duration::from_millis(500));
        assert!(a.is_elapsed());
        assert_eq!(handle.metrics().waker_panics, 1);
    });
}

#[test]
fn the_waker_panic_hook_sees_each_payload_and_may_panic_itself() {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    fn hook(payload: &(dyn std::any::Any + Send)) {
        let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
        SEEN.lock().unwrap().push(msg.to_owned());
        panic!("and the hook panics too");
    }
    with_watchdog(Duration::from_secs(20), || {
        let timer = Timer::builder().paused().on_waker_panic(hook).build();
        let handle = timer.handle();
        let panicking = Waker::from(Arc::new(Panics));
        let (after, good) = flag();
        let mut a = Box::pin(handle.sleep(Duration::from_millis(10)));
        let mut b = Box::pin(handle.sleep(Duration::from_millis(10)));
        assert!(a
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        assert!(b
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());
        assert_eq!(timer.advance(Duration::from_millis(10)), 2);
        assert!(
            after.0.load(Ordering::SeqCst),
            "woken after the hook panicked"
        );
        assert_eq!(timer.metrics().waker_panics, 1);
        assert_eq!(*SEEN.lock().unwrap(), ["this waker panics on purpose"]);

        // A timer built without the hook does not call it.
        let plain = Timer::paused();
        let mut c = Box::pin(plain.handle().sleep(Duration::from_millis(1)));
        assert!(c
            .as_mut()
            .poll(&mut Context::from_waker(&panicking))
            .is_pending());
        assert_eq!(plain.advance(Duration::from_millis(1)), 1);
        assert_eq!(plain.metrics().waker_panics, 1);
        assert_eq!(SEEN.lock().unwrap().len(), 1, "the other timer's hook");
    });
}

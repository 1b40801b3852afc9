//! `Sleep` edge cases on the paused clock and across threads.

mod util;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ply_timer::{Sleep, Timer};
use util::{count_waker, poll_once, poll_with, with_watchdog};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn zero_duration_completes_without_the_wheel() {
    let timer = Timer::paused();
    let mut sleep = Box::pin(timer.handle().sleep(Duration::ZERO));
    assert!(poll_once(sleep.as_mut()).is_ready());
    assert_eq!(timer.metrics().inserted, 0);
}

#[test]
fn deadline_in_the_past_completes_immediately() {
    let timer = Timer::paused();
    let handle = timer.handle();
    timer.advance(Duration::from_secs(10));
    let past = handle.now() - Duration::from_secs(5);
    let mut sleep = Box::pin(handle.sleep_until(past));
    assert!(sleep.is_elapsed());
    assert!(poll_once(sleep.as_mut()).is_ready());
    // Even an instant before the timer was created.
    let mut older = Box::pin(handle.sleep_until(past - Duration::from_secs(3600)));
    assert!(poll_once(older.as_mut()).is_ready());
    assert_eq!(handle.metrics().inserted, 0);
}

#[test]
fn unpolled_sleep_never_touches_the_wheel() {
    let timer = Timer::paused();
    let sleeps: Vec<Sleep> = (0..100)
        .map(|i| timer.handle().sleep(Duration::from_millis(i)))
        .collect();
    assert_eq!(timer.next_deadline(), None);
    drop(sleeps);
    let m = timer.metrics();
    assert_eq!((m.pending, m.inserted, m.cancelled), (0, 0, 0));
}

#[test]
fn far_future_deadlines_are_accepted() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let now = handle.now();
    let mut max = Box::pin(handle.sleep(Duration::MAX));
    let mut century = Box::pin(handle.sleep_until(now + Duration::from_secs(100 * 365 * 86_400)));
    let mut years = Box::pin(handle.sleep(Duration::from_secs(3 * 365 * 86_400)));
    assert!(max.deadline() > now);
    for s in [max.as_mut(), century.as_mut(), years.as_mut()] {
        assert!(poll_once(s).is_pending());
    }
    assert_eq!(handle.metrics().pending, 3);
    // Two years: nothing fires (the top level wraps at about 2.2 years; entries past it
    // are refiled, not fired).
    assert_eq!(timer.advance(Duration::from_secs(2 * 365 * 86_400)), 0);
    // Three years: exactly the three-year sleep.
    assert_eq!(timer.advance(Duration::from_secs(365 * 86_400)), 1);
    assert!(poll_once(years.as_mut()).is_ready());
    assert!(poll_once(century.as_mut()).is_pending());
    assert!(poll_once(max.as_mut()).is_pending());
    // Dropping far-future sleeps cancels them.
    drop(max);
    drop(century);
    assert_eq!(handle.metrics().pending, 0);
    assert_eq!(handle.metrics().cancelled, 2);
}

#[test]
fn fires_exactly_at_the_deadline_never_before() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_millis(1500)));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1499));
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1));
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
}

#[test]
fn sub_millisecond_deadlines_round_up() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let mut sleep = Box::pin(handle.sleep(Duration::from_micros(1500)));
    assert!(poll_once(sleep.as_mut()).is_pending());
    // 1.9 ms: past the deadline, but the wheel fires on whole ticks: at 2 ms.
    assert_eq!(timer.advance(Duration::from_micros(1900)), 0);
    assert!(sleep.is_elapsed(), "the deadline has passed on the clock");
    assert_eq!(timer.advance(Duration::from_micros(100)), 1);
}

#[test]
fn reset_later_is_lock_free_and_moves_the_deadline() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let start = handle.now();
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_millis(10)));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    for extra in 1..=100 {
        sleep
            .as_mut()
            .reset(start + Duration::from_millis(10 + extra));
    }
    timer.advance(Duration::from_millis(109));
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1));
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
    let m = handle.metrics();
    assert_eq!((m.inserted, m.fired, m.reset, m.pending), (1, 1, 100, 0));
}

#[test]
fn reset_earlier_wakes_at_the_new_deadline_without_a_poll() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_secs(60)));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    sleep
        .as_mut()
        .reset(handle.now() + Duration::from_millis(5));
    timer.advance(Duration::from_millis(5));
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
}

#[test]
fn reset_into_the_past_fires_and_wakes() {
    let timer = Timer::paused();
    let handle = timer.handle();
    timer.advance(Duration::from_millis(50));
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_secs(60)));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    sleep
        .as_mut()
        .reset(handle.now() - Duration::from_millis(10));
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
    assert_eq!(handle.metrics().pending, 0);
}

#[test]
fn reset_after_completion_rearms() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let mut sleep = Box::pin(handle.sleep(Duration::from_millis(5)));
    assert!(poll_once(sleep.as_mut()).is_pending());
    timer.advance(Duration::from_millis(5));
    assert!(poll_once(sleep.as_mut()).is_ready());
    sleep
        .as_mut()
        .reset(handle.now() + Duration::from_millis(5));
    assert!(!sleep.is_elapsed());
    assert!(poll_once(sleep.as_mut()).is_pending());
    timer.advance(Duration::from_millis(5));
    assert!(poll_once(sleep.as_mut()).is_ready());
    assert_eq!(handle.metrics().inserted, 2);
}

#[test]
fn waker_replacement_wakes_the_latest_waker() {
    let timer = Timer::paused();
    let (first, first_woken) = count_waker();
    let (second, second_woken) = count_waker();
    let mut sleep = Box::pin(timer.handle().sleep(Duration::from_millis(1)));
    assert!(poll_with(sleep.as_mut(), &first).is_pending());
    assert!(poll_with(sleep.as_mut(), &second).is_pending());
    timer.advance(Duration::from_millis(1));
    assert_eq!(first_woken.0.load(Ordering::SeqCst), 0);
    assert_eq!(second_woken.0.load(Ordering::SeqCst), 1);
}

#[test]
fn created_on_one_thread_polled_and_dropped_on_others() {
    with_watchdog(LIMIT, || {
        let timer = Timer::paused();
        let handle = timer.handle();
        let mut sleep = Box::pin(handle.sleep(Duration::from_millis(10)));
        let (waker, woken) = count_waker();
        let mut sleep = std::thread::spawn(move || {
            assert!(poll_with(sleep.as_mut(), &waker).is_pending());
            sleep
        })
        .join()
        .unwrap();
        timer.advance(Duration::from_millis(10));
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        let other = std::thread::spawn(move || {
            assert!(poll_once(sleep.as_mut()).is_ready());
            drop(sleep);
        });
        other.join().unwrap();
        assert_eq!(handle.metrics().fired, 1);
    });
}

#[test]
fn drops_from_another_thread_while_the_driver_fires() {
    with_watchdog(LIMIT, || {
        const N: usize = 20_000;
        let timer = Timer::paused();
        let handle = timer.handle();
        let mut sleeps: Vec<_> = (0..N)
            .map(|i| Box::pin(handle.sleep(Duration::from_millis(1 + (i % 50) as u64))))
            .collect();
        for s in &mut sleeps {
            assert!(poll_once(s.as_mut()).is_pending());
        }
        // Odd ones are dropped by another thread while this one fires everything.
        let odd: Vec<_> = sleeps
            .iter_mut()
            .skip(1)
            .step_by(2)
            .map(|s| std::mem::replace(s, Box::pin(handle.sleep(Duration::ZERO))))
            .collect();
        let barrier = Arc::new(Barrier::new(2));
        let b = Arc::clone(&barrier);
        let dropper = std::thread::spawn(move || {
            b.wait();
            drop(odd);
        });
        barrier.wait();
        let mut fired = 0;
        for _ in 0..50 {
            fired += timer.advance(Duration::from_millis(1));
        }
        dropper.join().unwrap();
        let m = handle.metrics();
        assert_eq!(m.pending, 0);
        assert_eq!(m.fired as usize, fired);
        assert_eq!(m.fired + m.cancelled, N as u64);
        for (i, s) in sleeps.iter_mut().enumerate().step_by(2) {
            assert!(poll_once(s.as_mut()).is_ready(), "sleep {i}");
        }
    });
}

#[test]
fn many_threads_register_and_cancel_concurrently() {
    with_watchdog(LIMIT, || {
        let timer = Arc::new(Timer::paused());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let handle = timer.handle();
                std::thread::spawn(move || {
                    for i in 0..5_000u64 {
                        let mut s =
                            Box::pin(handle.sleep(Duration::from_millis(1 + (i * 7 + t) % 3000)));
                        assert!(poll_once(s.as_mut()).is_pending());
                        if i % 3 == 0 {
                            s.as_mut().reset(handle.now() + Duration::from_millis(5000));
                        }
                    }
                })
            })
            .collect();
        // The driver keeps firing meanwhile (nothing is due: the clock is paused).
        while !threads.iter().all(|t| t.is_finished()) {
            timer.fire_due(Instant::now());
        }
        for t in threads {
            t.join().unwrap();
        }
        let m = timer.metrics();
        assert_eq!((m.pending, m.inserted, m.cancelled), (0, 20_000, 20_000));
    });
}

#[test]
fn shutdown_moves_pending_sleeps_to_the_standalone_timer() {
    with_watchdog(LIMIT, || {
        let timer = Timer::new();
        let handle = timer.handle();
        let start = Instant::now();
        let (waker, woken) = count_waker();
        let mut sleep = Box::pin(handle.sleep(Duration::from_millis(30)));
        assert!(poll_with(sleep.as_mut(), &waker).is_pending());
        drop(timer);
        assert!(handle.is_shutdown());
        // Woken by the shutdown, not completed: its deadline has not passed.
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        futures::executor::block_on(sleep.as_mut());
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(sleep.handle().ptr_eq(&ply_timer::TimerHandle::standalone()));
        // New sleeps on a shut-down handle also complete, on time.
        let late = Instant::now();
        futures::executor::block_on(handle.sleep(Duration::from_millis(5)));
        assert!(late.elapsed() >= Duration::from_millis(5));
        let m = handle.metrics();
        assert_eq!((m.pending, m.cancelled), (0, 1));
    });
}

thread_local! {
    static BUDGET: std::cell::Cell<u32> = const { std::cell::Cell::new(u32::MAX) };
}

/// A budget of `BUDGET` units, on this thread.
fn test_budget(cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
    BUDGET.with(|b| {
        if b.get() == 0 {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            b.set(b.get() - 1);
            std::task::Poll::Ready(())
        }
    })
}

#[test]
fn ready_sleep_spends_the_timers_budget_but_timeout_does_not() {
    let timer = Timer::builder().paused().budget(test_budget).build();
    let handle = timer.handle();
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_millis(1)));
    let mut timeout =
        Box::pin(handle.timeout(Duration::from_millis(1), std::future::pending::<()>()));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    assert!(poll_with(timeout.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1));

    // Budget spent: the ready sleep yields, and the budget asked for a re-poll.
    BUDGET.with(|b| b.set(0));
    let before = woken.0.load(Ordering::SeqCst);
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    assert_eq!(woken.0.load(Ordering::SeqCst), before + 1);
    // A timeout still fires: its deadline check bypasses the budget.
    assert!(poll_with(timeout.as_mut(), &waker).is_ready());

    // Budget refilled: the sleep completes, and used one unit.
    BUDGET.with(|b| b.set(1));
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
    assert_eq!(BUDGET.with(|b| b.get()), 0);
}

#[test]
fn a_timer_built_without_a_budget_never_throttles() {
    // Another timer of this process has a budget (the test above); this one is not
    // affected: the budget is per timer, not process-wide.
    let _other = Timer::builder().paused().budget(test_budget).build();
    let timer = Timer::paused();
    let (waker, _woken) = count_waker();
    let mut sleep = Box::pin(timer.handle().sleep(Duration::from_millis(1)));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1));
    BUDGET.with(|b| b.set(0));
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
}

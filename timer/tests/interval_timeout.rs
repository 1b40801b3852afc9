//! `Interval` and `Timeout` on the paused clock.

mod util;

use std::task::Poll;
use std::time::Duration;

use futures::StreamExt;
use ply_timer::{MissedTickBehavior, Timer};
use util::poll_once;

fn ticks_after_a_stall(policy: MissedTickBehavior) -> Vec<u64> {
    let timer = Timer::paused();
    let handle = timer.handle();
    let start = handle.now();
    let mut interval = handle.interval(Duration::from_millis(10));
    interval.set_missed_tick_behavior(policy);
    let mut seen = Vec::new();
    let tick = |interval: &mut ply_timer::Interval| match poll_once(std::pin::pin!(interval.tick()))
    {
        Poll::Ready(t) => Some((t - start).as_millis() as u64),
        Poll::Pending => None,
    };
    seen.push(tick(&mut interval).unwrap());
    // The task stalls for 35 ms.
    timer.advance(Duration::from_millis(35));
    while let Some(t) = tick(&mut interval) {
        seen.push(t);
    }
    // Then time runs normally up to 70 ms.
    for _ in 0..35 {
        timer.advance(Duration::from_millis(1));
        while let Some(t) = tick(&mut interval) {
            seen.push(t);
        }
    }
    seen
}

#[test]
fn missed_tick_policies() {
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Burst),
        vec![0, 10, 20, 30, 40, 50, 60, 70]
    );
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Delay),
        vec![0, 10, 45, 55, 65]
    );
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Skip),
        vec![0, 10, 40, 50, 60, 70]
    );
}

#[test]
fn interval_is_a_stream() {
    let timer = Timer::paused();
    let mut interval = timer.handle().interval(Duration::from_millis(5));
    let start = timer.handle().now();
    let mut next = || poll_once(std::pin::pin!(interval.next()));
    assert_eq!(next(), Poll::Ready(Some(start)));
    assert_eq!(next(), Poll::Pending);
    timer.advance(Duration::from_millis(5));
    assert_eq!(next(), Poll::Ready(Some(start + Duration::from_millis(5))));
}

#[test]
fn zero_period_is_rounded_up() {
    let timer = Timer::paused();
    let mut interval = timer.handle().interval(Duration::ZERO);
    assert_eq!(interval.period(), Duration::from_millis(1));
    assert!(poll_once(std::pin::pin!(interval.tick())).is_ready());
    assert!(poll_once(std::pin::pin!(interval.tick())).is_pending());
}

#[test]
fn timeout_elapses_and_passes_through() {
    let timer = Timer::paused();
    let handle = timer.handle();
    let mut slow = Box::pin(handle.timeout(
        Duration::from_millis(10),
        handle.sleep(Duration::from_millis(20)),
    ));
    let mut fast = Box::pin(handle.timeout(
        Duration::from_millis(10),
        handle.sleep(Duration::from_millis(5)),
    ));
    assert!(poll_once(slow.as_mut()).is_pending());
    assert!(poll_once(fast.as_mut()).is_pending());
    timer.advance(Duration::from_millis(5));
    assert_eq!(poll_once(fast.as_mut()), Poll::Ready(Ok(())));
    assert!(poll_once(slow.as_mut()).is_pending());
    timer.advance(Duration::from_millis(5));
    match poll_once(slow.as_mut()) {
        Poll::Ready(Err(elapsed)) => assert_eq!(elapsed.to_string(), "deadline has elapsed"),
        other => panic!("expected Elapsed, got {other:?}"),
    }
    // Dropping the timeouts cancels their sleeps.
    drop((slow, fast));
    assert_eq!(handle.metrics().pending, 0);
}

#[test]
fn timeout_with_ready_future_wins_at_the_deadline() {
    let timer = Timer::paused();
    let handle = timer.handle();
    timer.advance(Duration::from_millis(1));
    let mut t = Box::pin(handle.timeout(Duration::ZERO, async { 5 }));
    assert_eq!(poll_once(t.as_mut()), Poll::Ready(Ok(5)));
}

//! Wait timeouts: short ones sleep instead of spinning, zero returns at once, none
//! blocks until woken.

mod util;

use ply_sys::{Events, Selector};
use std::time::{Duration, Instant};
use util::{backends, backends_for_cross_thread_waits, watchdog};

#[test]
fn a_sub_millisecond_timeout_sleeps_instead_of_spinning() {
    let _w = watchdog("sub_ms", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(4);
        let timeout = Duration::from_micros(300);
        let window = Duration::from_millis(60);
        let start = Instant::now();
        let mut waits = 0u32;
        while start.elapsed() < window {
            let t = Instant::now();
            sel.select(&mut events, Some(timeout)).unwrap();
            // Never early: each wait lasts at least its timeout.
            assert!(
                t.elapsed() >= timeout,
                "{backend}: returned after {:?}",
                t.elapsed()
            );
            waits += 1;
        }
        // At >= 0.3 ms a wait, 60 ms holds at most 200; a timeout truncated to zero would
        // make hundreds of thousands.
        assert!(
            waits <= 200,
            "{backend}: {waits} wake-ups in {window:?}: spinning"
        );
        assert!(waits >= 1);
    }
}

#[test]
fn a_zero_timeout_returns_at_once() {
    let _w = watchdog("zero", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        for _ in 0..100 {
            sel.select(&mut events, Some(Duration::ZERO)).unwrap();
            assert!(events.is_empty());
        }
        // 100 non-blocking waits: far under the 1 s a single blocking wait would take.
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{backend}: {:?}",
            start.elapsed()
        );
        assert_eq!(sel.stats().waits, 100);
    }
}

#[test]
fn no_timeout_blocks_until_woken() {
    let _w = watchdog("forever", Duration::from_secs(30));
    for backend in backends_for_cross_thread_waits() {
        let sel = Selector::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(4);
        let delay = Duration::from_millis(100);
        let start = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(delay);
                sel.wake().unwrap();
            });
            sel.select(&mut events, None).unwrap();
        });
        // The wait lasted until the wake (signals aside, which tests do not send).
        assert!(start.elapsed() >= delay, "{backend}: returned early");
    }
}

#[test]
fn raw_epoll_wait_rounds_short_timeouts_up() {
    let _w = watchdog("raw_epoll", Duration::from_secs(30));
    let epoll = ply_sys::epoll::Epoll::new().unwrap();
    let mut buf = Vec::with_capacity(4);
    for timeout in [
        Duration::from_micros(1),
        Duration::from_micros(300),
        Duration::from_millis(2),
    ] {
        let t = Instant::now();
        assert_eq!(epoll.wait(&mut buf, Some(timeout)).unwrap(), 0);
        assert!(
            t.elapsed() >= timeout,
            "{timeout:?} returned after {:?}",
            t.elapsed()
        );
    }
}

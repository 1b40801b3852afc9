//! `HyperTimer::now` is ply's clock (the `hyper` feature): a paused timer governs the time
//! hyper reads, and on a running runtime it is the real clock.
#![cfg(feature = "hyper")]

mod util;

use hyper::rt::Timer;
use ply_net::hyper::HyperTimer;
use std::time::{Duration, Instant};
use util::{runtimes, watchdog};

#[test]
fn hyper_timer_now_follows_a_paused_clock() {
    let _w = watchdog("hyper clock", Duration::from_secs(30));
    let clock = ply_timer::Timer::paused();
    let _guard = clock.handle().enter();
    let before = HyperTimer::new().now();
    // Real time passes; the paused clock does not.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(HyperTimer::new().now(), before);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        HyperTimer::new().now() - before,
        Duration::from_secs(3600),
        "an hour on the paused clock is an hour for hyper"
    );
    assert_eq!(HyperTimer::new().now(), clock.handle().now());
}

#[test]
fn hyper_timer_now_is_the_real_clock_on_a_runtime() {
    let _w = watchdog("hyper clock on a runtime", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let a = Instant::now();
            let now = HyperTimer::new().now();
            let b = Instant::now();
            assert!(a <= now && now <= b, "{flavor}: {a:?} <= {now:?} <= {b:?}");
        });
    }
}

#[test]
fn hyper_timer_follows_a_paused_runtime_clock() {
    let _w = watchdog("hyper clock on a paused runtime", Duration::from_secs(30));
    let rt = ply_net::Runtime::builder()
        .current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let wall = Instant::now();
    rt.block_on(async {
        let timer = HyperTimer::new();
        let before = timer.now();
        assert_eq!(before, ply_net::time::now());
        // hyper's own sleep, on the paused clock: auto-advance ends it at once.
        timer.sleep(Duration::from_secs(3600)).await;
        let elapsed = timer.now() - before;
        assert!(elapsed >= Duration::from_secs(3600), "{elapsed:?}");
        ply_net::time::advance(Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(timer.now() - before, elapsed + Duration::from_secs(60));
        // Resumed, hyper's clock runs again from where it stood.
        ply_net::time::resume().unwrap();
        let resumed = timer.now();
        assert!(resumed >= before + elapsed + Duration::from_secs(60));
        assert!(resumed < before + elapsed + Duration::from_secs(61));
    });
    assert!(wall.elapsed() < Duration::from_secs(5));
}

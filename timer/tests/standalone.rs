//! The global standalone driver under someone else's executor.

mod util;

use std::time::{Duration, Instant};

use futures::future::join_all;
use util::{with_watchdog, Rng};

#[test]
fn hundred_thousand_concurrent_sleeps_all_complete_under_block_on() {
    with_watchdog(Duration::from_secs(50), || {
        const N: usize = 100_000;
        let mut rng = Rng::new(7);
        let start = Instant::now();
        let sleeps: Vec<_> = (0..N)
            .map(|_| {
                let d = Duration::from_micros(rng.below(200_000));
                async move {
                    ply_timer::sleep(d).await;
                    // Never early.
                    assert!(start.elapsed() >= d);
                }
            })
            .collect();
        futures::executor::block_on(join_all(sleeps));
        assert!(start.elapsed() >= Duration::from_millis(150));
    });
}

#[test]
fn sleeps_from_many_threads_never_early() {
    with_watchdog(Duration::from_secs(20), || {
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..20u64 {
                        let d = Duration::from_micros((t * 977 + i * 131) % 3_000);
                        let start = Instant::now();
                        futures::executor::block_on(ply_timer::sleep(d));
                        let took = start.elapsed();
                        assert!(took >= d, "{took:?} < {d:?}");
                        // Lateness: only a generous bound, the machine is shared (and
                        // valgrind, which runs one thread at a time, stretches it more).
                        let slack = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
                            Duration::from_secs(60)
                        } else {
                            Duration::from_secs(2)
                        };
                        assert!(took < d + slack, "{took:?} for {d:?}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn standalone_timeout_and_interval() {
    with_watchdog(Duration::from_secs(20), || {
        futures::executor::block_on(async {
            let start = Instant::now();
            let outcome =
                ply_timer::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(outcome.is_err());
            assert!(start.elapsed() >= Duration::from_millis(20));
            let mut interval = ply_timer::interval(Duration::from_millis(3));
            let first = interval.tick().await;
            for k in 1..=5u32 {
                let t = interval.tick().await;
                assert_eq!(t - first, Duration::from_millis(3) * k);
                assert!(Instant::now() >= t);
            }
        });
    });
}

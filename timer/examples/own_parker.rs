//! Drives a ply-timer `Timer` from your own parking loop, with no reactor and no runtime:
//! the shape of what ply-executor's parker (and, around `epoll_wait`, ply-net's driver)
//! does. Worker threads sleep, time out and tick on the timer; the main thread parks until
//! the timer's next deadline, fires what is due, and is unparked early whenever a worker
//! registers an earlier deadline.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ply-timer --example own_parker
//! ```

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ply_timer::Timer;

fn main() {
    // The driver is this thread: a registration earlier than the deadline it parks toward
    // unparks it. (ply-net writes to its eventfd here instead.)
    let driver = thread::current();
    let timer = Timer::builder()
        .unpark(Arc::new(move || driver.unpark()))
        .build();

    let start = Instant::now();
    let workers: Vec<_> = (1..=3u64)
        .map(|i| {
            let handle = timer.handle();
            thread::spawn(move || {
                futures::executor::block_on(async {
                    // Explicit handle: no thread-local, no global timer involved.
                    handle.sleep(Duration::from_millis(20 * i)).await;
                    let slow = handle.sleep(Duration::from_secs(60));
                    let outcome = handle.timeout(Duration::from_millis(10), slow).await;
                    assert!(outcome.is_err());
                    let mut interval = handle.interval(Duration::from_millis(5));
                    for _ in 0..3 {
                        interval.tick().await;
                    }
                });
                println!("worker {i} done after {:?}", start.elapsed());
            })
        })
        .collect();

    // The driver loop: park until the next deadline, then fire everything due
    // (`Timer::turn`). With no timer registered, park until a registration unparks us
    // (bounded here only so that the loop notices the workers finishing).
    let mut fired = 0;
    while !workers.iter().all(|w| w.is_finished()) {
        let limit = Some(Duration::from_millis(50));
        let ((), n) = timer.turn(limit, |timeout| {
            thread::park_timeout(timeout.expect("a limit was given"))
        });
        fired += n;
    }
    for w in workers {
        w.join().expect("worker panicked");
    }
    let m = timer.metrics();
    println!(
        "fired {fired} timers; metrics: inserted {}, fired {}, cancelled {}, pending {}",
        m.inserted, m.fired, m.cancelled, m.pending
    );
}

//! Randomised concurrent stress on a real-clock timer: four threads create, poll, reset
//! and drop sleeps while a driver thread fires. Checks never early, no hang, nothing left
//! pending. `STRESS_MS=20000 cargo test --release -p ply-timer --test stress` runs longer.

mod util;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use ply_timer::{Sleep, Timer};
use util::{count_waker, poll_with, with_watchdog, CountWaker, Rng};

struct Live {
    sleep: Pin<Box<Sleep>>,
    waker: Waker,
    woken: Arc<CountWaker>,
}

/// Polls; on completion checks the deadline has passed.
fn completes(live: &mut Live) -> bool {
    if poll_with(live.sleep.as_mut(), &live.waker).is_ready() {
        assert!(Instant::now() >= live.sleep.deadline(), "completed early");
        true
    } else {
        false
    }
}

fn worker(handle: ply_timer::TimerHandle, seed: u64, stop: Arc<AtomicBool>) -> u64 {
    let mut rng = Rng::new(seed);
    let mut live: Vec<Live> = Vec::new();
    let mut completed = 0;
    let micros = |rng: &mut Rng| Duration::from_micros(rng.below(5_000));
    while !stop.load(Ordering::Relaxed) {
        match rng.below(6) {
            0 | 1 => {
                let (waker, woken) = count_waker();
                let mut new = Live {
                    sleep: Box::pin(handle.sleep(micros(&mut rng))),
                    waker,
                    woken,
                };
                if completes(&mut new) {
                    completed += 1;
                } else {
                    live.push(new);
                }
            }
            2 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                live.swap_remove(i);
            }
            3 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                let deadline = Instant::now() + micros(&mut rng);
                live[i].sleep.as_mut().reset(deadline);
                if completes(&mut live[i]) {
                    live.swap_remove(i);
                    completed += 1;
                }
            }
            _ => {
                let before = live.len();
                live.retain_mut(|l| {
                    let woken = l.woken.0.load(Ordering::SeqCst) > 0;
                    !(woken && completes(l))
                });
                completed += (before - live.len()) as u64;
            }
        }
    }
    // Whatever is left completes once its deadline passes (at most 5 ms away).
    let limit = Instant::now() + Duration::from_secs(5);
    while !live.is_empty() {
        assert!(
            Instant::now() < limit,
            "{} sleeps never completed",
            live.len()
        );
        let before = live.len();
        live.retain_mut(|l| !completes(l));
        completed += (before - live.len()) as u64;
        std::thread::sleep(Duration::from_millis(1));
    }
    completed
}

#[test]
fn concurrent_create_poll_reset_drop_while_firing() {
    let ms: u64 = std::env::var("STRESS_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    with_watchdog(
        Duration::from_millis(ms) + Duration::from_secs(30),
        move || {
            let timer = Arc::new(Timer::new());
            let stop = Arc::new(AtomicBool::new(false));
            let workers_done = Arc::new(AtomicBool::new(false));
            let driver = {
                let (timer, done) = (Arc::clone(&timer), Arc::clone(&workers_done));
                std::thread::spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        timer.fire_due(Instant::now());
                        std::thread::sleep(Duration::from_micros(200));
                    }
                })
            };
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let (handle, stop) = (timer.handle(), Arc::clone(&stop));
                    std::thread::spawn(move || worker(handle, 100 + t, stop))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(ms));
            stop.store(true, Ordering::Relaxed);
            let completed: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
            workers_done.store(true, Ordering::Relaxed);
            driver.join().unwrap();
            let m = timer.metrics();
            assert!(completed > 0);
            assert_eq!(m.pending, 0, "{m:?}");
            assert_eq!(m.inserted, m.fired + m.cancelled, "{m:?}");
        },
    );
}

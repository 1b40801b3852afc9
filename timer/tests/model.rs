//! Property test: the wheel against a model (an ordered map of deadlines) over random
//! insert, cancel, reset and advance sequences on the paused clock.
//!
//! After every advance, exactly the timers whose deadline tick has passed have fired, in
//! deadline order, and none early.

mod util;

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ply_timer::{Sleep, Timer};
use util::{log_waker, poll_with, with_watchdog, Rng};

/// Deadline offsets are chosen from a mix of scales, so that entries land in every level
/// and cascade, plus far-future ones beyond the wheel's span.
fn random_offset(rng: &mut Rng) -> Duration {
    match rng.below(10) {
        0 => Duration::ZERO,
        1..=3 => Duration::from_micros(rng.below(70_000)),
        4..=5 => Duration::from_millis(rng.below(5_000)),
        6..=7 => Duration::from_millis(rng.below(400_000)),
        8 => Duration::from_secs(rng.below(20_000_000)),
        _ => Duration::from_secs(rng.below(10) * 365 * 24 * 3600 + rng.below(1_000_000)),
    }
}

fn random_advance(rng: &mut Rng) -> Duration {
    match rng.below(8) {
        0 => Duration::ZERO,
        1..=3 => Duration::from_micros(rng.below(5_000)),
        4..=5 => Duration::from_millis(rng.below(20_000)),
        6 => Duration::from_secs(rng.below(10_000_000)),
        _ => Duration::from_secs(rng.below(4 * 365 * 24 * 3600)),
    }
}

/// The tick a deadline fires on (1 ms, rounded up), for checking the order.
fn tick(start: Instant, deadline: Instant) -> u128 {
    deadline
        .saturating_duration_since(start)
        .as_nanos()
        .div_ceil(1_000_000)
}

fn run_case(seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let timer = Timer::paused();
    let handle = timer.handle();
    let start = handle.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    // id -> (sleep, its waker)
    let mut sleeps: HashMap<usize, Pin<Box<Sleep>>> = HashMap::new();
    let mut wakers = HashMap::new();
    // The model: pending timers ordered by deadline.
    let mut model: BTreeMap<(Instant, usize), ()> = BTreeMap::new();
    let mut deadline_of: BTreeMap<usize, Instant> = BTreeMap::new();
    let mut next_id = 0;

    for step in 0..steps {
        let now = handle.now();
        match rng.below(10) {
            // Insert and poll (registers with the wheel, or completes if already due).
            0..=3 => {
                let id = next_id;
                next_id += 1;
                let deadline = now + random_offset(&mut rng);
                let mut sleep = Box::pin(handle.sleep_until(deadline));
                let waker = log_waker(id, &log);
                if poll_with(sleep.as_mut(), &waker).is_ready() {
                    assert!(
                        deadline <= now,
                        "seed {seed} step {step}: ready before its deadline"
                    );
                    continue;
                }
                model.insert((deadline, id), ());
                deadline_of.insert(id, deadline);
                sleeps.insert(id, sleep);
                wakers.insert(id, waker);
            }
            // Cancel a random pending timer.
            4..=5 => {
                if let Some(&id) = pick(&mut rng, &deadline_of) {
                    let deadline = deadline_of.remove(&id).unwrap();
                    model.remove(&(deadline, id));
                    drop(sleeps.remove(&id));
                    wakers.remove(&id);
                }
            }
            // Reset a random pending timer, earlier or later, and poll it again.
            6..=7 => {
                if let Some(&id) = pick(&mut rng, &deadline_of) {
                    let old = deadline_of[&id];
                    let new = now + random_offset(&mut rng);
                    let sleep = sleeps.get_mut(&id).unwrap();
                    sleep.as_mut().reset(new);
                    model.remove(&(old, id));
                    if poll_with(sleep.as_mut(), &wakers[&id]).is_ready() {
                        assert!(
                            new <= now,
                            "seed {seed} step {step}: reset sleep ready early"
                        );
                        deadline_of.remove(&id);
                        sleeps.remove(&id);
                        wakers.remove(&id);
                        // A reset into the past may wake the old waker: forget that.
                        log.lock().unwrap().retain(|&woken| woken != id);
                    } else {
                        model.insert((new, id), ());
                        deadline_of.insert(id, new);
                    }
                }
            }
            // Advance the clock and compare what fired with the model.
            _ => {
                let by = random_advance(&mut rng);
                timer.advance(by);
                let now = handle.now();
                // Due once the clock's tick (rounded down) reaches the deadline's (rounded
                // up): the wheel's resolution is 1 ms.
                let now_tick = now.duration_since(start).as_nanos() / 1_000_000;
                let mut expected = Vec::new();
                while let Some((&(deadline, id), ())) = model.first_key_value() {
                    if tick(start, deadline) > now_tick {
                        break;
                    }
                    model.pop_first();
                    expected.push((deadline, id));
                }
                let fired: Vec<usize> = std::mem::take(&mut *log.lock().unwrap());
                let expected_ids: Vec<usize> = expected.iter().map(|&(_, id)| id).collect();
                let mut fired_sorted = fired.clone();
                fired_sorted.sort_unstable();
                let mut expected_sorted = expected_ids.clone();
                expected_sorted.sort_unstable();
                assert_eq!(
                    fired_sorted, expected_sorted,
                    "seed {seed} step {step}: the same timers fire"
                );
                // In deadline order, at the wheel's 1 ms resolution.
                let fired_ticks: Vec<u128> = fired
                    .iter()
                    .map(|id| tick(start, deadline_of[id]))
                    .collect();
                assert!(
                    fired_ticks.windows(2).all(|w| w[0] <= w[1]),
                    "seed {seed} step {step}: fired out of order: {fired_ticks:?}"
                );
                for id in fired {
                    let deadline = deadline_of.remove(&id).unwrap();
                    assert!(deadline <= now, "seed {seed} step {step}: fired early");
                    let mut sleep = sleeps.remove(&id).unwrap();
                    assert!(sleep.is_elapsed());
                    assert!(poll_with(sleep.as_mut(), &wakers[&id]).is_ready());
                    wakers.remove(&id);
                }
                // Nothing that is not due is complete.
                for (id, sleep) in &sleeps {
                    assert!(
                        !sleep.is_elapsed() || deadline_of[id] <= now,
                        "seed {seed}: {id} early"
                    );
                }
            }
        }
        let metrics = handle.metrics();
        assert_eq!(
            metrics.pending as usize,
            sleeps.len(),
            "seed {seed} step {step}: pending"
        );
    }
}

fn pick<'a>(rng: &mut Rng, map: &'a BTreeMap<usize, Instant>) -> Option<&'a usize> {
    if map.is_empty() {
        return None;
    }
    let n = rng.below(map.len() as u64) as usize;
    map.keys().nth(n)
}

/// `MODEL_SEEDS=2000 cargo test --release -p ply-timer --test model` runs more cases.
#[test]
fn wheel_matches_ordered_map_model() {
    let seeds = std::env::var("MODEL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    with_watchdog(Duration::from_secs(60), move || {
        for seed in 0..seeds {
            run_case(seed, 1_500);
        }
    });
}

#[test]
fn many_timers_same_advance_fire_in_order() {
    with_watchdog(Duration::from_secs(30), || run_case(1234, 20_000));
}

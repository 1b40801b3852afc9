//! Timer wheel against ordered map: what one insert and one cancel cost as the number of
//! pending timers grows.
//!
//! The seed article says the event loop can run tasks "based on a timeout or time
//! interval", and that those need no reactor. They do need a data structure that holds
//! every pending deadline and answers "what is due?". The textbook one is an ordered map
//! (O(log n) insert and remove); ply-timer is a hashed hierarchical timer wheel
//! (Varghese & Lauck; O(1) insert and cancel). This experiment puts the two side by side.
//!
//! For N pending timers (N = 1,000, 10,000, 100,000, 1,000,000; deadlines uniformly random
//! between 1 s and 1 h), three workloads, each run against both contenders:
//!
//! - *insert + cancel*: 10,000 times a round (timed in runs of 1,000), one timer is
//!   inserted and at once cancelled, as a timeout around an operation that finishes in
//!   time does. For ply: a [`Sleep`] is created on the stack on a paused [`Timer`]'s
//!   handle, polled once (which files it in the wheel) and dropped (which unlinks it). For
//!   the map: `insert((deadline, id), waker.clone())` then `remove(&(deadline, id))` on a
//!   `BTreeMap<(Instant, u64), Waker>`.
//! - *insert*: 1,000 new timers are filed (for ply, the first poll of sleeps created and
//!   boxed beforehand, outside the measurement).
//! - *cancel*: those 1,000 are cancelled, in random order (for ply, each sleep is dropped in
//!   place in its box, so freeing the box is not measured; for the map, `remove`).
//!
//! The clock is paused and never advanced, so nothing fires: only insert and cancel are
//! measured. The waker is a real `Arc`-backed one, so both contenders pay for cloning and
//! dropping it. Contenders are interleaved round by round (the order alternates) and each
//! figure is the median over all timed runs of the time per operation. A run is 1,000
//! operations, a fraction of a millisecond, so that on a busy machine most runs are not
//! preempted.
//!
//! Results: a table on stdout, `docs/figures/timers.csv` and `docs/figures/timers.svg`.
//! Run it with (about 10 seconds on 2 cores; `--max-n 100000` to skip the largest size,
//! `--rounds R` to change the default of 51):
//!
//! ```text
//! cargo run --release -p ply-examples --bin experiment_timers
//! ```
//!
//! `bench/src/bin/timer.rs` compares the wheel with more peers (a binary heap, tokio,
//! async-io) and more workloads; this experiment is the simple picture for the docs.

use ply_examples::compare::median_f64;
use ply_examples::experiment::{arg_or, figures_dir};
use ply_examples::plot::{legend, series, series_with, Marker};
use ply_examples::rng::Rng;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use ply_timer::{Sleep, Timer, TimerHandle};

/// The pending-timer counts measured.
const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// Insert + cancel pairs per round, timed in runs of `BATCH`.
const PAIRS: usize = 10_000;
/// Operations per timed run: about 0.1 ms at most, so that on a busy machine few runs
/// are preempted and the median is that of undisturbed runs.
const BATCH: usize = 1_000;

fn main() -> io::Result<()> {
    let rounds: usize = arg_or("--rounds", 51).max(1);
    let max_n: usize = arg_or("--max-n", 1_000_000);
    let started = Instant::now();

    println!("# Timer wheel (ply-timer) against BTreeMap<(Instant, u64), Waker>");
    println!();
    println!(
        "N pending timers with deadlines in [1 s, 1 h); medians of {rounds} interleaved rounds"
    );
    println!(
        "insert + cancel: {PAIRS} pairs per run; insert, cancel: {BATCH} each per run, cancel in random order"
    );

    let waker = Waker::from(Arc::new(Counter));
    let mut samples = Vec::new();
    for n in SIZES.into_iter().filter(|&n| n <= max_n) {
        let mut rng = Rng::new(n as u64);
        let mut wheel = WheelBed::new(n, &waker, &mut rng);
        let mut map = MapBed::new(n, &waker, &mut rng);
        let mut times: [Vec<f64>; 6] = Default::default();
        // One warm-up round, then `rounds` measured ones; the contender that goes first
        // alternates.
        for round in 0..=rounds {
            let mut one: [Vec<f64>; 6] = Default::default();
            for k in 0..2 {
                if (round + k) % 2 == 0 {
                    one[0] = wheel.pairs(&waker, &mut rng);
                    let (insert, cancel) = wheel.batch(&waker, &mut rng);
                    (one[2], one[4]) = (vec![insert], vec![cancel]);
                } else {
                    one[1] = map.pairs(&waker, &mut rng);
                    let (insert, cancel) = map.batch(&waker, &mut rng);
                    (one[3], one[5]) = (vec![insert], vec![cancel]);
                }
            }
            if round > 0 {
                for (t, v) in times.iter_mut().zip(one) {
                    t.extend(v);
                }
            }
        }
        // Nothing fired and nothing leaked: the wheel still holds exactly N.
        let pending = wheel.timer.metrics().pending;
        assert_eq!(pending, n as u64, "the wheel should hold N pending timers");
        assert_eq!(map.map.len(), n);

        let medians: Vec<f64> = times.iter_mut().map(|t| median_f64(t)).collect();
        println!("\n### N = {n} pending\n");
        println!("| workload | ply wheel ns/op | BTreeMap ns/op | BTreeMap / wheel |");
        println!("|---|---:|---:|---:|");
        for (w, workload) in WORKLOADS.iter().enumerate() {
            let (ply, map) = (medians[2 * w], medians[2 * w + 1]);
            println!("| {workload} | {ply:.1} | {map:.1} | {:.2} |", map / ply);
            samples.push(Sample {
                n,
                workload,
                ply,
                map,
            });
        }
    }

    summary(&samples);
    let dir = figures_dir();
    std::fs::create_dir_all(&dir)?;
    write_csv(&dir.join("timers.csv"), &samples, rounds)?;
    plot(&dir.join("timers.svg"), &samples).map_err(|e| io::Error::other(e.to_string()))?;
    println!("\nwrote {}/timers.{{csv,svg}}", dir.display());
    println!("total time: {:.0?}", started.elapsed());
    Ok(())
}

/// The three workloads, in the order of each round's six measurements.
const WORKLOADS: [&str; 3] = ["insert + cancel", "insert", "cancel"];

/// ply-timer: a paused timer holding N pending sleeps.
struct WheelBed {
    timer: Timer,
    handle: TimerHandle,
    /// The N sleeps that stay pending; polled once, never again.
    _pending: Vec<Pin<Box<Sleep>>>,
    /// Slots for the batch workloads: a sleep is created in place, filed by its first
    /// poll, and dropped in place by `set(None)`, so the box is allocated and freed
    /// outside the measurement.
    batch: Vec<Pin<Box<Option<Sleep>>>>,
}

impl WheelBed {
    fn new(n: usize, waker: &Waker, rng: &mut Rng) -> WheelBed {
        let timer = Timer::paused();
        let handle = timer.handle();
        let mut cx = Context::from_waker(waker);
        let now = handle.now();
        let pending = (0..n)
            .map(|_| {
                let mut sleep = Box::pin(handle.sleep_until(now + rng.offset(STEP)));
                assert!(sleep.as_mut().poll(&mut cx).is_pending());
                sleep
            })
            .collect();
        let batch = (0..BATCH).map(|_| Box::pin(None)).collect();
        WheelBed {
            timer,
            handle,
            _pending: pending,
            batch,
        }
    }

    /// `PAIRS` times: create a sleep, poll it once (insert), drop it (cancel). Returns ns
    /// per pair of each run of `BATCH`.
    fn pairs(&mut self, waker: &Waker, rng: &mut Rng) -> Vec<f64> {
        let deadlines: Vec<Instant> = (0..PAIRS)
            .map(|_| self.handle.now() + rng.offset(STEP))
            .collect();
        let mut cx = Context::from_waker(waker);
        let mut runs = Vec::with_capacity(PAIRS / BATCH);
        for run in deadlines.chunks(BATCH) {
            let start = Instant::now();
            for &deadline in run {
                let sleep = pin!(self.handle.sleep_until(deadline));
                if sleep.poll(&mut cx).is_ready() {
                    panic!("a sleep an hour away on a paused clock cannot be ready");
                }
            }
            runs.push(per_op(start.elapsed(), run.len()));
        }
        runs
    }

    /// Files `BATCH` new sleeps, then cancels them in random order. Returns ns per insert
    /// and ns per cancel.
    fn batch(&mut self, waker: &Waker, rng: &mut Rng) -> (f64, f64) {
        let now = self.handle.now();
        for slot in &mut self.batch {
            slot.set(Some(self.handle.sleep_until(now + rng.offset(STEP))));
        }
        let order = rng.permutation(BATCH);
        let mut cx = Context::from_waker(waker);

        let start = Instant::now();
        for slot in &mut self.batch {
            let sleep = slot.as_mut().as_pin_mut().expect("filled above");
            if sleep.poll(&mut cx).is_ready() {
                panic!("a sleep an hour away on a paused clock cannot be ready");
            }
        }
        let insert = start.elapsed();

        let start = Instant::now();
        for &i in &order {
            self.batch[i].set(None);
        }
        let cancel = start.elapsed();
        (per_op(insert, BATCH), per_op(cancel, BATCH))
    }
}

/// The ordered map: deadline and a unique id as the key (deadlines can repeat), the
/// waker to call as the value. The earliest deadline is `first_key_value`.
struct MapBed {
    map: BTreeMap<(Instant, u64), Waker>,
    now: Instant,
    next_id: u64,
    batch: Vec<(Instant, u64)>,
}

impl MapBed {
    fn new(n: usize, waker: &Waker, rng: &mut Rng) -> MapBed {
        let mut bed = MapBed {
            map: BTreeMap::new(),
            now: Instant::now(),
            next_id: 0,
            batch: Vec::with_capacity(BATCH),
        };
        for _ in 0..n {
            let key = bed.key(rng);
            bed.map.insert(key, waker.clone());
        }
        bed
    }

    fn key(&mut self, rng: &mut Rng) -> (Instant, u64) {
        self.next_id += 1;
        (self.now + rng.offset(STEP), self.next_id)
    }

    /// `PAIRS` times: insert a key, remove it. Returns ns per pair of each run of `BATCH`.
    fn pairs(&mut self, waker: &Waker, rng: &mut Rng) -> Vec<f64> {
        let keys: Vec<(Instant, u64)> = (0..PAIRS).map(|_| self.key(rng)).collect();
        let mut runs = Vec::with_capacity(PAIRS / BATCH);
        for run in keys.chunks(BATCH) {
            let start = Instant::now();
            for &key in run {
                self.map.insert(key, waker.clone());
                if self.map.remove(&key).is_none() {
                    panic!("the key was just inserted");
                }
            }
            runs.push(per_op(start.elapsed(), run.len()));
        }
        runs
    }

    /// Inserts `BATCH` new keys, then removes them in random order. Returns ns per insert
    /// and ns per remove.
    fn batch(&mut self, waker: &Waker, rng: &mut Rng) -> (f64, f64) {
        self.batch.clear();
        for _ in 0..BATCH {
            let key = self.key(rng);
            self.batch.push(key);
        }
        let order = rng.permutation(BATCH);

        let start = Instant::now();
        for &key in &self.batch {
            self.map.insert(key, waker.clone());
        }
        let insert = start.elapsed();

        let start = Instant::now();
        for &i in &order {
            if self.map.remove(&self.batch[i]).is_none() {
                panic!("the key was inserted above");
            }
        }
        let cancel = start.elapsed();
        (per_op(insert, BATCH), per_op(cancel, BATCH))
    }
}

/// A waker that counts nothing and is never called here, but is a real `Arc`: cloning it
/// and dropping a clone cost what they cost in a runtime.
struct Counter;

impl Wake for Counter {
    fn wake(self: Arc<Self>) {}
}

/// Deadline offsets in [1 s, 1 h) at microsecond resolution.
const STEP: Duration = Duration::from_micros(1);

fn per_op(elapsed: Duration, ops: usize) -> f64 {
    elapsed.as_secs_f64() * 1e9 / ops as f64
}

/// The median ns per operation of both contenders for one workload at one N.
struct Sample {
    n: usize,
    workload: &'static str,
    ply: f64,
    map: f64,
}

/// One table with every N and workload.
fn summary(samples: &[Sample]) {
    println!("\n### Summary: ns per operation, median (BTreeMap / wheel)\n");
    println!("| N pending | workload | ply wheel | BTreeMap |");
    println!("|---:|---|---:|---:|");
    for s in samples {
        println!(
            "| {} | {} | {:.1} | {:.1} ({:.2}x) |",
            s.n,
            s.workload,
            s.ply,
            s.map,
            s.map / s.ply
        );
    }
}

fn write_csv(path: &Path, samples: &[Sample], rounds: usize) -> io::Result<()> {
    let mut out = String::from("pending,workload,contender,ns_per_op,ratio_vs_ply,rounds\n");
    for s in samples {
        for (contender, ns) in [("ply-timer wheel", s.ply), ("BTreeMap", s.map)] {
            out.push_str(&format!(
                "{},{},{},{:.1},{:.3},{}\n",
                s.n,
                s.workload,
                contender,
                ns,
                ns / s.ply,
                rounds
            ));
        }
    }
    std::fs::write(path, out)
}

/// Two panels against N pending (both axes logarithmic): insert + cancel pairs, and
/// insert and cancel measured apart.
fn plot(path: &Path, samples: &[Sample]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    const WHEEL: RGBColor = RGBColor(0, 114, 178);
    const MAP: RGBColor = RGBColor(213, 94, 0);
    let max_n = samples.iter().map(|s| s.n).max().unwrap_or(10) as f64;
    let (lo, hi) = samples.iter().fold((f64::MAX, 0f64), |(lo, hi), s| {
        (lo.min(s.ply).min(s.map), hi.max(s.ply).max(s.map))
    });

    let root = SVGBackend::new(path, (1000, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let panels = [
        (
            left,
            "insert + cancel at once (a timeout that is not reached)",
            &["insert + cancel"][..],
        ),
        (
            right,
            "insert, then cancel in random order",
            &["insert", "cancel"][..],
        ),
    ];
    for (area, title, workloads) in panels {
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 16))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (500f64..max_n * 2.0).log_scale(),
                ((lo * 0.6).max(0.1)..(hi * 2.0).max(1.0)).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("pending timers (N)")
            .y_desc("ns per operation (median, log scale)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        for &workload in workloads {
            let dashed = workload == "cancel";
            for (name, color, pick) in [
                (
                    "ply-timer wheel",
                    WHEEL,
                    (|s: &Sample| s.ply) as fn(&Sample) -> f64,
                ),
                ("BTreeMap", MAP, |s: &Sample| s.map),
            ] {
                let points: Vec<(f64, f64)> = samples
                    .iter()
                    .filter(|s| s.workload == workload)
                    .map(|s| (s.n as f64, pick(s)))
                    .collect();
                let label = match workloads.len() {
                    1 => name.to_string(),
                    _ => format!("{name}: {workload}"),
                };
                // The cancel-only line: thinner, with triangles, so it reads apart from
                // the insert + cancel line of the same colour.
                match dashed {
                    false => series(&mut chart, points, &label, color)?,
                    true => series_with(&mut chart, points, &label, color, 1, Marker::Triangle)?,
                }
            }
        }
        legend(&mut chart)?;
    }
    root.present()?;
    Ok(())
}

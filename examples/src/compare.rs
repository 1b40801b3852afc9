//! Comparing contenders fairly on a noisy machine.
//!
//! Wall-clock time on a small shared machine drifts by 20% or more within minutes, so a
//! comparison here never sets two numbers taken at different times side by side. Instead
//! every contender runs once per *round*, in a rotating order, for many rounds; each
//! contender's median over the rounds is reported, and so is the median of the per-round
//! *ratios* against the first contender, which cancels most of the drift.
//!
//! std-only on purpose: the bench compiles this file too (`#[path]` in
//! `bench/src/lib.rs`), so the experiments and the benchmarks share one `compare`.

use std::time::{Duration, Instant};

/// One contender in a comparison: a name and a closure that runs the workload once and
/// returns how long the measured part took.
pub struct Contender<'a> {
    /// Shown in the table, e.g. `"ply"` or `"tokio"`.
    pub name: &'static str,
    /// Runs the workload once; returns the measured time.
    pub run: Box<dyn FnMut() -> Duration + 'a>,
}

impl std::fmt::Debug for Contender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'a> Contender<'a> {
    /// A contender whose whole closure is the measured part.
    pub fn timed(name: &'static str, mut f: impl FnMut() + 'a) -> Self {
        Contender {
            name,
            run: Box::new(move || {
                let t = Instant::now();
                f();
                t.elapsed()
            }),
        }
    }

    /// A contender that measures only part of its work itself.
    pub fn manual(name: &'static str, f: impl FnMut() -> Duration + 'a) -> Self {
        Contender {
            name,
            run: Box::new(f),
        }
    }
}

/// The result of [`compare`] for one contender.
#[derive(Debug, Clone)]
pub struct Row {
    /// The contender's name.
    pub name: &'static str,
    /// Median time of one run.
    pub median: Duration,
    /// Median over rounds of (this contender's time / the first contender's time).
    pub ratio_to_first: f64,
}

/// Runs every contender `rounds` times, interleaved (the order rotates each round so no
/// contender always runs first), after one untimed warm-up round.
pub fn compare(rounds: usize, contenders: &mut [Contender<'_>]) -> Vec<Row> {
    let n = contenders.len();
    for c in contenders.iter_mut() {
        (c.run)();
    }
    let mut times = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            times[i].push((contenders[i].run)());
        }
    }
    (0..n)
        .map(|i| {
            let mut ratios: Vec<f64> = (0..rounds)
                .map(|r| times[i][r].as_secs_f64() / times[0][r].as_secs_f64())
                .collect();
            Row {
                name: contenders[i].name,
                median: median_duration(&mut times[i].clone()),
                ratio_to_first: median_f64(&mut ratios),
            }
        })
        .collect()
}

/// Prints a markdown table of `rows` for a workload, with `per` operations per run so the
/// table also shows the time per operation.
pub fn print_table(workload: &str, per: u64, rows: &[Row]) {
    println!("\n### {workload}\n");
    println!(
        "| contender | median per run | per op | ratio vs {} |",
        rows[0].name
    );
    println!("|---|---:|---:|---:|");
    for r in rows {
        let per_op = r.median.as_secs_f64() * 1e9 / per as f64;
        println!(
            "| {} | {:.3} ms | {:.1} ns | {:.2} |",
            r.name,
            r.median.as_secs_f64() * 1e3,
            per_op,
            r.ratio_to_first
        );
    }
}

/// Median of a slice of durations (sorts it).
pub fn median_duration(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median of a slice of floats (sorts it).
pub fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

//! The seed article's claim, measured: one epoll wait costs O(ready fds), one poll(2) or
//! select(2) wait costs O(registered fds).
//!
//! For N registered fds (N = 1, 10, 100, 1,000, 10,000) of which exactly one is ready,
//! each backend of `ply_sys::Selector` runs the same iteration many times:
//!
//! 1. `write` one byte into the ready pipe (for epoll, a new edge);
//! 2. `Selector::select` with a 1 s timeout, which must return exactly that one event
//!    (the timeout is never reached: the fd is ready before the call);
//! 3. `read` the byte back, leaving the pipe empty;
//! 4. `Selector::rearm` the pipe for reading (free with epoll; the emulated backends turn
//!    the direction they disarmed back on).
//!
//! A fourth contender, `write+read`, does steps 1 and 3 alone: the fixed part of every
//! iteration, so what a backend adds is its figure minus that one.
//!
//! The N - 1 idle registrations are both ends of pipes that nobody writes, registered
//! for reading (an empty read end is not readable, a write end never is): 5,000 pipes
//! give 10,000 idle fds within this machine's limit of 20,000 open files. The idle fds
//! are shared by all backends, registered in each selector; each backend has a ready pipe
//! of its own, registered last, so the ready entry comes after every idle one in the
//! poll array and in select's bitmaps, and the kernel examines (and, since the wait may
//! block, hooks a wait-queue entry onto) every idle fd before it finds the ready one.
//! select(2) only takes fds below `FD_SETSIZE` (1024): it runs up to N = 1,000 (fds
//! allocated lowest first so they fit) and is skipped at N = 10,000.
//!
//! Backends are interleaved round by round (see [`compare`]); the table shows medians per
//! run and per iteration, and the median per-round ratio against epoll. The results also
//! go to `docs/figures/selector.csv` and `docs/figures/selector.svg`.
//!
//! Run it with (about 15 seconds on 2 cores):
//!
//! ```text
//! cargo run --release -p ply-examples --bin experiment_selector
//! ```
//!
//! Flags: `--rounds R` (default 31), `--max-n N` (default 10000, drops larger sizes),
//! `--iters K` (iterations per run at every N; default 200,000 / N within 100..=2,000),
//! `--ready-first` (register the ready fd before the idle ones, and give it a lower fd
//! number, instead of after: the kernel then meets it first, and since the wait can no
//! longer block it skips hooking wait-queue entries onto the idle fds it examines after;
//! figures are written only for the default).
//!
//! For instruction counts, `--only <epoll|poll|select|write+read> --n <N> --iters <K>`
//! builds one configuration and runs K iterations once, untimed, so that
//!
//! ```text
//! cargo build --release -p ply-examples --bin experiment_selector
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/experiment_selector --only poll --n 1000 --iters 2000
//! ```
//!
//! counts K iterations plus setup; the same with fewer iterations, subtracted and divided,
//! gives instructions per iteration. callgrind sees userspace only: the kernel's share of
//! a wait shows in the wall-clock table, not in these counts.

use ply_examples::compare::{compare, print_table, Contender, Row};
use ply_examples::experiment::{arg_or, arg_switch, figures_dir, machine, only, raise_fd_limit};
use ply_examples::plot::{legend, log_log_chart, series};
use ply_sys::{Backend, Events, Interest, Selector, Token};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The registered fd counts measured.
const SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// select(2)'s bitmap size: fds at or above it cannot be watched.
const FD_SETSIZE: usize = 1024;
/// The ready pipe's token; idle fds get 1..N.
const READY: Token = Token(0);
/// Never reached: the fd is ready before each wait starts. Long enough to fail loudly if
/// an event is lost, instead of hanging.
const WAIT_LIMIT: Duration = Duration::from_secs(1);
/// The name of the contender that does the iteration's write and read with no wait.
const BASELINE: &str = "write+read";

fn main() -> io::Result<()> {
    let limit = raise_fd_limit()?;
    let placement = placement();
    if let Some(name) = only() {
        return run_only(&name);
    }
    let rounds: usize = arg_or("--rounds", 31);
    let max_n: usize = arg_or("--max-n", 10_000);
    let fixed_iters: usize = arg_or("--iters", 0);

    println!("# Selector: one wait with one ready fd among N registered");
    println!();
    println!("machine: {}", machine());
    println!("open-file limit: {limit}; rounds: {rounds} (+1 warm-up), backends interleaved");
    println!("one iteration: write 1 byte, select (1 event), read 1 byte, rearm");
    println!("the ready fd is registered {placement:?} (and numbered so, for select)");

    let mut results = Vec::new();
    for n in SIZES.into_iter().filter(|&n| n <= max_n) {
        let Some(fixture) = Fixture::new(n, &Backend::ALL, limit, placement)? else {
            continue;
        };
        let iters = match fixed_iters {
            0 => iterations(n),
            k => k,
        };
        let mut contenders: Vec<Contender<'_>> = fixture
            .beds
            .iter()
            .map(|bed| Contender::timed(bed.name(), move || bed.run(iters)))
            .collect();
        let rows = compare(rounds, &mut contenders);
        drop(contenders);
        print_table(
            &format!("N = {n} registered fds ({iters} iterations per run)"),
            iters as u64,
            &rows,
        );
        for note in &fixture.skipped {
            println!("\n{note}");
        }
        results.extend(rows.into_iter().map(|row| Sample { n, iters, row }));
    }

    summary(&results);
    if placement == Placement::First {
        // The figures show the default layout only.
        return Ok(());
    }
    let dir = figures_dir();
    std::fs::create_dir_all(&dir)?;
    write_csv(&dir.join("selector.csv"), &results, rounds)?;
    plot(&dir.join("selector.svg"), &results).map_err(|e| io::Error::other(e.to_string()))?;
    println!("\nwrote {}/selector.{{csv,svg}}", dir.display());
    Ok(())
}

/// `--ready-first` puts the ready fd before the idle ones; the default is after.
fn placement() -> Placement {
    match arg_switch("--ready-first") {
        true => Placement::First,
        false => Placement::Last,
    }
}

/// Iterations per timed run: milliseconds of work, long against the clock's resolution
/// and short against the machine's drift. At least 100, so the first iteration of a run,
/// slowed by the caches the previous contender left cold (poll's sweep over 10,000 pipes
/// at the largest N), weighs little in the median.
fn iterations(n: usize) -> usize {
    (200_000 / n).clamp(100, 2_000)
}

/// `--only <name> --n <N> --iters <K>`: one configuration, K iterations, for callgrind.
fn run_only(name: &str) -> io::Result<()> {
    let n: usize = arg_or("--n", 10);
    let iters: usize = arg_or("--iters", 1_000);
    let backend = match name {
        BASELINE => None,
        other => Some(other.parse::<Backend>()?),
    };
    let backends: Vec<Backend> = backend.into_iter().collect();
    let fixture = Fixture::new(n, &backends, usize::MAX, placement())?
        .ok_or_else(|| io::Error::other(format!("cannot build N = {n}")))?;
    let bed = fixture
        .beds
        .iter()
        .find(|b| b.name() == name)
        .ok_or_else(|| io::Error::other(format!("{name} cannot run at N = {n}")))?;
    let start = Instant::now();
    bed.run(iters);
    println!(
        "{name}, N = {n}: {iters} iterations in {:?}",
        start.elapsed()
    );
    Ok(())
}

/// The fds of one N: idle pipe ends shared by every selector, and one bed per contender.
struct Fixture {
    /// Declared before `_idle` so the selectors (which do not own the fds) drop first.
    beds: Vec<Bed>,
    _idle: Vec<OwnedFd>,
    /// Lines explaining contenders left out at this N.
    skipped: Vec<String>,
}

impl Fixture {
    /// Builds N registrations for each backend in `backends` plus the write+read
    /// baseline; `None` if the process cannot open enough fds.
    fn new(
        n: usize,
        backends: &[Backend],
        fd_limit: usize,
        placement: Placement,
    ) -> io::Result<Option<Fixture>> {
        // N - 1 idle fds, one ready pipe (2 fds) per bed, a few per selector, stdio.
        let needed = n + 2 * (backends.len() + 1) + 3 * backends.len() + 16;
        if needed > fd_limit {
            println!("\nN = {n}: skipped, needs about {needed} fds, the limit is {fd_limit}");
            return Ok(None);
        }
        let mut skipped = Vec::new();
        // select first, so its wake fd, the idle fds and its ready pipe take the lowest
        // numbers and fit under FD_SETSIZE.
        let select = match backends.contains(&Backend::Select) {
            false => None,
            true if n >= FD_SETSIZE => {
                skipped.push(format!(
                    "select: skipped at N = {n}: it cannot watch fds >= FD_SETSIZE ({FD_SETSIZE})"
                ));
                None
            }
            true => Some(Selector::with_backend(Backend::Select)?),
        };
        // With the ready fd first, select's ready pipe also gets a lower number than every
        // idle fd, so select's bitmap scan meets it first too.
        let mut select_ready = match (&select, placement) {
            (Some(_), Placement::First) => Some(ply_sys::pipe()?),
            _ => None,
        };

        // Both ends of each pipe; an odd N - 1 leaves one end open but unregistered (closing
        // it would hang up its partner).
        let mut idle = Vec::with_capacity(n);
        while idle.len() < n - 1 {
            let (r, w) = ply_sys::pipe()?;
            idle.push(r);
            idle.push(w);
        }
        let registered = &idle[..n - 1];

        let mut beds = Vec::new();
        if let Some(selector) = select {
            let pipe = match select_ready.take() {
                Some(pipe) => pipe,
                None => ply_sys::pipe()?,
            };
            beds.push(Bed::new(Some(selector), registered, pipe, placement)?);
        }
        for backend in backends.iter().filter(|b| **b != Backend::Select) {
            let selector = Selector::with_backend(*backend)?;
            beds.push(Bed::new(
                Some(selector),
                registered,
                ply_sys::pipe()?,
                placement,
            )?);
        }
        beds.push(Bed::new(None, &[], ply_sys::pipe()?, placement)?);
        // compare() reports ratios against the first contender: epoll when present.
        beds.sort_by_key(|b| b.order());
        Ok(Some(Fixture {
            beds,
            _idle: idle,
            skipped,
        }))
    }
}

/// Where the ready fd sits among the registrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Registered after every idle fd, with the highest fd number (the default).
    Last,
    /// Registered before every idle fd, with a lower fd number (`--ready-first`).
    First,
}

/// One contender: a selector with the idle fds and its own ready pipe registered, or no
/// selector at all (the write+read baseline).
struct Bed {
    selector: Option<Selector>,
    read: OwnedFd,
    write: OwnedFd,
}

impl Bed {
    fn new(
        selector: Option<Selector>,
        idle: &[OwnedFd],
        (read, write): (OwnedFd, OwnedFd),
        placement: Placement,
    ) -> io::Result<Bed> {
        if let Some(s) = &selector {
            if placement == Placement::First {
                s.register(read.as_raw_fd(), READY, Interest::READABLE)?;
            }
            for (i, fd) in idle.iter().enumerate() {
                s.register(fd.as_raw_fd(), Token(i + 1), Interest::READABLE)?;
            }
            if placement == Placement::Last {
                s.register(read.as_raw_fd(), READY, Interest::READABLE)?;
            }
        }
        Ok(Bed {
            selector,
            read,
            write,
        })
    }

    fn name(&self) -> &'static str {
        self.selector
            .as_ref()
            .map_or(BASELINE, |s| s.backend().name())
    }

    fn order(&self) -> usize {
        match &self.selector {
            Some(s) => Backend::ALL.iter().position(|b| *b == s.backend()).unwrap(),
            None => Backend::ALL.len(),
        }
    }

    /// `iters` iterations of write, select, read, rearm (see the module docs).
    ///
    /// # Panics
    ///
    /// If a wait does not return exactly the one ready event, or a syscall fails: the
    /// measurement would be meaningless.
    fn run(&self, iters: usize) {
        let mut events = Events::with_capacity(8);
        let mut buf = [0u8; 8];
        for _ in 0..iters {
            assert_eq!(ply_sys::write(self.write.as_fd(), b"x").unwrap(), 1);
            if let Some(s) = &self.selector {
                s.select(&mut events, Some(WAIT_LIMIT)).unwrap();
                let mut got = events.iter();
                match (got.next(), got.next()) {
                    (Some(e), None) if e.token() == READY && e.is_readable() => {}
                    _ => panic!(
                        "{}: expected one readable event, got {events:?}",
                        self.name()
                    ),
                }
            }
            assert_eq!(ply_sys::read(self.read.as_fd(), &mut buf).unwrap(), 1);
            if let Some(s) = &self.selector {
                s.rearm(self.read.as_raw_fd(), READY, Interest::READABLE)
                    .unwrap();
            }
        }
    }
}

/// One contender's result at one N.
struct Sample {
    n: usize,
    iters: usize,
    row: Row,
}

impl Sample {
    fn ns_per_iter(&self) -> f64 {
        self.row.median.as_secs_f64() * 1e9 / self.iters as f64
    }
}

/// Prints one table with every N: ns per iteration and the ratio against epoll.
fn summary(results: &[Sample]) {
    let names = ["epoll", "poll", "select", BASELINE];
    println!("\n### Summary: ns per iteration (ratio vs epoll, same run)\n");
    println!("| N | {} |", names.join(" | "));
    println!("|---:|{}", "---:|".repeat(names.len()));
    let mut ns: Vec<usize> = results.iter().map(|s| s.n).collect();
    ns.dedup();
    for n in ns {
        let cells: Vec<String> = names
            .iter()
            .map(
                |name| match results.iter().find(|s| s.n == n && s.row.name == *name) {
                    Some(s) if *name == "epoll" => format!("{:.0}", s.ns_per_iter()),
                    Some(s) => format!("{:.0} ({:.2}x)", s.ns_per_iter(), s.row.ratio_to_first),
                    None => "skipped".to_string(),
                },
            )
            .collect();
        println!("| {n} | {} |", cells.join(" | "));
    }
}

fn write_csv(path: &std::path::Path, results: &[Sample], rounds: usize) -> io::Result<()> {
    let mut out =
        String::from("n,contender,ns_per_iteration,ratio_vs_epoll,iterations_per_run,rounds\n");
    for s in results {
        out.push_str(&format!(
            "{},{},{:.1},{:.3},{},{}\n",
            s.n,
            s.row.name,
            s.ns_per_iter(),
            s.row.ratio_to_first,
            s.iters,
            rounds
        ));
    }
    std::fs::write(path, out)
}

/// ns per iteration against N, both axes logarithmic, one line per contender.
fn plot(path: &std::path::Path, results: &[Sample]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let max_n = results.iter().map(|s| s.n).max().unwrap_or(1) as f64;
    let (lo, hi) = results
        .iter()
        .map(Sample::ns_per_iter)
        .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let root = SVGBackend::new(path, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = log_log_chart(
        &root,
        "One wait + dispatch with 1 ready fd among N registered",
        (1f64..max_n.max(10.0), "registered fds (N)"),
        ((lo * 0.7)..(hi * 1.4), "ns per iteration (median)"),
    )?;

    let lines = [
        ("epoll", RGBColor(0, 114, 178)),
        ("poll", RGBColor(213, 94, 0)),
        ("select", RGBColor(0, 158, 115)),
        (BASELINE, RGBColor(120, 120, 120)),
    ];
    for (name, color) in lines {
        let points: Vec<(f64, f64)> = results
            .iter()
            .filter(|s| s.row.name == name)
            .map(|s| (s.n as f64, s.ns_per_iter()))
            .collect();
        if points.is_empty() {
            continue;
        }
        let label = if name == BASELINE {
            "write+read alone (no wait)"
        } else {
            name
        };
        series(&mut chart, points, label, color)?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

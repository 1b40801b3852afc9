//! Small helpers shared by the ply examples: a hand-written flag parser, loopback address
//! checks, a latency histogram, and the table that shows what each layer of a
//! [`ply_net::Runtime`] did.
//!
//! The examples themselves live in `src/bin/`; each opens with a header saying what it
//! shows and the command that runs it. Nothing here is part of ply's API: it keeps the
//! examples short and their error handling uniform (a bad flag prints the usage and exits
//! with status 2; nothing panics on user input).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use ply_net::Backend;
use ply_net::{Runtime, RuntimeStats};

/// Prints `message` and the usage text to stderr, then exits with status 2.
pub fn usage_error(usage: &str, message: &str) -> ! {
    eprintln!("error: {message}\n\n{usage}");
    std::process::exit(2);
}

/// The command-line flags of an example, parsed by hand: `--name value`, `--name=value`
/// and bare `--switch`es. `-h`/`--help` prints the usage and exits with status 0.
///
/// Take flags with [`value`](Self::value), [`opt`](Self::opt) and
/// [`switch`](Self::switch), then call [`finish`](Self::finish), which rejects anything
/// left over.
///
/// # Examples
///
/// ```
/// let mut args = ply_examples::Args::from_vec("usage: x", vec!["--seconds=2".into()]);
/// assert_eq!(args.value("--seconds", 3u64), 2);
/// assert_eq!(args.value("--size", 64usize), 64);
/// args.finish();
/// ```
#[derive(Debug)]
pub struct Args {
    usage: &'static str,
    rest: Vec<String>,
}

impl Args {
    /// The process's arguments (without the program name).
    pub fn parse(usage: &'static str) -> Args {
        Args::from_vec(usage, std::env::args().skip(1).collect())
    }

    /// Arguments from a vector (for tests).
    pub fn from_vec(usage: &'static str, args: Vec<String>) -> Args {
        if args.iter().any(|a| a == "-h" || a == "--help") {
            println!("{usage}");
            std::process::exit(0);
        }
        Args { usage, rest: args }
    }

    /// The usage text, for errors found after parsing.
    pub fn usage(&self) -> &'static str {
        self.usage
    }

    /// The value of `flag` parsed as `T`, if the flag is present. Exits with the usage on
    /// a missing or unparsable value.
    pub fn opt<T: FromStr>(&mut self, flag: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.take_raw(flag)?;
        match raw.parse() {
            Ok(v) => Some(v),
            Err(e) => usage_error(self.usage, &format!("{flag} {raw:?}: {e}")),
        }
    }

    /// The value of `flag` parsed as `T`, or `default`.
    pub fn value<T: FromStr>(&mut self, flag: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        self.opt(flag).unwrap_or(default)
    }

    /// Whether the bare switch `flag` is present.
    pub fn switch(&mut self, flag: &str) -> bool {
        match self.rest.iter().position(|a| a == flag) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Exits with the usage if any argument was not taken.
    pub fn finish(self) {
        if let Some(first) = self.rest.first() {
            usage_error(self.usage, &format!("unexpected argument {first:?}"));
        }
    }

    /// Removes `flag` and its value from the arguments and returns the value.
    fn take_raw(&mut self, flag: &str) -> Option<String> {
        let prefix = format!("{flag}=");
        let i = self
            .rest
            .iter()
            .position(|a| a == flag || a.starts_with(&prefix))?;
        let arg = self.rest.remove(i);
        if let Some(v) = arg.strip_prefix(&prefix) {
            return Some(v.to_owned());
        }
        if i < self.rest.len() && !self.rest[i].starts_with("--") {
            return Some(self.rest.remove(i));
        }
        usage_error(self.usage, &format!("{flag} needs a value"))
    }
}

/// A whole number of seconds from the command line, for `--seconds`. Exits with the usage
/// if it is zero or above one day.
pub fn seconds(args: &mut Args, flag: &str, default: Option<u64>) -> Option<Duration> {
    let secs = args.opt::<u64>(flag).or(default)?;
    if !(1..=86_400).contains(&secs) {
        usage_error(args.usage(), &format!("{flag} must be from 1 to 86400"));
    }
    Some(Duration::from_secs(secs))
}

/// A socket address that must be on the loopback interface: the examples never listen or
/// connect elsewhere. Exits with the usage otherwise.
pub fn loopback_addr(args: &mut Args, flag: &str, default: &str) -> SocketAddr {
    let raw: String = args.value(flag, default.to_owned());
    match raw.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => addr,
        Ok(addr) => usage_error(
            args.usage(),
            &format!("{flag} {addr}: the examples use loopback only (127.0.0.1 or [::1])"),
        ),
        Err(e) => usage_error(
            args.usage(),
            &format!("{flag} {raw:?}: {e} (expected IP:PORT, like 127.0.0.1:7000)"),
        ),
    }
}

/// `--threads`: 0 (current-thread) to 256; defaults to the available cores.
pub fn threads(args: &mut Args) -> usize {
    let n = args.value("--threads", default_threads());
    if n > 256 {
        usage_error(args.usage(), "--threads must be from 0 to 256");
    }
    n
}

/// A count from the command line that must lie in `range`.
pub fn count(args: &mut Args, flag: &str, default: usize, range: RangeInclusive<usize>) -> usize {
    let n = args.value(flag, default);
    if !range.contains(&n) {
        usage_error(
            args.usage(),
            &format!("{flag} must be from {} to {}", range.start(), range.end()),
        );
    }
    n
}

/// Builds the runtime `--threads` and `--selector` ask for: 0 threads is the
/// current-thread runtime, N > 0 a multi-threaded one with N workers.
///
/// # Errors
///
/// Those of [`ply_net::Builder::build`].
pub fn build_runtime(threads: usize, selector: Option<Backend>) -> std::io::Result<Runtime> {
    let mut b = Runtime::builder();
    b = match threads {
        0 => b.current_thread(),
        n => b.multi_thread().worker_threads(n),
    };
    if let Some(backend) = selector {
        b = b.selector(backend);
    }
    b.build()
}

/// A one-line description of a runtime's shape, like `multi-threaded, 2 workers, epoll`.
pub fn describe_runtime(threads: usize, backend: Backend) -> String {
    match threads {
        0 => format!("current-thread, selector {backend}"),
        1 => format!("multi-threaded, 1 worker, selector {backend}"),
        n => format!("multi-threaded, {n} workers, selector {backend}"),
    }
}

/// The default number of workers: the available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in the unit that reads best: `850 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`.
pub fn human_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// Sub-buckets per power of two: values are kept to within 1/16 (about 6%).
const SUB: u64 = 16;
const SUB_BITS: u32 = SUB.trailing_zeros();
/// Enough buckets for any `u64` nanosecond count.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A latency histogram with log-linear buckets (16 per power of two, so each recorded
/// value is kept within about 6%), cheap to record into and to merge: each task keeps its
/// own and the results are added up at the end, with no shared state while measuring.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let mut h = ply_examples::Histogram::new();
/// for us in 1..=100 {
///     h.record(Duration::from_micros(us));
/// }
/// let p50 = h.percentile(50.0);
/// assert!(p50 >= Duration::from_micros(50) && p50 <= Duration::from_micros(54));
/// assert_eq!(h.count(), 100);
/// ```
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_ns: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_ns: 0,
        }
    }

    /// Records one value.
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds another histogram's values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (exact).
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }

    /// The value below which `p` percent of the values lie (the upper edge of its bucket,
    /// never above the maximum); zero if empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(bucket_high(i).min(self.max_ns));
            }
        }
        self.max()
    }
}

/// The bucket of a value: exact below 16, then 16 buckets per power of two.
fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = (v >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The largest value in bucket `i`.
fn bucket_high(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let exp = (i / SUB) as u32 + SUB_BITS - 1;
    let width = 1u64 << (exp - SUB_BITS);
    let low = (SUB + i % SUB) << (exp - SUB_BITS);
    low.saturating_add(width - 1)
}

/// One row of the layer table: what was counted, the count to divide by requests, and
/// how to show it.
struct Row {
    what: &'static str,
    count: u64,
    shown: String,
}

impl Row {
    fn new(what: &'static str, count: u64) -> Row {
        Row {
            what,
            count,
            shown: thousands(count),
        }
    }

    /// A row that shows a second number in the total column, like `12 / 3`.
    fn pair(what: &'static str, count: u64, shown: String) -> Row {
        Row { what, count, shown }
    }
}

/// The table of what each layer of a runtime did, from [`Runtime::stats`], bottom layer
/// (the kernel's selector) first, as the path of one read goes up. With `per` (a number
/// of requests and the word for one, like `(n, "echo")`), a last column divides each
/// counter by it.
pub fn layer_table(stats: &RuntimeStats, per: Option<(u64, &str)>) -> String {
    let s = &stats.selector;
    let r = &stats.reactor;
    let e = &stats.executor;
    let t = &stats.timer;
    let layers: [(&str, &str, Vec<Row>); 4] = [
        (
            "ply-sys",
            "selector",
            vec![
                Row::new("kernel waits", s.waits),
                Row::new("readiness events", s.events),
                Row::new("wake-ups written (eventfd)", s.wakes),
            ],
        ),
        (
            "ply-reactor",
            "",
            vec![
                Row::new("reactor turns (polls)", r.polls),
                Row::new("events dispatched", r.events),
                Row::new("wakers called", r.wakes),
                Row::new("unparks of a blocked poller", r.unparks),
                Row::pair(
                    "fds registered / dropped",
                    r.registrations,
                    format!(
                        "{} / {}",
                        thousands(r.registrations),
                        thousands(r.deregistrations)
                    ),
                ),
            ],
        ),
        (
            "ply-executor",
            "",
            vec![
                Row::new("tasks spawned", e.spawned),
                Row::new("task polls", e.polled),
                Row::new("tasks completed", e.completed),
                Row::pair(
                    "steals (tasks moved)",
                    e.steals,
                    format!("{} ({})", thousands(e.steals), thousands(e.stolen)),
                ),
                Row::new("parks (idle waits)", e.parks),
            ],
        ),
        (
            "ply-timer",
            "wheel",
            vec![
                Row::new("timers armed (inserts)", t.inserted),
                Row::new("cancelled before firing", t.cancelled),
                Row::new("fired", t.fired),
                Row::new("resets (moved in place)", t.reset),
            ],
        ),
    ];

    let per_head = per.map_or(String::new(), |(_, word)| {
        format!("{:>12}", format!("per {word}"))
    });
    let mut out = String::new();
    let head = format!(
        "  {:<13} {:<28} {:>14}{per_head}",
        "layer", "counter", "total"
    );
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "  {}", "-".repeat(head.chars().count() - 2));
    for (i, (layer, part, rows)) in layers.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out);
        }
        for (j, row) in rows.iter().enumerate() {
            let label = match j {
                0 => *layer,
                1 => *part,
                _ => "",
            };
            let ratio = match per {
                Some((n, _)) if n > 0 => format!("{:>12.3}", row.count as f64 / n as f64),
                Some(_) => format!("{:>12}", "-"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  {label:<13} {:<28} {:>14}{ratio}",
                row.what, row.shown
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut prev = 0;
        for v in (0..20_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= prev, "bucket order at {v}");
            assert!(bucket_high(b) >= v, "high edge below value at {v}");
            assert!(bucket_high(b) - v <= v / 16, "bucket too wide at {v}");
            prev = b;
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn thousands_groups_digits() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }

    #[test]
    fn args_take_both_spellings_and_switches() {
        let v = ["--a", "1", "--b=2", "--x"].map(String::from).to_vec();
        let mut args = Args::from_vec("u", v);
        assert_eq!(args.value("--a", 0u32), 1);
        assert_eq!(args.value("--b", 0u32), 2);
        assert_eq!(args.value("--c", 7u32), 7);
        assert!(args.switch("--x"));
        assert!(args.rest.is_empty());
    }
}

/// What the experiments (`experiment_*`) share: flags, where figures go, the fd limit.
pub mod experiment {
    use std::io;
    use std::path::PathBuf;
    use std::str::FromStr;

    /// The value after `flag` on the command line (`--flag value`), or `default` if the
    /// flag is absent or its value does not parse.
    ///
    /// ```
    /// let rounds: usize = ply_examples::experiment::arg_or("--rounds", 7);
    /// assert_eq!(rounds, 7);
    /// ```
    pub fn arg_or<T: FromStr>(flag: &str, default: T) -> T {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// `docs/figures/` in the repository: where every experiment writes its CSV and SVG.
    pub fn figures_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/figures")
    }

    /// Raises the soft limit on open files to the hard limit ([getrlimit(2)]); returns the
    /// new soft limit.
    ///
    /// # Errors
    ///
    /// If the limit cannot be read or set.
    ///
    /// [getrlimit(2)]: https://man7.org/linux/man-pages/man2/getrlimit.2.html
    pub fn raise_fd_limit() -> io::Result<usize> {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid rlimit for the kernel to fill.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == -1 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one
            // needs no privilege.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX))
    }
}

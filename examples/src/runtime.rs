//! Building the runtime the flags ask for, and the table of what each of its layers did.

use std::fmt::Write as _;

use ply_net::Backend;
use ply_net::{Runtime, RuntimeStats};

use crate::fmt::thousands;

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

/// [`build_runtime`], or, if the runtime cannot start, `{name}: cannot start the runtime:
/// {error}` on stderr and exit status 1: what every example does.
pub fn start_runtime(name: &str, threads: usize, selector: Option<Backend>) -> Runtime {
    match build_runtime(threads, selector) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

/// Blocks SIGINT in this thread, so that `ply_net::signal::ctrl_c()` receives it. Call it before any other thread exists: the runtime's workers inherit the mask, so no
/// thread takes Ctrl-C's default action (killing the process) and the example can stop
/// cleanly and print its layer table.
pub fn block_sigint() {
    let sigint = ply_sys::SignalSet::of(&[libc::SIGINT]).expect("SIGINT is a signal");
    ply_sys::block_signals(&sigint).expect("block SIGINT");
}

/// A one-line description of a runtime's shape, like `multi-threaded, 2 workers, epoll`.
pub fn describe_runtime(threads: usize, backend: Backend) -> String {
    match threads {
        0 => format!("current-thread, selector {backend}"),
        1 => format!("multi-threaded, 1 worker, selector {backend}"),
        n => format!("multi-threaded, {n} workers, selector {backend}"),
    }
}

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

//! Deterministic counts for the `reactor` benchmark: userspace instructions (callgrind)
//! and system calls (strace) per round trip, for every contender, every thread included.
//!
//! For each contender it runs
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/reactor --only <contender> --n <N>
//! strace -f -c -o <file> target/release/reactor --only <contender> --n <N>
//! ```
//!
//! at N = 2,000 and N = 6,000 round trips and divides the difference of the totals by
//! 4,000, which cancels start-up (runtimes, threads, registrations) and shutdown.
//! callgrind counts what every thread executes in userspace (the kernel's side of a
//! system call is not in it); strace counts every thread's system calls. Both tools slow
//! the program down by an order of magnitude, which changes *when* threads block: a
//! contender whose threads hand work to each other may block (and so call `futex` or
//! `epoll_wait`) more often under the tools than at full speed. The counts are exact for
//! the run they describe, and the same for every contender; the wall-clock table of
//! `reactor` is the one that says what is faster.
//!
//! A third run per contender, with no tool attached, gives the "sleeps" column: voluntary
//! context switches per round trip, every thread (each one is a thread blocking in
//! `epoll_wait` or on a futex, to be woken again). It depends on timing, so it varies a
//! little from run to run; `reactor --only <contender>` prints it per thread.
//!
//! Run it with (about two minutes; needs `valgrind` and `strace`):
//!
//! ```text
//! cd bench && cargo build --release --bin reactor && cargo run --release --bin reactor_counts
//! ```
//!
//! `--only <contender>` restricts it to one contender; `--n1`, `--n2` change the two sizes;
//! `--pipes` or `--tcp` count the benchmark's mode of that name (two pipes, or a loopback
//! TCP connection, instead of a socket pair).

use std::collections::BTreeMap;
use std::process::Command;

use ply_bench::{arg_or, arg_switch, only};

/// The contenders of `reactor`, in its table order.
const CONTENDERS: [&str; 9] = [
    "ply-global",
    "async-io-global",
    "ply-net-ct",
    "tokio-ct",
    "async-io-blockon",
    "ply-loop",
    "ply-net-ct-1",
    "tokio-ct-1",
    "async-io-1",
];

/// The system calls shown in their own column (the rest are summed under "other").
const SHOWN: [&str; 6] = [
    "epoll_wait",
    "epoll_ctl",
    "futex",
    "read",
    "write",
    "timerfd_settime",
];

/// `--pipes` or `--tcp`, passed on to `reactor` if given.
fn mode() -> &'static [&'static str] {
    if arg_switch("--pipes") {
        &["--pipes"]
    } else if arg_switch("--tcp") {
        &["--tcp"]
    } else {
        &[]
    }
}

fn instructions(bin: &str, who: &str, n: u32) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", bin])
        .args(["--only", who, "--n", &n.to_string()])
        .args(mode())
        .output()
        .expect("valgrind not found: install it (apt-get install valgrind)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{who} failed under callgrind:\n{stderr}"
    );
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no callgrind total in:\n{stderr}"))
}

/// System calls by name, every thread, from `strace -f -c`.
fn syscalls(bin: &str, who: &str, n: u32) -> BTreeMap<String, u64> {
    let file = std::env::temp_dir().join(format!("reactor-strace-{who}-{n}.txt"));
    let out = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&file)
        .args([bin, "--only", who, "--n", &n.to_string()])
        .args(mode())
        .output()
        .expect("strace not found: install it (apt-get install strace)");
    assert!(
        out.status.success(),
        "{who} failed under strace:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("strace summary");
    let _ = std::fs::remove_file(&file);
    let mut calls = BTreeMap::new();
    // Rows: % time, seconds, usecs/call, calls, [errors], syscall.
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || cols[0].parse::<f64>().is_err() || cols.last() == Some(&"total") {
            continue;
        }
        let name = cols[cols.len() - 1];
        // epoll_pwait (async-io's polling) counts as a wait like epoll_wait.
        let name = if name == "epoll_pwait" {
            "epoll_wait"
        } else {
            name
        };
        if let Ok(c) = cols[3].parse::<u64>() {
            *calls.entry(name.to_string()).or_insert(0) += c;
        }
    }
    calls
}

/// Voluntary context switches per round trip (how often some thread blocked), from a run
/// with no tool attached: `reactor --only` prints it.
fn sleeps(bin: &str, who: &str, n: u32) -> f64 {
    let out = Command::new(bin)
        .args(["--only", who, "--n", &n.to_string()])
        .args(mode())
        .output()
        .expect("run the benchmark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| {
            l.split("voluntary context switches per round trip: ")
                .nth(1)
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no context switch count in:\n{stdout}"))
}

fn main() {
    let n1: u32 = arg_or("--n1", 2_000);
    let n2: u32 = arg_or("--n2", 6_000);
    let which = only();
    let exe = std::env::current_exe().unwrap();
    let bin = exe.with_file_name("reactor");
    assert!(
        bin.exists(),
        "build the benchmark first: cargo build --release --bin reactor"
    );
    let bin = bin.to_str().unwrap();
    let per = f64::from(n2 - n1);

    println!("\n### Per round trip, every thread: userspace instructions and system calls\n");
    print!("| contender | instructions | sleeps (untraced) | syscalls |");
    for s in SHOWN {
        print!(" {s} |");
    }
    println!(" other |");
    print!("|---|---:|---:|---:|");
    for _ in SHOWN {
        print!("---:|");
    }
    println!("---:|");
    for who in CONTENDERS {
        if which.as_deref().is_some_and(|w| w != who) {
            continue;
        }
        let instr = (instructions(bin, who, n2) as f64 - instructions(bin, who, n1) as f64) / per;
        let (a, b) = (syscalls(bin, who, n1), syscalls(bin, who, n2));
        let diff = |name: &str| {
            let d =
                b.get(name).copied().unwrap_or(0) as f64 - a.get(name).copied().unwrap_or(0) as f64;
            // A call or two of start-up jitter must not print as "-0.0".
            (d / per).max(0.0)
        };
        let total: f64 = b
            .keys()
            .chain(a.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|k| diff(k))
            .sum();
        let shown: f64 = SHOWN.iter().map(|s| diff(s)).sum();
        let slept = sleeps(bin, who, n2);
        print!("| {who} | {instr:.0} | {slept:.2} | {total:.1} |");
        for s in SHOWN {
            print!(" {:.1} |", diff(s));
        }
        println!(" {:.1} |", total - shown);
    }
    println!(
        "\n(N = {n1} and {n2} round trips over {}; (count at {n2} - count at {n1}) / {}; \
         epoll_wait includes epoll_pwait)",
        match mode() {
            [] => "a Unix socket pair",
            ["--pipes"] => "two pipes",
            _ => "a loopback TCP connection",
        },
        n2 - n1
    );
}

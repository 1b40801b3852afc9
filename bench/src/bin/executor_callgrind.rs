//! Userspace instructions per operation for the `executor` benchmark's workloads, counted
//! with callgrind for ply and its peers: a measure that does not drift with the machine's
//! load the way wall-clock time does.
//!
//! For every contender and workload it runs
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/executor --only <contender> --workload <workload> --scale <k>
//! ```
//!
//! at `k = 1` and `k = 2`, and divides the difference of the two totals by the difference
//! in operations, which cancels start-up (building all runtimes) and shutdown. callgrind
//! runs threads one at a time, so for the two-worker contenders the counts include what
//! idle workers execute while they look for work (spinning, stealing attempts), which is
//! part of what a runtime costs.
//!
//! Run it with (a few minutes; needs `valgrind`):
//!
//! ```text
//! cd bench && cargo build --release --bin executor && cargo run --release --bin executor_callgrind
//! ```
//!
//! `--workload <name>` restricts it to one workload.

use std::process::Command;

use ply_bench::arg_or;

const CONTENDERS: [(&str, &str); 6] = [
    ("ply (1 thread)", "ply-local"),
    ("tokio current_thread", "tokio-ct"),
    ("async-executor (1 thread)", "ae-local"),
    ("ply (2 workers)", "ply-mt"),
    ("tokio multi_thread (2 workers)", "tokio-mt"),
    ("async-executor (2 threads)", "ae-mt"),
];

/// Workload name and its operation count at scale 1 (see `executor.rs`).
const WORKLOADS: [(&str, u64); 4] = [
    ("spawn_many", 100_000),
    ("yield_many", 100_000),
    ("ping_pong", 10_000),
    ("chained_spawn", 10_000),
];

fn instructions(bin: &str, who: &str, workload: &str, scale: u64) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", bin])
        .args([
            "--only",
            who,
            "--workload",
            workload,
            "--scale",
            &scale.to_string(),
        ])
        .output()
        .expect("valgrind not found: install it (apt-get install valgrind)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{who} {workload} failed:\n{stderr}");
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no callgrind total in:\n{stderr}"))
}

fn main() {
    let only: String = arg_or("--workload", String::new());
    let exe = std::env::current_exe().unwrap();
    let bin = exe.with_file_name("executor");
    assert!(
        bin.exists(),
        "build the benchmark first: cargo build --release --bin executor"
    );
    let bin = bin.to_str().unwrap();
    for (workload, ops) in WORKLOADS {
        if !only.is_empty() && only != workload {
            continue;
        }
        println!("\n### {workload}: instructions per operation\n");
        println!("| contender | instructions per op |");
        println!("|---|---:|");
        for (label, who) in CONTENDERS {
            let one = instructions(bin, who, workload, 1);
            let two = instructions(bin, who, workload, 2);
            let per_op = two.saturating_sub(one) as f64 / ops as f64;
            println!("| {label} | {per_op:.0} |");
        }
    }
}

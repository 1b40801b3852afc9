//! The readiness-vs-completion echo benchmark of issue 16: requests/s, server CPU per
//! request and syscalls per request, for every way ply and its peers can serve echo over
//! epoll and io_uring, interleaved in one run.
//!
//! Contenders (each an `echo_server` process, see there):
//!
//! - `ply-comp`: `--impl ply-ct` with `PLY_SELECTOR=uring PLY_IO=completion` (ply's
//!   completion I/O: multishot accept and recv into the buffer ring, batched sends);
//! - `ply-uring`: `--impl ply-ct` with `PLY_SELECTOR=uring` (readiness through io_uring's
//!   multishot poll);
//! - `ply-epoll`: `--impl ply-ct` (the default selector, epoll);
//! - `tokio-ct`, `tokio-mt`: tokio's current_thread and multi_thread (2 workers);
//! - `epoll`: the hand-written epoll loop (the readiness floor);
//! - `uring`: the hand-written io_uring loop (the completion floor).
//!
//! A contender this build cannot run (its server exits before it listens, e.g. a ply
//! without the uring backend or completion I/O, or a kernel that refuses io_uring) is
//! reported as `n/a` with the server's message, never silently replaced by another mode.
//!
//! For each configuration (1, 50 and 1,000 connections × 64 B and 4 KiB), each round runs
//! every contender once, in an order that rotates each round. One run: a fresh server
//! (pinned to core 0; `tokio-mt` gets cores 0,1), `echo_load` on core 1 (0.3 s warm-up,
//! then `--seconds` measured: requests/s and the server's CPU time from
//! `/proc/<pid>/task/*/schedstat`), and, inside the measured window, `perf stat -e
//! raw_syscalls:sys_enter -p <server pid>` for `--seconds - 0.2` s: the server's syscalls
//! in that span divided by the requests the load generator completed in it (its rate times
//! the span). The tracepoint costs the server a little CPU in every contender alike; run
//! with `--perf 0` to measure without it.
//!
//! ```text
//! cd bench && cargo build --release --bins && ../target/release/uring_bench --rounds 5
//! ```
//!
//! Flags: `--rounds R` (default 5), `--seconds T` (default 1.5), `--servers a,b,..`
//! (default all seven), `--only-config C,S`, `--perf 0|1` (default 1), `--csv PATH`.
//! Smoke run: `--rounds 1 --seconds 0.5 --only-config 50,64`.

use ply_bench::arg_or;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

const SERVERS: [&str; 7] = [
    "ply-comp",
    "ply-uring",
    "ply-epoll",
    "tokio-ct",
    "tokio-mt",
    "epoll",
    "uring",
];

/// `echo_server --impl`, environment and cores of each contender.
fn spec(
    name: &str,
) -> (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
) {
    match name {
        "ply-comp" => (
            "ply-ct",
            &[("PLY_SELECTOR", "uring"), ("PLY_IO", "completion")],
            "0",
        ),
        "ply-uring" => ("ply-ct", &[("PLY_SELECTOR", "uring")], "0"),
        "ply-epoll" => ("ply-ct", &[("PLY_SELECTOR", "epoll")], "0"),
        "tokio-ct" => ("tokio-ct", &[], "0"),
        "tokio-mt" => ("tokio-mt", &[], "0,1"),
        "epoll" => ("epoll", &[], "0"),
        "uring" => ("uring", &[], "0"),
        _ => ("", &[], "0"),
    }
}

fn bin(name: &str) -> PathBuf {
    std::env::current_exe().unwrap().with_file_name(name)
}

fn server(name: &str) -> io::Result<(Child, String)> {
    let (imp, env, cpus) = spec(name);
    if imp.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown contender {name:?}"),
        ));
    }
    let mut cmd = Command::new(bin("echo_server"));
    cmd.args(["--impl", imp, "--cpus", cpus])
        .env_remove("PLY_SELECTOR")
        .env_remove("PLY_IO")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
    match line.strip_prefix("listening ") {
        Some(a) => Ok((child, a.trim().to_string())),
        None => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            Err(io::Error::other(format!("{name}: {}", err.trim())))
        }
    }
}

/// Counts the syscalls of `pid`'s threads for `secs` seconds.
fn perf_syscalls(pid: u32, secs: f64) -> io::Result<f64> {
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p"])
        .arg(pid.to_string())
        .args(["--", "sleep", &format!("{secs:.3}")])
        .output()?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next()?.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("perf stat: {}", text.trim())))
}

fn run_once(
    name: &str,
    args: &[String],
    seconds: f64,
    perf: bool,
) -> io::Result<HashMap<String, f64>> {
    let (mut child, addr) = server(name)?;
    let pid = child.id();
    let load = Command::new(bin("echo_load"))
        .args([
            "--addr",
            &addr,
            "--server-pid",
            &pid.to_string(),
            "--cpus",
            "1",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Inside echo_load's window: it warms up for 0.3 s after connecting.
    let span = (seconds - 0.2).max(0.1);
    let sys = if perf {
        thread::sleep(Duration::from_millis(400));
        Some(perf_syscalls(pid, span))
    } else {
        None
    };
    let out = load.wait_with_output()?;
    let _ = child.kill();
    let _ = child.wait();
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "echo_load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut r: HashMap<String, f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    if let Some(sys) = sys {
        let n = sys?;
        let rps = r.get("rps").copied().unwrap_or(f64::NAN);
        r.insert("syscalls_per_req".into(), n / (rps * span));
    }
    Ok(r)
}

/// The median of the finite values (a failed run is NaN); NaN if there are none.
fn median(v: &mut [f64]) -> f64 {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return f64::NAN;
    }
    f.sort_by(f64::total_cmp);
    f[f.len() / 2]
}

fn fmt(v: f64, prec: usize) -> String {
    if v.is_nan() {
        "n/a".to_string()
    } else {
        format!("{v:.prec$}")
    }
}

fn main() -> io::Result<()> {
    let rounds: usize = arg_or("--rounds", 5);
    let seconds: f64 = arg_or("--seconds", 1.5);
    let only: String = arg_or("--only-config", String::new());
    let perf: u8 = arg_or("--perf", 1);
    let csv_path: String = arg_or("--csv", String::new());
    let list: String = arg_or("--servers", SERVERS.join(","));
    let servers: Vec<&str> = list.split(',').collect();
    let mut csv = String::from(
        "connections,size,server,rps,cpu_us_per_req,syscalls_per_req,cpu_vs_tokio_ct\n",
    );

    let mut configs = Vec::new();
    for c in [1usize, 50, 1000] {
        for s in [64usize, 4096] {
            configs.push((c, s));
        }
    }
    if let Some((c, s)) = only.split_once(',') {
        let parse = |x: &str| {
            x.parse::<usize>()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "--only-config C,S"))
        };
        configs = vec![(parse(c)?, parse(s)?)];
    }

    println!("# readiness vs completion echo: {rounds} rounds of {seconds} s per contender and configuration\n");
    let mut failures: HashMap<String, String> = HashMap::new();
    for &(c, s) in &configs {
        let args: Vec<String> = [
            "--connections",
            &c.to_string(),
            "--size",
            &s.to_string(),
            "--seconds",
            &seconds.to_string(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let n = servers.len();
        let (mut rps, mut cpu, mut sys) = (
            vec![Vec::new(); n],
            vec![Vec::new(); n],
            vec![Vec::new(); n],
        );
        for round in 0..rounds {
            for k in 0..n {
                let i = (round + k) % n;
                match run_once(servers[i], &args, seconds, perf != 0) {
                    Ok(r) => {
                        rps[i].push(r["rps"]);
                        cpu[i].push(r["cpu_ns_per_req"]);
                        sys[i].push(r.get("syscalls_per_req").copied().unwrap_or(f64::NAN));
                    }
                    Err(e) => {
                        failures.insert(servers[i].to_string(), e.to_string());
                        rps[i].push(f64::NAN);
                        cpu[i].push(f64::NAN);
                        sys[i].push(f64::NAN);
                    }
                }
            }
            eprint!(".");
        }
        eprintln!();
        let tokio = servers.iter().position(|s| *s == "tokio-ct");
        println!("\n### {c} connection(s) × {s} B\n");
        println!("| contender | requests/s | server CPU µs/request | syscalls/request | CPU/request vs tokio-ct |");
        println!("|---|---:|---:|---:|---:|");
        for i in 0..n {
            let m_rps = median(&mut rps[i].clone());
            let m_cpu = median(&mut cpu[i].clone()) / 1e3;
            let m_sys = median(&mut sys[i].clone());
            let vs = match tokio {
                Some(t) => {
                    let mut r: Vec<f64> = (0..rounds).map(|k| cpu[i][k] / cpu[t][k]).collect();
                    median(&mut r)
                }
                None => f64::NAN,
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                servers[i],
                fmt(m_rps, 0),
                fmt(m_cpu, 2),
                fmt(m_sys, 2),
                fmt(vs, 2)
            );
            csv += &format!(
                "{c},{s},{},{m_rps:.0},{m_cpu:.3},{m_sys:.3},{vs:.3}\n",
                servers[i]
            );
        }
        io::stdout().flush()?;
    }
    if !failures.is_empty() {
        println!("\nNot run (n/a above):\n");
        let mut f: Vec<_> = failures.into_iter().collect();
        f.sort();
        for (name, e) in f {
            println!("- {name}: {e}");
        }
    }
    if !csv_path.is_empty() {
        std::fs::write(&csv_path, csv)?;
    }
    Ok(())
}

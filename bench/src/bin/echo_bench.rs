//! The echo benchmark of issue 6, wall-clock part: requests/s, server CPU time per
//! request and memory per idle connection, for six echo servers (see `echo_server`).
//!
//! For each configuration (1, 50 and 1,000 connections × 64 B and 4 KiB messages), every
//! server runs once per round, in an order that rotates each round, for `--rounds`
//! rounds. One run: start `echo_server --impl X` (a fresh process), start `echo_load`
//! against it, which connects, warms up for 0.3 s and then measures for `--seconds`:
//! the requests/s it completed and the server's CPU time in that window (the run time of
//! all the server's threads from `/proc/<pid>/task/*/schedstat`), per request. The server
//! is then killed.
//!
//! Cores (the machine has 2): the single-threaded servers (`ply-ct`, `tokio-ct`, `smol`,
//! `epoll`) are pinned to core 0, the load generator to core 1. The multi-threaded
//! servers (`ply-mt`, `tokio-mt`, 2 workers each) get both cores, so one worker shares
//! core 1 with the load generator: on this machine that is the only way to give them the
//! second core that is their reason to exist.
//!
//! Reported per configuration: each server's median requests/s, CPU µs per request and
//! p99 round-trip latency (measured by `echo_load` over the window),
//! and the median over rounds of the per-round ratio against its peer (`tokio-ct` for
//! the single-threaded servers, `tokio-mt` for the multi-threaded ones), which cancels
//! most of the machine's drift; for `ply-ct` also the ratio of CPU per request against the
//! `epoll` floor. Then memory per idle connection: `echo_load --idle 10000` reads the
//! server's `VmRSS` before and after opening 10,000 connections (one round trip each),
//! median of 3 rounds. Everything also goes to `docs/figures/echo.csv` (with `--csv`).
//!
//! ```text
//! cd bench && cargo build --release --bins && ../target/release/echo_bench
//! ```
//!
//! (or with `CARGO_TARGET_DIR`, the binaries are looked up next to this one). Flags:
//! `--rounds R` (default 5), `--seconds T` (default 1.5), `--idle K` (default 10000),
//! `--servers a,b,..` (default the six above; `epoll-eagain` is also known: ratios go
//! against the peer if present, else the first server),
//! `--only-config C,S` (one configuration), `--csv PATH`. About 8 minutes.
//! Instructions and syscalls per request: `bench/echo.sh`.

use ply_bench::{arg_or, median_f64};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const SERVERS: [&str; 6] = ["tokio-ct", "ply-ct", "smol", "epoll", "tokio-mt", "ply-mt"];

/// The peer each server's ratios are taken against.
fn peer(imp: &str) -> &'static str {
    if imp.ends_with("-mt") {
        "tokio-mt"
    } else {
        "tokio-ct"
    }
}

fn cpus(imp: &str) -> &'static str {
    if imp.ends_with("-mt") {
        "0,1"
    } else {
        "0"
    }
}

fn bin(name: &str) -> PathBuf {
    std::env::current_exe().unwrap().with_file_name(name)
}

/// Starts a server and returns it with the address it listens on.
fn server(imp: &str) -> io::Result<(Child, String)> {
    let mut child = Command::new(bin("echo_server"))
        .args(["--impl", imp, "--cpus", cpus(imp)])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
    match line.strip_prefix("listening ") {
        Some(a) => Ok((child, a.trim().to_string())),
        None => {
            let _ = child.kill();
            Err(io::Error::other(format!("{imp}: no address: {line:?}")))
        }
    }
}

/// Runs the load generator with `args` and parses its `key=value` line.
fn load(addr: &str, pid: u32, args: &[String]) -> io::Result<HashMap<String, f64>> {
    let out = Command::new(bin("echo_load"))
        .args([
            "--addr",
            addr,
            "--server-pid",
            &pid.to_string(),
            "--cpus",
            "1",
        ])
        .args(args)
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "echo_load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

fn run_once(imp: &str, args: &[String]) -> io::Result<HashMap<String, f64>> {
    let (mut child, addr) = server(imp)?;
    let r = load(&addr, child.id(), args);
    let _ = child.kill();
    let _ = child.wait();
    r
}

fn main() -> io::Result<()> {
    let rounds: usize = arg_or("--rounds", 5);
    let seconds: f64 = arg_or("--seconds", 1.5);
    let idle: usize = arg_or("--idle", 10_000);
    let only: String = arg_or("--only-config", String::new());
    let csv_path: String = arg_or("--csv", String::new());
    let list: String = arg_or("--servers", SERVERS.join(","));
    let servers: Vec<&str> = list.split(',').collect();
    let mut csv = String::from("connections,size,server,rps,cpu_us_per_req,rps_ratio,cpu_ratio\n");

    let mut configs = Vec::new();
    for c in [1usize, 50, 1000] {
        for s in [64usize, 4096] {
            configs.push((c, s));
        }
    }
    if let Some((c, s)) = only.split_once(',') {
        configs = vec![(c.parse().unwrap(), s.parse().unwrap())];
    }

    println!("# echo: {rounds} rounds of {seconds} s per server and configuration\n");
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
        // rps[i][round], cpu ns per request[i][round]
        let n = servers.len();
        let mut rps = vec![Vec::new(); n];
        let mut cpu = vec![Vec::new(); n];
        let mut p99 = vec![Vec::new(); n];
        for round in 0..rounds {
            for k in 0..n {
                let i = (round + k) % n;
                let r = run_once(servers[i], &args)?;
                rps[i].push(r["rps"]);
                cpu[i].push(r["cpu_ns_per_req"]);
                p99[i].push(r.get("p99_us").copied().unwrap_or(f64::NAN));
            }
            eprint!(".");
        }
        eprintln!();
        let idx = |name: &str| servers.iter().position(|s| *s == name);
        let ratio = |v: &Vec<Vec<f64>>, i: usize, j: usize| {
            let mut r: Vec<f64> = (0..rounds).map(|k| v[i][k] / v[j][k]).collect();
            median_f64(&mut r)
        };
        println!("\n### {c} connection(s) × {s} B\n");
        println!(
            "| server | requests/s | CPU µs/request | p99 µs | requests/s vs peer | CPU/request vs peer | p99 vs peer |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for i in 0..n {
            let p = idx(peer(servers[i])).unwrap_or(0);
            let m_rps = median_f64(&mut rps[i].clone());
            let m_cpu = median_f64(&mut cpu[i].clone()) / 1e3;
            let (rr, cr, lr) = (ratio(&rps, i, p), ratio(&cpu, i, p), ratio(&p99, i, p));
            let m_p99 = median_f64(&mut p99[i].clone());
            println!(
                "| {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |",
                servers[i], m_rps, m_cpu, m_p99, rr, cr, lr
            );
            csv += &format!(
                "{c},{s},{},{m_rps:.0},{m_cpu:.3},{rr:.3},{cr:.3}\n",
                servers[i]
            );
        }
        for name in ["ply-ct", "epoll-eagain"] {
            if let (Some(p), Some(e)) = (idx(name), idx("epoll")) {
                println!(
                    "\n{name} CPU/request vs epoll floor: {:.2} (median of per-round ratios)",
                    ratio(&cpu, p, e)
                );
                csv += &format!("{c},{s},{name}/epoll,,,,{:.3}\n", ratio(&cpu, p, e));
            }
        }
        io::stdout().flush()?;
    }

    if idle > 0 && only.is_empty() {
        println!("\n### Memory per idle connection ({idle} connections, median of 3)\n");
        println!("| server | RSS before (KiB) | RSS after (KiB) | bytes per connection |");
        println!("|---|---:|---:|---:|");
        let args = vec!["--idle".to_string(), idle.to_string()];
        for &imp in &servers {
            let mut runs: Vec<HashMap<String, f64>> = (0..3)
                .map(|_| run_once(imp, &args))
                .collect::<io::Result<_>>()?;
            runs.sort_by(|a, b| a["bytes_per_conn"].total_cmp(&b["bytes_per_conn"]));
            let m = &runs[1];
            println!(
                "| {imp} | {:.0} | {:.0} | {:.0} |",
                m["rss_before_kib"], m["rss_after_kib"], m["bytes_per_conn"]
            );
            csv += &format!("idle,{idle},{imp},,,,{:.0}\n", m["bytes_per_conn"]);
        }
    }
    if !csv_path.is_empty() {
        std::fs::write(&csv_path, csv)?;
    }
    Ok(())
}

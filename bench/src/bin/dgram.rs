//! UDP echo and Unix-stream echo, ply against tokio, interleaved in one run (issue 14's
//! benchmark).
//!
//! Each run starts a fresh server thread with a current-thread runtime (`ply` or
//! `tokio`), and drives it from a plain blocking client thread that is the same for both,
//! so only the server differs:
//!
//! - **udp**: the client keeps `--window` datagrams of `--size` bytes in flight and
//!   checks each echo, for `--packets` round trips. Reported: round trips/s and the
//!   server thread's CPU time per packet (`CLOCK_THREAD_CPUTIME_ID`, read by the server
//!   thread itself around its whole serve loop).
//! - **unix**: the client writes a message of `--msg` bytes over a Unix stream, reads the
//!   echo back, `--messages` times. Reported: messages/s and server CPU per message.
//!
//! The two contenders alternate, the order rotating each round, for `--rounds` rounds
//! after one warm-up round; the table shows each one's median and the median of the
//! per-round ratios against tokio.
//!
//! ```text
//! cd bench && cargo run --release --bin dgram -- --rounds 7
//! ```
//!
//! Syscalls per packet: run one contender alone under strace, e.g.
//! `strace -f -c target/release/dgram --only ply --workload udp --rounds 1`.

use ply_bench::{arg_or, median_f64, only};
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::os::unix::net::UnixStream as StdUnix;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The datagram that tells a UDP server to stop.
const STOP: &[u8] = b"\xffstop";

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One measured run: wall time of the client's loop, and the server's CPU time.
struct Sample {
    wall: Duration,
    server_cpu: Duration,
}

fn ply_udp(ready: mpsc::Sender<SocketAddr>) -> Duration {
    let rt = ply_net::Runtime::new_current_thread().unwrap();
    rt.block_on(async {
        let s = ply_net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        ready.send(s.local_addr().unwrap()).unwrap();
        let start = thread_cpu();
        let mut buf = vec![0; 2048];
        loop {
            let (n, from) = s.recv_from(&mut buf).await.unwrap();
            if &buf[..n] == STOP {
                return thread_cpu() - start;
            }
            s.send_to(&buf[..n], from).await.unwrap();
        }
    })
}

fn tokio_udp(ready: mpsc::Sender<SocketAddr>) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        ready.send(s.local_addr().unwrap()).unwrap();
        let start = thread_cpu();
        let mut buf = vec![0; 2048];
        loop {
            let (n, from) = s.recv_from(&mut buf).await.unwrap();
            if &buf[..n] == STOP {
                return thread_cpu() - start;
            }
            s.send_to(&buf[..n], from).await.unwrap();
        }
    })
}

fn udp_run(imp: &str, packets: usize, size: usize, window: usize) -> Sample {
    let (tx, rx) = mpsc::channel();
    let server = match imp {
        "ply" => std::thread::spawn(move || ply_udp(tx)),
        _ => std::thread::spawn(move || tokio_udp(tx)),
    };
    let addr = rx.recv().unwrap();
    let c = StdUdp::bind("127.0.0.1:0").unwrap();
    c.connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut out, mut back) = (vec![0u8; size], vec![0u8; 2048]);
    let t = Instant::now();
    let (mut sent, mut got) = (0, 0);
    while got < packets {
        while sent < packets && sent - got < window {
            out[..8].copy_from_slice(&(sent as u64).to_le_bytes());
            c.send(&out).unwrap();
            sent += 1;
        }
        let n = c.recv(&mut back).expect("a datagram was lost on loopback");
        assert_eq!(n, size);
        got += 1;
    }
    let wall = t.elapsed();
    c.send(STOP).unwrap();
    Sample {
        wall,
        server_cpu: server.join().unwrap(),
    }
}

fn ply_unix(path: PathBuf, ready: mpsc::Sender<()>) -> Duration {
    let rt = ply_net::Runtime::new_current_thread().unwrap();
    rt.block_on(async {
        let l = ply_net::UnixListener::bind(&path).unwrap();
        ready.send(()).unwrap();
        let (s, _) = l.accept().await.unwrap();
        let start = thread_cpu();
        let mut buf = vec![0; 64 * 1024];
        loop {
            match s.read(&mut buf).await.unwrap() {
                0 => return thread_cpu() - start,
                n => s.write_all(&buf[..n]).await.unwrap(),
            }
        }
    })
}

fn tokio_unix(path: PathBuf, ready: mpsc::Sender<()>) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::UnixListener::bind(&path).unwrap();
        ready.send(()).unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        let start = thread_cpu();
        let mut buf = vec![0; 64 * 1024];
        loop {
            match s.read(&mut buf).await.unwrap() {
                0 => return thread_cpu() - start,
                n => s.write_all(&buf[..n]).await.unwrap(),
            }
        }
    })
}

fn unix_run(imp: &str, messages: usize, msg: usize, round: usize) -> Sample {
    let dir = std::env::temp_dir().join(format!("ply-bench-dgram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{imp}-{round}.sock"));
    let _ = std::fs::remove_file(&path);
    let (tx, rx) = mpsc::channel();
    let p = path.clone();
    let server = match imp {
        "ply" => std::thread::spawn(move || ply_unix(p, tx)),
        _ => std::thread::spawn(move || tokio_unix(p, tx)),
    };
    rx.recv().unwrap();
    let mut c = StdUnix::connect(&path).unwrap();
    let out = vec![7u8; msg];
    let mut back = vec![0u8; msg];
    let t = Instant::now();
    for _ in 0..messages {
        c.write_all(&out).unwrap();
        c.read_exact(&mut back).unwrap();
    }
    let wall = t.elapsed();
    drop(c);
    let server_cpu = server.join().unwrap();
    let _ = std::fs::remove_file(&path);
    Sample { wall, server_cpu }
}

fn main() {
    let rounds: usize = arg_or("--rounds", 7);
    let packets: usize = arg_or("--packets", 200_000);
    let size: usize = arg_or("--size", 64);
    let window: usize = arg_or("--window", 32);
    let messages: usize = arg_or("--messages", 50_000);
    let msg: usize = arg_or("--msg", 10_000);
    let workload: String = arg_or("--workload", "both".to_string());
    let imps: Vec<&str> = match only() {
        Some(o) if o == "ply" => vec!["ply"],
        Some(_) => vec!["tokio"],
        None => vec!["tokio", "ply"],
    };
    let workloads: Vec<&str> = match workload.as_str() {
        "udp" => vec!["udp"],
        "unix" => vec!["unix"],
        _ => vec!["udp", "unix"],
    };
    for w in workloads {
        let per = if w == "udp" { packets } else { messages };
        let run = |imp: &str, round: usize| match w {
            "udp" => udp_run(imp, packets, size, window),
            _ => unix_run(imp, messages, msg, round),
        };
        // One untimed warm-up round, then `rounds` rotating rounds.
        for imp in &imps {
            run(imp, usize::MAX);
        }
        let mut samples: Vec<Vec<Sample>> = imps.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for k in 0..imps.len() {
                let i = (round + k) % imps.len();
                samples[i].push(run(imps[i], round));
            }
        }
        let what = if w == "udp" {
            format!("UDP echo, {size} B datagrams, window {window}, {packets} round trips per run")
        } else {
            format!("Unix stream echo, {msg} B messages, one at a time, {messages} per run")
        };
        println!("\n### {what} ({rounds} rounds, medians)\n");
        println!("| server | ops/s | server CPU per op | ops/s vs tokio | CPU/op vs tokio |");
        println!("|---|---:|---:|---:|---:|");
        for (i, imp) in imps.iter().enumerate() {
            let mut rate: Vec<f64> = samples[i]
                .iter()
                .map(|s| per as f64 / s.wall.as_secs_f64())
                .collect();
            let mut cpu: Vec<f64> = samples[i]
                .iter()
                .map(|s| s.server_cpu.as_secs_f64() * 1e9 / per as f64)
                .collect();
            let (mut rate_ratio, mut cpu_ratio): (Vec<f64>, Vec<f64>) = (0..rounds)
                .map(|r| {
                    let me = &samples[i][r];
                    let peer = &samples[0][r];
                    (
                        peer.wall.as_secs_f64() / me.wall.as_secs_f64(),
                        me.server_cpu.as_secs_f64() / peer.server_cpu.as_secs_f64(),
                    )
                })
                .unzip();
            println!(
                "| {imp} | {:.0} | {:.0} ns | {:.2} | {:.2} |",
                median_f64(&mut rate),
                median_f64(&mut cpu),
                median_f64(&mut rate_ratio),
                median_f64(&mut cpu_ratio),
            );
        }
    }
}

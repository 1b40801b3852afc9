//! How late timers fire while tasks never stop: the driver interval, measured.
//!
//! A busy executor never parks, so it would never wait in the reactor and never fire
//! timers. ply's executors therefore give the driver a zero-timeout turn every 61 polls,
//! and before a task that woke itself (`yield_now`, a spent budget) runs again. This
//! program keeps the runtime busy in three ways and measures, beside the load, how long
//! 10 ms sleeps really take (median and worst of `--sleeps` of them), and what the turns
//! cost: kernel waits per task poll.
//!
//! - `yield`: tasks that loop on `yield_now` (one per worker);
//! - `ping-pong`: two tasks pass a token through channels for ever: neither yields, each
//!   wake goes to the LIFO slot, so only the 61-poll interval gets the driver in;
//! - `peek`: a task peeking at a socket that always has data (the budget makes it yield).
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin busy_timers -- --sleeps 50
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use ply_examples::Args;
use ply_net::{Runtime, TcpListener};

fn main() -> std::io::Result<()> {
    let mut args = Args::parse("busy_timers [--sleeps N]");
    let sleeps: usize = args.value("--sleeps", 50usize).max(1);
    args.finish();
    println!("| runtime | load | 10 ms sleep, median | worst | kernel waits per poll |");
    println!("|---|---|---|---|---|");
    for threads in [0usize, 2] {
        for load in ["yield", "ping-pong", "peek"] {
            let rt = if threads == 0 {
                Runtime::builder().current_thread().build()?
            } else {
                Runtime::builder()
                    .multi_thread()
                    .worker_threads(threads)
                    .build()?
            };
            let (median, worst, per_poll) = measure(&rt, threads.max(1), load, sleeps)?;
            let name = if threads == 0 {
                "current-thread".to_string()
            } else {
                format!("{threads} workers")
            };
            println!(
                "| {name} | {load} | {:.2} ms | {:.2} ms | {per_poll:.4} |",
                median.as_secs_f64() * 1e3,
                worst.as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}

fn measure(
    rt: &Runtime,
    n: usize,
    load: &str,
    sleeps: usize,
) -> std::io::Result<(Duration, Duration, f64)> {
    let before = rt.stats();
    let mut took = rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let mut guards = Vec::new();
        for _ in 0..n {
            guards.push(start_load(load, stop.clone()).await?);
        }
        let mut took = Vec::with_capacity(sleeps);
        for _ in 0..sleeps {
            let t = Instant::now();
            ply_net::sleep(Duration::from_millis(10)).await;
            took.push(t.elapsed());
        }
        stop.store(true, Ordering::Relaxed);
        for g in guards {
            let _ = g.await;
        }
        Ok::<_, std::io::Error>(took)
    })?;
    let after = rt.stats();
    took.sort();
    let polls = (after.executor.polled - before.executor.polled).max(1);
    let waits = after.selector.waits - before.selector.waits;
    Ok((
        took[took.len() / 2],
        took[took.len() - 1],
        waits as f64 / polls as f64,
    ))
}

/// Starts one unit of `load`, running until `stop` (or 60 s).
async fn start_load(load: &str, stop: Arc<AtomicBool>) -> std::io::Result<ply_net::JoinHandle<()>> {
    let limit = Instant::now() + Duration::from_secs(60);
    let running = move || !stop.load(Ordering::Relaxed) && Instant::now() < limit;
    Ok(match load {
        "yield" => ply_net::spawn(async move {
            while running() {
                ply_executor::yield_now().await;
            }
        }),
        "ping-pong" => {
            let (mut a_tx, mut a_rx) = mpsc::channel::<u64>(0);
            let (mut b_tx, mut b_rx) = mpsc::channel::<u64>(0);
            let echo = ply_net::spawn(async move {
                while let Some(v) = a_rx.next().await {
                    if b_tx.send(v + 1).await.is_err() {
                        break;
                    }
                }
            });
            ply_net::spawn(async move {
                let mut v = 0;
                while running() {
                    if a_tx.send(v).await.is_err() {
                        break;
                    }
                    match b_rx.next().await {
                        Some(n) => v = n,
                        None => break,
                    }
                }
                drop(a_tx);
                let _ = echo.await;
            })
        }
        _ => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
            std::io::Write::write_all(&mut peer, &[1; 64])?;
            let (stream, _) = listener.accept().await?;
            ply_net::spawn(async move {
                let mut buf = [0; 64];
                while running() {
                    if stream.peek(&mut buf).await.is_err() {
                        break;
                    }
                }
                drop(peer);
            })
        }
    })
}

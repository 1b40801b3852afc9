//! ply-executor against tokio and async-executor, in the same run: spawning, yielding,
//! message passing and chained spawns, on one thread and on two workers; plus the memory
//! an idle task costs beyond its future.
//!
//! Workloads (each run executes the whole workload once, inside the executor):
//!
//! - `spawn_many`: spawn 100,000 empty tasks from a task, then await every handle.
//! - `yield_many`: 100 tasks each yield 1,000 times (100,000 yields), awaited.
//! - `ping_pong`: two tasks pass a counter back and forth 10,000 times through a pair of
//!   single-slot channels (`futures::channel::mpsc` with no buffer beyond the sender's
//!   slot), so every hop is a wake-up of the other task.
//! - `chained_spawn`: each task spawns the next, to a depth of 1,000; the last one signals
//!   a oneshot channel. Ten chains per run.
//!
//! Contenders, by group:
//!
//! - single thread: `ply` (`LocalExecutor`), `tokio` (`current_thread` runtime),
//!   `async-executor` (`LocalExecutor` under `futures_lite::future::block_on`);
//! - two workers: `ply` (`Executor` with 2 workers), `tokio` (`multi_thread`, 2 workers),
//!   `async-executor` (`Executor` run by 2 threads). The workload is spawned onto the
//!   executor and the main thread only waits for it.
//!
//! Every runtime is built once and reused by all rounds. Rounds interleave contenders
//! (`ply_bench::compare`); ratios are medians of per-round ratios, so `ply/tokio` below is
//! the median over rounds of ply's time divided by tokio's in the same round.
//!
//! Run it with (about a minute on 2 cores):
//!
//! ```text
//! cd bench && cargo run --release --bin executor
//! ```
//!
//! Flags: `--rounds R` (default 21), `--scale K` (multiplies every workload's size; default
//! 1), `--workload <name>` (only that workload), `--no-memory` (skip the memory table).
//!
//! For instruction counts, `--only <contender> --workload <name>` runs one workload once
//! on one contender, untimed (`contender` is `ply-local`, `tokio-ct`, `ae-local`,
//! `ply-mt`, `tokio-mt` or `ae-mt`; `--repeat N` runs it N times, for profilers). Counting with callgrind at `--scale 1` and
//! `--scale 2` and dividing the difference by the workload's operation count gives
//! instructions per operation without the fixed start-up cost:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/executor --only ply-local --workload spawn_many --scale 1
//! ```
//!
//! `cargo run --release --bin executor_callgrind` runs every combination and prints the
//! table.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use ply_bench::{
    allocated_by, arg_or, arg_switch, compare, only, print_table, Contender, CountingAlloc, Row,
};

// The idle-task memory workload counts the heap bytes each task costs, exactly.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------------------------------
// One interface over the six executors.

/// Awaits a join handle whose output is a `Result`, unwrapping it.
struct Unwrap<J>(J);

impl<J, T, E> Future for Unwrap<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|r| r.unwrap())
    }
}

trait Rt: 'static {
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F);
    fn yield_now() -> impl Future<Output = ()> + Send;
}

struct PlyLocal;
struct PlyMt;
struct Tokio;
struct AeLocal;
struct AeMt;

impl Rt for PlyLocal {
    type Join<T: Send + 'static> = Unwrap<ply_executor::JoinHandle<T>>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(ply_executor::spawn_local(f))
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F) {
        drop(ply_executor::spawn_local(f));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        ply_executor::yield_now()
    }
}

impl Rt for PlyMt {
    type Join<T: Send + 'static> = Unwrap<ply_executor::JoinHandle<T>>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(ply_executor::spawn(f))
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F) {
        drop(ply_executor::spawn(f));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        ply_executor::yield_now()
    }
}

impl Rt for Tokio {
    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tokio::spawn(f))
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F) {
        drop(tokio::spawn(f));
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

thread_local! {
    static AE_LOCAL: async_executor::LocalExecutor<'static> = const { async_executor::LocalExecutor::new() };
    static PLY_LOCAL: ply_executor::LocalExecutor = ply_executor::LocalExecutor::new();
}

fn ae_mt() -> &'static Arc<async_executor::Executor<'static>> {
    static EX: OnceLock<Arc<async_executor::Executor<'static>>> = OnceLock::new();
    EX.get_or_init(|| {
        let ex = Arc::new(async_executor::Executor::new());
        for i in 0..2 {
            let ex = ex.clone();
            std::thread::Builder::new()
                .name(format!("ae-worker-{i}"))
                .spawn(move || futures_lite::future::block_on(ex.run(std::future::pending::<()>())))
                .unwrap();
        }
        ex
    })
}

impl Rt for AeLocal {
    type Join<T: Send + 'static> = async_executor::Task<T>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        AE_LOCAL.with(|ex| ex.spawn(f))
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F) {
        AE_LOCAL.with(|ex| ex.spawn(f).detach());
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

impl Rt for AeMt {
    type Join<T: Send + 'static> = async_executor::Task<T>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ae_mt().spawn(f)
    }
    fn detach<F: Future<Output = ()> + Send + 'static>(f: F) {
        ae_mt().spawn(f).detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

/// The runtimes, built once.
struct Runtimes {
    ply_mt: ply_executor::Executor,
    tokio_ct: tokio::runtime::Runtime,
    tokio_mt: tokio::runtime::Runtime,
}

impl Runtimes {
    fn new() -> Runtimes {
        Runtimes {
            ply_mt: ply_executor::Executor::builder()
                .worker_threads(2)
                .build()
                .unwrap(),
            tokio_ct: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            tokio_mt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        }
    }

    /// Runs `fut` to completion on the named contender.
    fn run<F>(&self, who: &str, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match who {
            "ply-local" => PLY_LOCAL.with(|ex| ex.block_on(fut)),
            "tokio-ct" => self.tokio_ct.block_on(fut),
            "ae-local" => AE_LOCAL.with(|ex| futures_lite::future::block_on(ex.run(fut))),
            "ply-mt" => self.ply_mt.block_on(self.ply_mt.spawn(fut)).unwrap(),
            "tokio-mt" => self.tokio_mt.block_on(self.tokio_mt.spawn(fut)).unwrap(),
            "ae-mt" => futures_lite::future::block_on(ae_mt().spawn(fut)),
            other => panic!("unknown contender {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The workloads, written once for every runtime.

async fn spawn_many<R: Rt>(n: usize) {
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        handles.push(R::spawn(async {}));
    }
    for h in handles {
        h.await;
    }
}

async fn yield_many<R: Rt>(tasks: usize, yields: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            R::spawn(async move {
                for _ in 0..yields {
                    R::yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await;
    }
}

async fn ping_pong<R: Rt>(hops: usize) {
    let (mut to_b, mut from_a) = mpsc::channel::<usize>(0);
    let (mut to_a, mut from_b) = mpsc::channel::<usize>(0);
    let b = R::spawn(async move {
        while let Some(v) = from_a.next().await {
            if to_a.send(v + 1).await.is_err() {
                break;
            }
        }
    });
    let a = R::spawn(async move {
        let mut v = 0;
        while v < hops {
            to_b.send(v + 1).await.unwrap();
            v = from_b.next().await.unwrap();
        }
        v
    });
    assert!(a.await >= hops);
    b.await;
}

fn chain<R: Rt>(depth: usize, done: oneshot::Sender<()>) {
    if depth == 0 {
        let _ = done.send(());
    } else {
        R::detach(async move { chain::<R>(depth - 1, done) });
    }
}

async fn chained_spawn<R: Rt>(chains: usize, depth: usize) {
    for _ in 0..chains {
        let (tx, rx) = oneshot::channel();
        chain::<R>(depth, tx);
        rx.await.unwrap();
    }
}

#[derive(Clone, Copy)]
struct Sizes {
    spawn: usize,
    yield_tasks: usize,
    yields: usize,
    hops: usize,
    chains: usize,
    depth: usize,
}

impl Sizes {
    fn new(scale: usize) -> Sizes {
        Sizes {
            spawn: 100_000 * scale,
            yield_tasks: 100 * scale,
            yields: 1_000,
            hops: 10_000 * scale,
            chains: 10 * scale,
            depth: 1_000,
        }
    }

    /// Operations per run, for the per-op column.
    fn ops(&self, workload: &str) -> u64 {
        (match workload {
            "spawn_many" => self.spawn,
            "yield_many" => self.yield_tasks * self.yields,
            "ping_pong" => self.hops,
            "chained_spawn" => self.chains * self.depth,
            _ => unreachable!(),
        }) as u64
    }
}

fn workload<R: Rt>(name: &str, s: Sizes) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    match name {
        "spawn_many" => Box::pin(spawn_many::<R>(s.spawn)),
        "yield_many" => Box::pin(yield_many::<R>(s.yield_tasks, s.yields)),
        "ping_pong" => Box::pin(ping_pong::<R>(s.hops)),
        "chained_spawn" => Box::pin(chained_spawn::<R>(s.chains, s.depth)),
        other => panic!("unknown workload {other}"),
    }
}

fn make(who: &str, name: &str, s: Sizes) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    match who {
        "ply-local" => workload::<PlyLocal>(name, s),
        "ply-mt" => workload::<PlyMt>(name, s),
        "tokio-ct" | "tokio-mt" => workload::<Tokio>(name, s),
        "ae-local" => workload::<AeLocal>(name, s),
        "ae-mt" => workload::<AeMt>(name, s),
        other => panic!("unknown contender {other}"),
    }
}

const WORKLOADS: [&str; 4] = ["spawn_many", "yield_many", "ping_pong", "chained_spawn"];
const GROUPS: [(&str, [(&str, &str); 3]); 2] = [
    (
        "single thread",
        [
            ("ply", "ply-local"),
            ("tokio", "tokio-ct"),
            ("async-executor", "ae-local"),
        ],
    ),
    (
        "2 workers",
        [
            ("ply", "ply-mt"),
            ("tokio", "tokio-mt"),
            ("async-executor", "ae-mt"),
        ],
    ),
];

// ---------------------------------------------------------------------------------------
// Memory of an idle task.

static POLLED: AtomicUsize = AtomicUsize::new(0);

/// The idle task: counts its first poll, then waits forever.
async fn idle_task() {
    POLLED.fetch_add(1, Relaxed);
    std::future::pending::<()>().await
}

/// Spawns `k` idle tasks on `who`, lets each be polled once, and returns the live heap
/// bytes they added per task (handles kept in a pre-allocated vector).
fn idle_task_bytes(rts: &Runtimes, who: &str, k: usize) -> f64 {
    macro_rules! measure {
        ($spawn:expr, $abort:expr) => {{
            POLLED.store(0, Relaxed);
            let mut handles = Vec::with_capacity(k);
            let ((), live) = allocated_by(|| {
                for _ in 0..k {
                    handles.push($spawn(idle_task()));
                }
                while POLLED.load(Relaxed) < k {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            let bytes = live as f64 / k as f64;
            for h in handles {
                $abort(h);
            }
            // Let the executor drop the aborted tasks before anything else is measured:
            // frees of these tasks must not land in the next contender's window.
            std::thread::sleep(Duration::from_millis(500));
            bytes
        }};
    }
    match who {
        "ply-mt" => measure!(|f| rts.ply_mt.spawn(f), |h: ply_executor::JoinHandle<()>| h
            .abort()),
        "tokio-mt" => measure!(|f| rts.tokio_mt.spawn(f), |h: tokio::task::JoinHandle<
            (),
        >| h.abort()),
        "ae-mt" => measure!(|f| ae_mt().spawn(f), |h: async_executor::Task<()>| drop(h)),
        _ => unreachable!(),
    }
}

fn main() {
    let rounds: usize = arg_or("--rounds", 21);
    let scale: usize = arg_or("--scale", 1);
    let sizes = Sizes::new(scale);
    let rts = Runtimes::new();

    if let Some(who) = only() {
        let name: String = arg_or("--workload", "spawn_many".to_string());
        for _ in 0..arg_or("--repeat", 1usize) {
            rts.run(&who, make(&who, &name, sizes));
        }
        match who.as_str() {
            "ply-mt" => eprintln!("ply metrics: {:?}", rts.ply_mt.handle().metrics()),
            "ply-local" => eprintln!("ply metrics: {:?}", PLY_LOCAL.with(|ex| ex.metrics())),
            _ => {}
        }
        return;
    }

    if !arg_switch("--no-memory") {
        println!("\n### Memory of an idle task (heap bytes per task, 100,000 tasks)\n");
        let fut_size = std::mem::size_of_val(&idle_task());
        println!("The idle future itself is {fut_size} bytes.\n");
        println!("| contender | heap bytes per idle task | beyond the future |");
        println!("|---|---:|---:|");
        for (label, who) in [
            ("ply", "ply-mt"),
            ("tokio", "tokio-mt"),
            ("async-executor", "ae-mt"),
        ] {
            let b = idle_task_bytes(&rts, who, 100_000);
            println!("| {label} | {b:.1} | {:.1} |", b - fut_size as f64);
        }
    }

    let filter: String = arg_or("--workload", String::new());
    let mut summary = Vec::new();
    for (group, contenders) in GROUPS {
        println!("\n## {group}");
        for name in WORKLOADS {
            if !filter.is_empty() && filter != name {
                continue;
            }
            let mut cs: Vec<Contender<'_>> = contenders
                .iter()
                .map(|&(label, who)| {
                    let rts = &rts;
                    Contender::timed(label, move || rts.run(who, make(who, name, sizes)))
                })
                .collect();
            let rows: Vec<Row> = compare(rounds, &mut cs);
            print_table(&format!("{name} ({group})"), sizes.ops(name), &rows);
            summary.push((
                group,
                name,
                1.0 / rows[1].ratio_to_first,
                1.0 / rows[2].ratio_to_first,
            ));
        }
    }

    println!("\n### Summary: ply's time divided by the peer's (median over rounds)\n");
    println!("| workload | group | ply/tokio | ply/async-executor |");
    println!("|---|---|---:|---:|");
    for (group, name, vs_tokio, vs_ae) in summary {
        println!("| {name} | {group} | {vs_tokio:.2} | {vs_ae:.2} |");
    }
}

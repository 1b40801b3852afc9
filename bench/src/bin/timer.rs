//! ply-timer against its peers, side by side in one run.
//!
//! ```text
//! cd bench && cargo run --release --bin timer                  # everything, ~2 minutes
//! cd bench && cargo run --release --bin timer -- --rounds 5    # fewer rounds
//! cd bench && cargo run --release --bin timer -- --max-n 1000000
//! ```
//!
//! Workloads (each contender runs once per round, interleaved, see `ply_bench::compare`):
//!
//! 1. *insert + cancel with N pending*: N timers with random deadlines between 1 s and
//!    1 h are registered and left pending; the measured part registers and cancels
//!    10,000 more (create, first poll, drop for the futures). Contenders: ply's wheel,
//!    a `BTreeMap<(deadline, id)>` (insert + remove), a `BinaryHeap` (push + lazy
//!    cancel: a tombstone, the usual way to cancel in a heap), tokio's `sleep` and
//!    async-io's `Timer`. N = 1k, 10k, 100k, 1M, 10M.
//! 2. *create, first poll and drop of a sleep* with no other timer: (a) until a given
//!    deadline (`Sleep::new_in`, tokio's `sleep_until`, async-io's `Timer::at`): the
//!    timers' own work; (b) `sleep(d)`, which also reads the clock once (ply through an
//!    explicit handle and through `ply_timer::sleep`), with `Instant::now()` alone for
//!    reference.
//! 3. *firing 1M timers*: 1M timers due within 1 s, all expired; the measured part fires
//!    them all and wakes their (counting) wakers. async-io is absent: it fires timers on
//!    its own driver thread as they come due, so "1M expired timers fired at once" cannot
//!    be staged for it.
//! 4. *keep-alive*: 100,000 pending timers (connections); the measured part resets
//!    100,000 random ones to "now + 30 s", as a server does on every read.
//! 5. *memory*: size of a pending sleep and the bytes allocated per pending timer
//!    (counted by a wrapping global allocator), run first.
//! 6. *contention*: the driver's `fire_due` latency (one lock acquisition) while another
//!    thread registers and cancels in a loop, against an idle other thread.
//!
//! Results go to stdout (markdown tables), `docs/figures/timer.csv` and
//! `docs/figures/timer.svg` (cost of insert + cancel against N).

use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ply_bench::plot::{legend, log_log_chart, series};
use ply_bench::{allocated_by, arg_or, compare, print_table, Contender, CountingAlloc, Rng, Row};

/// The memory workload counts what each pending timer costs on the heap, exactly.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// async-io fires and reorganises timers on its own driver thread: after each measured
/// async-io run, give that thread a moment (untimed) so its work does not land inside the
/// next contender's measurement.
fn settle_async_io() {
    std::thread::sleep(Duration::from_millis(20));
}

/// Timers registered and cancelled per measured run of workload 1.
const OPS: usize = 10_000;

/// Deadline offsets in [1 s, 1 h) at millisecond resolution.
const STEP: Duration = Duration::from_millis(1);

struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn counting_waker() -> (Waker, Arc<CountWaker>) {
    let c = Arc::new(CountWaker(AtomicUsize::new(0)));
    (Waker::from(Arc::clone(&c)), c)
}

/// Polls once with `waker`: registers a timer future with its driver.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

/// A `BinaryHeap` timer queue with lazy cancellation: cancelling marks the entry's slot;
/// marked entries are discarded when they reach the top.
struct HeapTimers {
    heap: BinaryHeap<std::cmp::Reverse<(u64, u32)>>,
    cancelled: Vec<bool>,
    free: Vec<u32>,
}

impl HeapTimers {
    fn new() -> Self {
        HeapTimers {
            heap: BinaryHeap::new(),
            cancelled: Vec::new(),
            free: Vec::new(),
        }
    }
    fn insert(&mut self, when: u64) -> u32 {
        let id = self.free.pop().unwrap_or_else(|| {
            self.cancelled.push(false);
            (self.cancelled.len() - 1) as u32
        });
        self.cancelled[id as usize] = false;
        self.heap.push(std::cmp::Reverse((when, id)));
        id
    }
    /// Cancels lazily. The id is recycled only once its entry has left the heap (see
    /// `compact`), as a real implementation would.
    fn cancel(&mut self, id: u32) {
        self.cancelled[id as usize] = true;
    }
    /// Untimed between runs: drops tombstones so the heap does not grow across rounds.
    fn compact(&mut self) {
        let cancelled = &self.cancelled;
        self.heap
            .retain(|std::cmp::Reverse((_, id))| !cancelled[*id as usize]);
        for (id, c) in self.cancelled.iter().enumerate() {
            if *c {
                self.free.push(id as u32);
            }
        }
        for id in &self.free {
            self.cancelled[*id as usize] = false;
        }
    }
    fn pop_due(&mut self, now: u64, mut fire: impl FnMut(u32)) {
        while let Some(std::cmp::Reverse((when, id))) = self.heap.peek().copied() {
            if when > now {
                break;
            }
            self.heap.pop();
            if !self.cancelled[id as usize] {
                fire(id);
            }
        }
    }
}

fn ms_since(origin: Instant, t: Instant) -> u64 {
    t.duration_since(origin).as_millis() as u64
}

/// One point of workload 1.
struct Sample {
    n: usize,
    row: Row,
}

fn insert_cancel(n: usize, rounds: usize, peers: bool) -> Vec<Sample> {
    let origin = Instant::now();
    let mut rng = Rng::new(n as u64);
    let noop = Waker::noop();

    eprintln!("  N = {n}: registering background timers");
    // ply: a timer nobody drives (nothing fires during the benchmark).
    let ply_timer = ply_timer::Timer::new();
    let ply = ply_timer.handle();
    let ply_background: Vec<Pin<Box<ply_timer::Sleep>>> = (0..n)
        .map(|_| {
            let mut s = Box::pin(ply.sleep(rng.offset(STEP)));
            let _ = poll_once(s.as_mut(), noop);
            s
        })
        .collect();
    let mut btree: BTreeMap<(u64, u64), ()> = BTreeMap::new();
    for id in 0..n as u64 {
        btree.insert(
            (ms_since(origin, Instant::now() + rng.offset(STEP)), id),
            (),
        );
    }
    let mut heap = HeapTimers::new();
    for _ in 0..n {
        heap.insert(ms_since(origin, Instant::now() + rng.offset(STEP)));
    }
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let tokio_background: Vec<Pin<Box<tokio::time::Sleep>>> = if peers {
        let _guard = tokio_rt.enter();
        (0..n)
            .map(|_| {
                let mut s = Box::pin(tokio::time::sleep(rng.offset(STEP)));
                let _ = poll_once(s.as_mut(), noop);
                s
            })
            .collect()
    } else {
        Vec::new()
    };
    let async_io_background: Vec<async_io::Timer> = if peers {
        (0..n)
            .map(|_| {
                let mut t = async_io::Timer::after(rng.offset(STEP));
                let _ = poll_once(Pin::new(&mut t), noop);
                t
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut offsets = Rng::new(99);
    let offs: Vec<Duration> = (0..OPS).map(|_| offsets.offset(STEP)).collect();
    let mut next_id = n as u64;
    let mut contenders = vec![
        Contender::timed("ply", || {
            for &d in &offs {
                let mut s = std::pin::pin!(ply.sleep(d));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::timed("BTreeMap", || {
            let now = Instant::now();
            for &d in &offs {
                let key = (ms_since(origin, now + d), next_id);
                next_id += 1;
                btree.insert(key, ());
                btree.remove(&key);
            }
        }),
        Contender::manual("BinaryHeap", || {
            let start = Instant::now();
            let now = Instant::now();
            for &d in &offs {
                let id = heap.insert(ms_since(origin, now + d));
                heap.cancel(id);
            }
            let took = start.elapsed();
            heap.compact();
            took
        }),
    ];
    if peers {
        contenders.push(Contender::timed("tokio", || {
            let _guard = tokio_rt.enter();
            for &d in &offs {
                let mut s = std::pin::pin!(tokio::time::sleep(d));
                let _ = poll_once(s.as_mut(), noop);
            }
        }));
        contenders.push(Contender::manual("async-io", || {
            let start = Instant::now();
            for &d in &offs {
                let mut t = async_io::Timer::after(d);
                let _ = poll_once(Pin::new(&mut t), noop);
            }
            let took = start.elapsed();
            settle_async_io();
            took
        }));
    }
    let rows = compare(rounds, &mut contenders);
    drop(contenders);
    print_table(
        &format!("insert + cancel with N = {n} pending"),
        OPS as u64,
        &rows,
    );
    eprintln!("  N = {n}: releasing");
    drop(ply_background);
    drop(tokio_background);
    drop(async_io_background);
    drop(tokio_rt);
    assert_eq!(ply.metrics().pending, 0);
    rows.into_iter().map(|row| Sample { n, row }).collect()
}

fn create_poll_drop(rounds: usize) -> Vec<Row> {
    const K: usize = 100_000;
    let noop = Waker::noop();
    let timer = ply_timer::Timer::new();
    let handle = timer.handle();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let d = Duration::from_secs(10);
    let deadline = Instant::now() + Duration::from_secs(3600);
    let tokio_deadline = tokio::time::Instant::from_std(deadline);

    // (a) Given a deadline: the timer's own work, no clock read.
    let mut contenders = vec![
        Contender::timed("ply (Sleep::new_in)", || {
            for _ in 0..K {
                let mut s = std::pin::pin!(ply_timer::Sleep::new_in(&handle, deadline));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::timed("tokio (sleep_until)", || {
            let _guard = tokio_rt.enter();
            for _ in 0..K {
                let mut s = std::pin::pin!(tokio::time::sleep_until(tokio_deadline));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::manual("async-io (Timer::at)", || {
            let start = Instant::now();
            for _ in 0..K {
                let mut t = async_io::Timer::at(deadline);
                let _ = poll_once(Pin::new(&mut t), noop);
            }
            let took = start.elapsed();
            settle_async_io();
            took
        }),
    ];
    let rows = compare(rounds, &mut contenders);
    print_table(
        "create, first poll and drop of a sleep until a given deadline (no other timers)",
        K as u64,
        &rows,
    );
    if let Some(t) = rows.iter().find(|r| r.name.starts_with("tokio")) {
        println!(
            "\nply / tokio (deadline given) = {:.3}",
            1.0 / t.ratio_to_first
        );
    }
    drop(contenders);

    // (b) `sleep(d)`: each also reads the clock once.
    let mut contenders = vec![
        Contender::timed("ply (handle.sleep)", || {
            for _ in 0..K {
                let mut s = std::pin::pin!(handle.sleep(d));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::timed("ply (ply_timer::sleep)", || {
            let _guard = handle.enter();
            for _ in 0..K {
                let mut s = std::pin::pin!(ply_timer::sleep(d));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::timed("tokio (sleep)", || {
            let _guard = tokio_rt.enter();
            for _ in 0..K {
                let mut s = std::pin::pin!(tokio::time::sleep(d));
                let _ = poll_once(s.as_mut(), noop);
            }
        }),
        Contender::manual("async-io (Timer::after)", || {
            let start = Instant::now();
            for _ in 0..K {
                let mut t = async_io::Timer::after(d);
                let _ = poll_once(Pin::new(&mut t), noop);
            }
            let took = start.elapsed();
            settle_async_io();
            took
        }),
        Contender::timed("Instant::now() alone", || {
            for _ in 0..K {
                std::hint::black_box(Instant::now());
            }
        }),
    ];
    let rows2 = compare(rounds, &mut contenders);
    print_table(
        "create, first poll and drop of sleep(d) (one clock read each; no other timers)",
        K as u64,
        &rows2,
    );
    if let Some(t) = rows2.iter().find(|r| r.name.starts_with("tokio")) {
        println!("\nply / tokio (sleep(d)) = {:.3}", 1.0 / t.ratio_to_first);
    }
    rows
}

fn fire_million(rounds: usize) -> Vec<Row> {
    const N: usize = 1_000_000;
    let (waker, woken) = counting_waker();
    let waker = &waker;
    let woken = &woken;
    let mut contenders = vec![
        Contender::manual("ply", || {
            let timer = ply_timer::Timer::paused();
            let handle = timer.handle();
            let start = handle.now();
            let mut rng = Rng::new(1);
            let mut sleeps: Vec<Pin<Box<ply_timer::Sleep>>> = (0..N)
                .map(|_| {
                    let at = start + Duration::from_micros(1 + rng.next_u64() % 1_000_000);
                    Box::pin(handle.sleep_until(at))
                })
                .collect();
            for s in &mut sleeps {
                let _ = poll_once(s.as_mut(), waker);
            }
            let before = woken.0.load(Ordering::Relaxed);
            let t = Instant::now();
            let fired = timer.advance(Duration::from_secs(1));
            let took = t.elapsed();
            assert_eq!(fired, N);
            assert_eq!(woken.0.load(Ordering::Relaxed) - before, N);
            took
        }),
        Contender::manual("BTreeMap", || {
            let mut rng = Rng::new(1);
            let mut map = BTreeMap::new();
            for id in 0..N as u64 {
                map.insert((1 + rng.next_u64() % 1_000_000, id), ());
            }
            let t = Instant::now();
            while let Some(((_when, _id), ())) = map.pop_first() {
                waker.wake_by_ref();
            }
            t.elapsed()
        }),
        Contender::manual("BinaryHeap", || {
            let mut rng = Rng::new(1);
            let mut heap = HeapTimers::new();
            for _ in 0..N {
                heap.insert(1 + rng.next_u64() % 1_000_000);
            }
            let t = Instant::now();
            heap.pop_due(u64::MAX, |_| waker.wake_by_ref());
            t.elapsed()
        }),
        Contender::manual("tokio", || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let start = Instant::now();
            let mut rng = Rng::new(1);
            let sleeps: Vec<Pin<Box<tokio::time::Sleep>>> = {
                let _guard = rt.enter();
                (0..N)
                    .map(|_| {
                        let at = start + Duration::from_micros(20_000 + rng.next_u64() % 100_000);
                        let mut s = Box::pin(tokio::time::sleep_until(at.into()));
                        let _ = poll_once(s.as_mut(), waker);
                        s
                    })
                    .collect()
            };
            let last = start + Duration::from_millis(121);
            std::thread::sleep(
                last.saturating_duration_since(Instant::now()) + Duration::from_millis(2),
            );
            let before = woken.0.load(Ordering::Relaxed);
            // Every deadline has passed: the runtime's first park fires all of them.
            let t = Instant::now();
            rt.block_on(async { tokio::time::sleep_until(last.into()).await });
            let took = t.elapsed();
            assert_eq!(woken.0.load(Ordering::Relaxed) - before, N);
            drop(sleeps);
            took
        }),
    ];
    let rows = compare(rounds, &mut contenders);
    print_table(
        "firing 1M expired timers (and waking them)",
        N as u64,
        &rows,
    );
    rows
}

fn keep_alive(rounds: usize) -> Vec<Row> {
    const CONNECTIONS: usize = 100_000;
    const RESETS: usize = 100_000;
    let noop = Waker::noop();
    let keep = Duration::from_secs(30);
    let mut picks = Rng::new(5);
    let order: Vec<usize> = (0..RESETS)
        .map(|_| (picks.next_u64() % CONNECTIONS as u64) as usize)
        .collect();
    let order = &order;

    let timer = ply_timer::Timer::new();
    let handle = timer.handle();
    let mut ply: Vec<Pin<Box<ply_timer::Sleep>>> = (0..CONNECTIONS)
        .map(|_| {
            let mut s = Box::pin(handle.sleep(keep));
            let _ = poll_once(s.as_mut(), noop);
            s
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut tokio_sleeps: Vec<Pin<Box<tokio::time::Sleep>>> = {
        let _guard = rt.enter();
        (0..CONNECTIONS)
            .map(|_| {
                let mut s = Box::pin(tokio::time::sleep(keep));
                let _ = poll_once(s.as_mut(), noop);
                s
            })
            .collect()
    };
    let mut async_io_timers: Vec<async_io::Timer> = (0..CONNECTIONS)
        .map(|_| {
            let mut t = async_io::Timer::after(keep);
            let _ = poll_once(Pin::new(&mut t), noop);
            t
        })
        .collect();
    let origin = Instant::now();
    let mut btree_deadlines: Vec<u64> = vec![ms_since(origin, origin + keep); CONNECTIONS];
    let mut btree: BTreeMap<(u64, u64), ()> = (0..CONNECTIONS)
        .map(|i| ((btree_deadlines[i], i as u64), ()))
        .collect();

    let mut contenders = vec![
        Contender::timed("ply", || {
            for &i in order {
                let now = Instant::now();
                ply[i].as_mut().reset(now + keep);
            }
        }),
        Contender::timed("BTreeMap", || {
            for &i in order {
                let now = Instant::now();
                btree.remove(&(btree_deadlines[i], i as u64));
                btree_deadlines[i] = ms_since(origin, now + keep);
                btree.insert((btree_deadlines[i], i as u64), ());
            }
        }),
        Contender::timed("tokio", || {
            let _guard = rt.enter();
            for &i in order {
                let now = tokio::time::Instant::now();
                tokio_sleeps[i].as_mut().reset(now + keep);
            }
        }),
        Contender::manual("async-io", || {
            let start = Instant::now();
            for &i in order {
                let now = Instant::now();
                async_io_timers[i].set_at(now + keep);
                let _ = poll_once(Pin::new(&mut async_io_timers[i]), noop);
            }
            let took = start.elapsed();
            settle_async_io();
            took
        }),
    ];
    let rows = compare(rounds, &mut contenders);
    print_table(
        "keep-alive: reset 100k random timers of 100k to now + 30 s",
        RESETS as u64,
        &rows,
    );
    rows
}

fn memory() {
    const N: usize = 1_000_000;
    let noop = Waker::noop();
    let mut rng = Rng::new(3);
    println!("\n### memory per pending timer (N = 1M, net bytes allocated / N)\n");
    println!("| contender | size of the future | allocated per pending timer | beyond the future itself |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, size: usize, bytes: isize, holder: usize| {
        let per = bytes as f64 / N as f64;
        // `holder`: bytes per timer of the benchmark's own Vec (a Box pointer, or the
        // future inline), not the timer's cost.
        println!(
            "| {name} | {size} B | {per:.1} B | {:.1} B |",
            per - holder as f64 - size as f64
        );
    };
    {
        let timer = ply_timer::Timer::new();
        let handle = timer.handle();
        let (v, bytes) = allocated_by(|| {
            (0..N)
                .map(|_| {
                    let mut s = Box::pin(handle.sleep(rng.offset(STEP)));
                    let _ = poll_once(s.as_mut(), noop);
                    s
                })
                .collect::<Vec<_>>()
        });
        row("ply", std::mem::size_of::<ply_timer::Sleep>(), bytes, 8);
        drop(v);
    }
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let (v, bytes) = allocated_by(|| {
            (0..N)
                .map(|_| {
                    let mut s = Box::pin(tokio::time::sleep(rng.offset(STEP)));
                    let _ = poll_once(s.as_mut(), noop);
                    s
                })
                .collect::<Vec<_>>()
        });
        row("tokio", std::mem::size_of::<tokio::time::Sleep>(), bytes, 8);
        drop(v);
    }
    {
        let (v, bytes) = allocated_by(|| {
            let v = (0..N)
                .map(|_| {
                    let mut t = async_io::Timer::after(rng.offset(STEP));
                    let _ = poll_once(Pin::new(&mut t), noop);
                    t
                })
                .collect::<Vec<_>>();
            // Let the reactor absorb queued registrations into its map.
            async_io::block_on(async_io::Timer::after(Duration::from_millis(5)));
            v
        });
        row("async-io", std::mem::size_of::<async_io::Timer>(), bytes, 0);
        drop(v);
    }
}

/// How long the driver's `fire_due` takes (it takes the wheel lock once) while another
/// thread registers and cancels timers as fast as it can, against the same with no other
/// thread: whether the short critical section holds the driver up.
fn contention() {
    use std::sync::atomic::AtomicBool;
    let run = |hammer: bool| -> (Vec<Duration>, u64) {
        let timer = ply_timer::Timer::new();
        let handle = timer.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicUsize::new(0));
        let worker = hammer.then(|| {
            let (handle, stop, ops) = (handle.clone(), Arc::clone(&stop), Arc::clone(&ops));
            std::thread::spawn(move || {
                let mut rng = Rng::new(11);
                let mut done = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        let mut s = std::pin::pin!(handle.sleep(rng.offset(STEP)));
                        let _ = poll_once(s.as_mut(), Waker::noop());
                    }
                    done += 64;
                }
                ops.store(done, Ordering::Relaxed);
            })
        });
        // Keep some timers pending so fire_due has a wheel to look at.
        let mut rng = Rng::new(12);
        let _pending: Vec<_> = (0..10_000)
            .map(|_| {
                let mut s = Box::pin(handle.sleep(rng.offset(STEP)));
                let _ = poll_once(s.as_mut(), Waker::noop());
                s
            })
            .collect();
        let mut calls = Vec::with_capacity(200_000);
        let begin = Instant::now();
        while begin.elapsed() < Duration::from_millis(300) {
            let t = Instant::now();
            timer.fire_due(t);
            calls.push(t.elapsed());
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(w) = worker {
            w.join().unwrap();
        }
        calls.sort();
        (calls, ops.load(Ordering::Relaxed) as u64)
    };
    println!("\n### driver's fire_due while another thread inserts and cancels (300 ms each)\n");
    println!("| other thread | fire_due calls | p50 | p99 | p99.9 | max | inserts+cancels by the other thread |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for hammer in [false, true] {
        let (calls, ops) = run(hammer);
        let q = |p: f64| calls[((calls.len() - 1) as f64 * p) as usize].as_nanos();
        println!(
            "| {} | {} | {} ns | {} ns | {} ns | {} ns | {} |",
            if hammer { "insert+cancel loop" } else { "idle" },
            calls.len(),
            q(0.5),
            q(0.99),
            q(0.999),
            calls.last().unwrap().as_nanos(),
            ops
        );
    }
}

fn write_csv(path: &std::path::Path, results: &[Sample], rounds: usize) -> std::io::Result<()> {
    let mut out = String::from("pending,contender,ns_per_op,ratio_vs_ply,ops_per_run,rounds\n");
    for s in results {
        out.push_str(&format!(
            "{},{},{:.1},{:.3},{},{}\n",
            s.n,
            s.row.name,
            s.row.median.as_secs_f64() * 1e9 / OPS as f64,
            s.row.ratio_to_first,
            OPS,
            rounds
        ));
    }
    std::fs::write(path, out)
}

fn plot(path: &std::path::Path, results: &[Sample]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let ns = |s: &Sample| s.row.median.as_secs_f64() * 1e9 / OPS as f64;
    let max_n = results.iter().map(|s| s.n).max().unwrap_or(10) as f64;
    let min_n = results.iter().map(|s| s.n).min().unwrap_or(1) as f64;
    let (lo, hi) = results
        .iter()
        .map(ns)
        .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let root = SVGBackend::new(path, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = log_log_chart(
        &root,
        "Insert + cancel one timer with N timers pending",
        ((min_n * 0.7)..(max_n * 1.4), "pending timers (N)"),
        ((lo * 0.7)..(hi * 1.4), "ns per insert + cancel (median)"),
    )?;
    let lines = [
        ("ply", RGBColor(0, 114, 178)),
        ("BTreeMap", RGBColor(213, 94, 0)),
        ("BinaryHeap", RGBColor(0, 158, 115)),
        ("tokio", RGBColor(204, 121, 167)),
        ("async-io", RGBColor(120, 120, 120)),
    ];
    for (name, color) in lines {
        let points: Vec<(f64, f64)> = results
            .iter()
            .filter(|s| s.row.name == name)
            .map(|s| (s.n as f64, ns(s)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let label = if name == "BinaryHeap" {
            "BinaryHeap (lazy cancel)"
        } else {
            name
        };
        series(&mut chart, points, label, color)?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = arg_or("--rounds", 11);
    let max_n: usize = arg_or("--max-n", 10_000_000);
    // Peers at 10M pending cost several GB and tens of seconds; on by default up to this N.
    let peers_up_to: usize = arg_or("--peers-up-to", 10_000_000);
    println!("# ply-timer benchmarks ({rounds} rounds, medians)");

    // `--workload insert|create|fire|keepalive|contention|memory` runs one workload (for profiling).
    let workload: String = arg_or("--workload", String::new());
    let run = |name: &str| workload.is_empty() || workload == name;
    if run("memory") {
        // First: the allocator's high-water mark is not yet raised by other workloads.
        memory();
    }
    let mut samples = Vec::new();
    if run("insert") {
        for n in [1_000, 10_000, 100_000, 1_000_000, 10_000_000] {
            if n > max_n {
                break;
            }
            samples.extend(insert_cancel(n, rounds, n <= peers_up_to));
        }
    }
    let ns = |name: &str, n: usize| {
        samples
            .iter()
            .find(|s| s.n == n && s.row.name == name)
            .map(|s| s.row.median.as_secs_f64() * 1e9 / OPS as f64)
    };
    if let (Some(small), Some(large)) = (ns("ply", 1_000), ns("ply", max_n.min(10_000_000))) {
        println!(
            "\nply flatness: cost at N = {max_n} / cost at N = 1000 = {:.2}",
            large / small
        );
    }
    if let Some(s) = samples
        .iter()
        .find(|s| s.n == 1_000_000 && s.row.name == "BTreeMap")
    {
        println!(
            "ply / BTreeMap at N = 1M (median of per-round ratios) = {:.3}",
            1.0 / s.row.ratio_to_first
        );
    }
    if run("create") {
        create_poll_drop(rounds);
    }
    if run("fire") {
        fire_million(rounds.min(7));
    }
    if run("keepalive") {
        keep_alive(rounds);
    }
    if run("contention") {
        contention();
    }
    if samples.is_empty() {
        return Ok(());
    }

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/figures");
    std::fs::create_dir_all(&dir)?;
    write_csv(&dir.join("timer.csv"), &samples, rounds)?;
    plot(&dir.join("timer.svg"), &samples)?;
    println!("\nwrote {}/timer.{{csv,svg}}", dir.display());
    Ok(())
}

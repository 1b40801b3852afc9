//! Behaviour of the multi-threaded `Executor`.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ply_executor::{Executor, JoinHandle};
use util::{watchdog, DropCounter, YieldTimes};

fn executor(workers: usize) -> Executor {
    Executor::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn one_million_tasks_all_joined_with_the_right_values() {
    let _w = watchdog("one_million_tasks", 120);
    const N: u64 = 1_000_000;
    let ex = executor(2);
    // Half spawned from outside the workers (injection queue), half from a task running on
    // a worker (local queues, stealing).
    let outside: Vec<JoinHandle<u64>> =
        (0..N / 2).map(|i| ex.spawn(async move { i * 3 })).collect();
    let inside = ex.block_on(ex.spawn(async move {
        let handles: Vec<JoinHandle<u64>> = (N / 2..N)
            .map(|i| ply_executor::spawn(async move { i * 3 }))
            .collect();
        let mut ok = 0u64;
        for (i, h) in (N / 2..N).zip(handles) {
            assert_eq!(h.await.unwrap(), i * 3);
            ok += 1;
        }
        ok
    }));
    assert_eq!(inside.unwrap(), N / 2);
    ex.block_on(async {
        for (i, h) in (0..N / 2).zip(outside) {
            assert_eq!(h.await.unwrap(), i * 3);
        }
    });
    // Completions are counted just after the JoinHandle is told: allow the last few to land.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ex.handle().metrics().completed < N + 1 || ex.handle().num_tasks() > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", ex.handle());
        std::thread::sleep(Duration::from_millis(1));
    }
    let m = ex.handle().metrics();
    assert_eq!(m.spawned, N + 1);
    assert_eq!(m.completed, N + 1);
}

#[test]
fn panicking_task_yields_its_payload_and_others_finish() {
    let _w = watchdog("panicking_task", 30);
    let ex = executor(2);
    let bad = ex.spawn(async { panic!("task exploded") });
    let good: Vec<_> = (0..100).map(|i| ex.spawn(async move { i })).collect();
    let err = ex.block_on(bad).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        *err.into_panic().downcast::<&str>().unwrap(),
        "task exploded"
    );
    let sum: i32 = ex.block_on(async {
        let mut s = 0;
        for g in good {
            s += g.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 4950);
    // The executor still runs new tasks after the panic.
    assert_eq!(ex.block_on(ex.spawn(async { 5 })).unwrap(), 5);
}

#[test]
fn abort_before_first_poll() {
    let _w = watchdog("abort_before_first_poll", 30);
    // One worker kept busy so the aborted task cannot have been polled yet.
    let ex = executor(1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocker = ex.spawn(async move { rx.recv().unwrap() });
    let polled = Arc::new(AtomicBool::new(false));
    let drops = DropCounter::default();
    let (p, token) = (polled.clone(), drops.token());
    let victim = ex.spawn(async move {
        let _token = token;
        p.store(true, Ordering::SeqCst);
    });
    victim.abort();
    tx.send(()).unwrap();
    ex.block_on(blocker).unwrap();
    assert!(ex.block_on(victim).unwrap_err().is_cancelled());
    assert!(!polled.load(Ordering::SeqCst));
    assert_eq!(drops.count(), 1);
}

#[test]
fn abort_during_poll_from_another_task() {
    let _w = watchdog("abort_during_poll", 30);
    let ex = executor(2);
    let drops = DropCounter::default();
    let token = drops.token();
    let started = Arc::new(AtomicBool::new(false));
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let s = started.clone();
    // The victim blocks inside its poll until the aborter has called abort.
    let victim = ex.spawn(async move {
        let _token = token;
        s.store(true, Ordering::SeqCst);
        release_rx.recv().unwrap();
        // Still running after abort: the future finishes this poll, then is dropped.
        YieldTimes(1).await;
        unreachable!("an aborted task is not polled again");
    });
    let aborter = ex.spawn(async move {
        // Poll the flag rather than wait for a wake-up: a wake from the blocked worker
        // would land in that worker's LIFO slot, which nobody else can take.
        while !started.load(Ordering::SeqCst) {
            ply_executor::yield_now().await;
        }
        victim.abort();
        release_tx.send(()).unwrap();
        victim.await
    });
    let res = ex.block_on(aborter).unwrap();
    assert!(res.unwrap_err().is_cancelled());
    assert_eq!(drops.count(), 1);
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let _w = watchdog("abort_after_completion", 30);
    let ex = executor(2);
    let h = ex.spawn(async { 11 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    h.abort();
    assert_eq!(ex.block_on(h).unwrap(), 11);
}

#[test]
fn self_waking_task_cannot_starve_another() {
    let _w = watchdog("self_waking_task", 30);
    // A single worker: fairness must come from the scheduler, not from parallelism.
    let ex = executor(1);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let spinner = ex.spawn(async move {
        let mut polls = 0u64;
        while !s.load(Ordering::SeqCst) {
            ply_executor::yield_now().await;
            polls += 1;
        }
        polls
    });
    let other = ex.spawn(YieldTimes(10));
    ex.block_on(other).unwrap();
    stop.store(true, Ordering::SeqCst);
    assert!(ex.block_on(spinner).unwrap() > 0);
}

#[test]
fn busy_leaf_operations_yield_after_the_budget() {
    let _w = watchdog("busy_leaf_operations", 30);
    let ex = executor(1);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // The "leaf" is always ready, so without the budget this loop never returns Pending.
    let busy = ex.spawn(async move {
        let mut n = 0u64;
        while !s.load(Ordering::SeqCst) {
            std::future::poll_fn(ply_executor::coop::poll_proceed).await;
            n += 1;
        }
        n
    });
    let other = ex.spawn(async { 1 });
    assert_eq!(ex.block_on(other).unwrap(), 1);
    stop.store(true, Ordering::SeqCst);
    assert!(ex.block_on(busy).unwrap() >= ply_executor::coop::INITIAL_BUDGET as u64);
}

#[test]
fn shutdown_drops_every_pending_future_exactly_once() {
    let _w = watchdog("shutdown_drops", 30);
    let drops = DropCounter::default();
    let ex = executor(2);
    const N: usize = 1000;
    let mut handles = Vec::new();
    for i in 0..N {
        let token = drops.token();
        if i % 2 == 0 {
            // Never woken again.
            handles.push(ex.spawn(async move {
                let _t = token;
                std::future::pending::<()>().await
            }));
        } else {
            // Keeps waking itself: queued or running at shutdown.
            handles.push(ex.spawn(async move {
                let _t = token;
                loop {
                    ply_executor::yield_now().await;
                }
            }));
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    let live = ex.handle().num_tasks();
    assert!(live > 0);
    drop(ex);
    assert_eq!(drops.count(), N);
    for h in handles {
        assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    }
    assert_eq!(drops.count(), N);
}

#[test]
fn waking_after_shutdown_is_harmless_and_spawn_is_refused() {
    let _w = watchdog("waking_after_shutdown", 30);
    let ex = executor(2);
    let handle = ex.handle().clone();
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let drops = DropCounter::default();
    let token = drops.token();
    let h = ex.spawn(async move {
        let _t = token;
        let mut sent = false;
        std::future::poll_fn(move |cx| {
            if !sent {
                tx.send(cx.waker().clone()).unwrap();
                sent = true;
            }
            std::task::Poll::<()>::Pending
        })
        .await
    });
    let waker = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    drop(ex);
    assert_eq!(drops.count(), 1);
    waker.wake_by_ref();
    waker.wake();
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    let drops2 = DropCounter::default();
    let token = drops2.token();
    let late = handle.spawn(async move { drop(token) });
    assert!(futures::executor::block_on(late)
        .unwrap_err()
        .is_cancelled());
    assert_eq!(drops2.count(), 1);
}

#[test]
fn detached_task_keeps_running() {
    let _w = watchdog("detached_task", 30);
    let ex = executor(2);
    let (tx, rx) = std::sync::mpsc::channel();
    drop(ex.spawn(async move {
        YieldTimes(3).await;
        tx.send(42).unwrap();
    }));
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 42);
}

#[test]
fn work_spreads_to_both_workers_and_is_counted() {
    let _w = watchdog("work_spreads", 60);
    let ex = executor(2);
    let threads = Arc::new(parking_lot::Mutex::new(std::collections::HashSet::new()));
    let t = threads.clone();
    ex.block_on(ex.spawn(async move {
        // Fewer than a queue holds, so none overflow to the injection queue: the idle
        // worker can only get work by stealing.
        let hs: Vec<_> = (0..200)
            .map(|_| {
                let t = t.clone();
                ply_executor::spawn(async move {
                    // Enough work per task that the idle worker gets to steal some.
                    std::thread::sleep(Duration::from_micros(50));
                    t.lock().insert(std::thread::current().id());
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    assert_eq!(threads.lock().len(), 2);
    let m = ex.handle().metrics();
    assert!(m.steals >= 1, "{m:?}");
    assert_eq!(
        m.polled,
        ex.handle().worker_metrics(0).polled + ex.handle().worker_metrics(1).polled
    );
}

#[test]
fn spawn_blocking_runs_off_the_workers() {
    let _w = watchdog("spawn_blocking", 30);
    let ex = executor(1);
    let v = ex.block_on(async {
        let worker = std::thread::current().id();
        let h = ply_executor::spawn_blocking(move || std::thread::current().id() != worker);
        h.await.unwrap()
    });
    assert!(v);
    let name = ex
        .block_on(
            ex.handle()
                .spawn_blocking(|| std::thread::current().name().map(String::from)),
        )
        .unwrap();
    assert_eq!(name.as_deref(), Some("ply-worker-blocking"));
}

#[test]
fn ping_pong_between_tasks() {
    let _w = watchdog("ping_pong", 30);
    let ex = executor(2);
    let rounds = ex.block_on(async {
        let mut n = 0;
        for _ in 0..1000 {
            let (tx, rx) = util::oneshot::<u32>();
            let (tx2, rx2) = util::oneshot::<u32>();
            let a = ply_executor::spawn(async move {
                let v = rx.await;
                tx2.send(v + 1);
            });
            tx.send(1);
            n += rx2.await;
            a.await.unwrap();
        }
        n
    });
    assert_eq!(rounds, 2000);
}

#[test]
fn many_producers_and_nested_spawns_on_four_workers() {
    let _w = watchdog("many_producers", 60);
    // More workers than cores, four outside producers and tasks that spawn tasks: the
    // injection queue, stealing and parking all race.
    let ex = executor(4);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let h = ex.handle().clone();
            std::thread::spawn(move || {
                let handles: Vec<_> = (0..20_000u64)
                    .map(|i| {
                        h.spawn(async move {
                            if i % 100 == 0 {
                                // A small tree of nested spawns.
                                let subs: Vec<_> = (0..10u64)
                                    .map(|j| ply_executor::spawn(async move { j }))
                                    .collect();
                                let mut s = 0;
                                for sub in subs {
                                    s += sub.await.unwrap();
                                }
                                assert_eq!(s, 45);
                            }
                            if i % 7 == 0 {
                                ply_executor::yield_now().await;
                            }
                            p * 1_000_000 + i
                        })
                    })
                    .collect();
                let mut ok = 0;
                for (i, h) in (0..20_000u64).zip(handles) {
                    assert_eq!(futures::executor::block_on(h).unwrap(), p * 1_000_000 + i);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let total: u64 = producers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 80_000);
}

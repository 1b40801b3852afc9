//! Task groups and identity: `JoinSet`, `AbortHandle`, task `Id`s, on both executors.

mod util;

use std::collections::HashSet;
use std::time::Duration;

use ply_executor::{Executor, JoinSet, LocalExecutor};
use util::{watchdog, DropCounter, YieldTimes};

fn two_workers() -> Executor {
    Executor::builder().worker_threads(2).build().unwrap()
}

#[test]
fn join_next_returns_every_output_then_none() {
    let _w = watchdog("join_set_outputs", 30);
    let ex = two_workers();
    let (outputs, after) = ex.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000u64 {
            set.spawn(async move {
                YieldTimes((i % 3) as usize).await;
                i
            });
        }
        assert_eq!(set.len(), 1000);
        let mut outputs = Vec::new();
        while let Some(res) = set.join_next().await {
            outputs.push(res.unwrap());
        }
        (outputs, set.join_next().await.is_none())
    });
    assert!(after);
    let mut sorted = outputs.clone();
    sorted.sort();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
}

#[test]
fn outputs_come_in_finishing_order() {
    let _w = watchdog("join_set_order", 30);
    let ex = LocalExecutor::new();
    let order = ex.block_on(async {
        let mut set = JoinSet::new();
        // Task i finishes after 10 - i yields: the last spawned finishes first.
        for i in 0..10usize {
            set.spawn_local(async move {
                YieldTimes(10 - i).await;
                i
            });
        }
        let mut order = Vec::new();
        while let Some(res) = set.join_next().await {
            order.push(res.unwrap());
        }
        order
    });
    assert_eq!(order, (0..10).rev().collect::<Vec<_>>());
}

#[test]
fn abort_all_cancels_and_drop_aborts() {
    let _w = watchdog("join_set_abort", 30);
    let ex = two_workers();
    let drops = DropCounter::default();
    let (cancelled, finished) = ex.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let t = drops.token();
            set.spawn(async move {
                let _t = t;
                std::future::pending::<()>().await;
            });
        }
        set.spawn(async {});
        // Let the quick one finish first.
        let first = set.join_next().await.unwrap();
        assert!(first.is_ok());
        set.abort_all();
        let (mut cancelled, mut finished) = (0, 0);
        while let Some(res) = set.join_next().await {
            match res {
                Err(e) if e.is_cancelled() => cancelled += 1,
                _ => finished += 1,
            }
        }
        (cancelled, finished)
    });
    assert_eq!((cancelled, finished), (50, 0));
    assert_eq!(drops.count(), 50);

    // Dropping a set aborts what is still in it: the futures are dropped by the executor.
    let drops = DropCounter::default();
    ex.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..20 {
            let t = drops.token();
            set.spawn(async move {
                let _t = t;
                std::future::pending::<()>().await;
            });
        }
        drop(set);
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while drops.count() < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "dropped set left tasks running"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ex.handle().num_tasks(), 0);
}

#[test]
fn detach_all_lets_tasks_run_on() {
    let _w = watchdog("join_set_detach", 30);
    let ex = LocalExecutor::new();
    let (tx, rx) = util::oneshot::<u32>();
    ex.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_local(async move {
            YieldTimes(3).await;
            tx.send(7);
        });
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        assert_eq!(rx.await, 7);
    });
}

#[test]
fn try_join_next_and_abort_handles() {
    let _w = watchdog("join_set_try", 30);
    let ex = LocalExecutor::new();
    ex.block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none());
        let abort = set.spawn_local(std::future::pending::<u8>());
        set.spawn_local(async { 3u8 });
        YieldTimes(2).await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 3);
        // An abort handle works from another thread, and is not the task's owner.
        let a2 = abort.clone();
        std::thread::spawn(move || a2.abort()).join().unwrap();
        assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
        assert!(abort.is_finished());
    });
}

#[test]
fn task_ids_are_unique_and_seen_from_inside() {
    let _w = watchdog("task_ids", 30);
    assert!(ply_executor::try_task_id().is_none());
    let ex = two_workers();
    let pairs = ex.block_on(async {
        // The main future of block_on is not a task.
        assert!(ply_executor::try_task_id().is_none());
        let handles: Vec<_> = (0..200)
            .map(|_| ply_executor::spawn(async { ply_executor::task_id() }))
            .collect();
        let mut pairs = Vec::new();
        for h in handles {
            let id = h.id();
            let abort_id = h.abort_handle().id();
            pairs.push((id, abort_id, h.await.unwrap()));
        }
        pairs
    });
    let mut seen = HashSet::new();
    for (id, abort_id, inside) in pairs {
        assert_eq!(id, inside);
        assert_eq!(id, abort_id);
        assert!(seen.insert(id), "id {id} handed out twice");
    }
    assert!(ply_executor::try_task_id().is_none());
}

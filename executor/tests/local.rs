//! Behaviour of `LocalExecutor`.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use ply_executor::LocalExecutor;
use util::{watchdog, DropCounter, YieldTimes};

#[test]
fn not_send_future_woken_from_another_thread() {
    let _w = watchdog("not_send_woken_remotely", 30);
    let ex = LocalExecutor::new();
    let state = Rc::new(Cell::new(0)); // !Send, held across the await
    let s = state.clone();
    let (tx, rx) = util::oneshot::<u32>();
    let task = ex.spawn_local(async move {
        let v = rx.await;
        s.set(s.get() + v);
        s.get()
    });
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(41);
    });
    let out = ex.block_on(async move { task.await.unwrap() + 1 });
    sender.join().unwrap();
    assert_eq!(out, 42);
    assert_eq!(state.get(), 41);
    // It had nothing to do for 20 ms, so it parked. Under valgrind (one thread at a time,
    // much slower) the 20 ms can pass before the executor first runs out of work, and
    // then the wake-up is already there: no park is needed, and none is asserted.
    if std::env::var_os("PLY_UNDER_VALGRIND").is_none() {
        assert!(ex.metrics().parks >= 1);
    }
}

#[test]
fn tasks_woken_from_another_thread_while_idle() {
    let _w = watchdog("tasks_woken_while_idle", 30);
    let ex = LocalExecutor::new();
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let mut first = true;
    let task = ex.spawn_local(std::future::poll_fn(move |cx| {
        if first {
            first = false;
            tx.send(cx.waker().clone()).unwrap();
            return Poll::Pending;
        }
        d.set(true);
        Poll::Ready(())
    }));
    ex.run_until_idle();
    let waker = rx.recv().unwrap();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    ex.block_on(task).unwrap();
    assert!(done.get());
}

#[test]
fn panicking_task_yields_its_payload_and_others_finish() {
    let _w = watchdog("local_panic", 30);
    let ex = LocalExecutor::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let bad = ex.spawn_local(async { panic!("{}", String::from("local boom")) });
    let others: Vec<_> = (0..3)
        .map(|i| {
            let log = log.clone();
            ex.spawn_local(async move {
                YieldTimes(2).await;
                log.borrow_mut().push(i);
            })
        })
        .collect();
    let err = ex.block_on(bad).unwrap_err();
    assert_eq!(
        *err.into_panic().downcast::<String>().unwrap(),
        "local boom"
    );
    ex.block_on(async {
        for o in others {
            o.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), [0, 1, 2]);
}

#[test]
fn abort_before_during_and_after() {
    let _w = watchdog("local_abort", 30);
    let ex = LocalExecutor::new();
    let drops = DropCounter::default();

    // Before the first poll.
    let t = drops.token();
    let before = ex.spawn_local(async move {
        let _t = t;
        unreachable!("aborted before its first poll");
    });
    before.abort();
    assert!(ex.block_on(before).unwrap_err().is_cancelled());
    assert_eq!(drops.count(), 1);

    // During a poll, by another task: the victim aborts... itself through a shared handle.
    let slot: Rc<RefCell<Option<ply_executor::JoinHandle<()>>>> = Rc::default();
    let s = slot.clone();
    let t = drops.token();
    let victim = ex.spawn_local(async move {
        let _t = t;
        YieldTimes(1).await;
        // Runs once: by now the aborter has called abort, so we are not polled again.
        std::future::pending::<()>().await;
    });
    *slot.borrow_mut() = Some(victim);
    let aborter = ex.spawn_local(async move {
        let victim = s.borrow_mut().take().unwrap();
        victim.abort();
        victim.await
    });
    assert!(ex.block_on(aborter).unwrap().unwrap_err().is_cancelled());
    assert_eq!(drops.count(), 2);

    // A task aborting itself while running.
    let me: Rc<RefCell<Option<ply_executor::JoinHandle<()>>>> = Rc::default();
    let m = me.clone();
    let t = drops.token();
    let selfish = ex.spawn_local(async move {
        let _t = t;
        m.borrow().as_ref().unwrap().abort();
        YieldTimes(1).await;
        unreachable!("aborted during its own poll");
    });
    *me.borrow_mut() = Some(selfish);
    ex.run_until_idle();
    let selfish = me.borrow_mut().take().unwrap();
    assert!(ex.block_on(selfish).unwrap_err().is_cancelled());
    assert_eq!(drops.count(), 3);

    // After completion.
    let done = ex.spawn_local(async { 3 });
    ex.run_until_idle();
    done.abort();
    assert_eq!(ex.block_on(done).unwrap(), 3);
}

#[test]
fn abort_from_another_thread_drops_on_the_executor_thread() {
    let _w = watchdog("local_abort_remote", 30);
    let ex = LocalExecutor::new();
    let owner = std::thread::current().id();
    struct CheckThread(std::thread::ThreadId, Arc<AtomicBool>);
    impl Drop for CheckThread {
        fn drop(&mut self) {
            self.1
                .store(std::thread::current().id() == self.0, Ordering::SeqCst);
        }
    }
    let same = Arc::new(AtomicBool::new(false));
    let guard = CheckThread(owner, same.clone());
    let h = ex.spawn_local(async move {
        let _g = guard;
        std::future::pending::<()>().await;
    });
    ex.run_until_idle();
    let h = std::thread::spawn(move || {
        h.abort();
        h
    })
    .join()
    .unwrap();
    assert!(ex.block_on(h).unwrap_err().is_cancelled());
    assert!(same.load(Ordering::SeqCst));
}

#[test]
fn self_waking_task_cannot_starve_another() {
    let _w = watchdog("local_fairness", 30);
    let ex = LocalExecutor::new();
    let stop = Rc::new(Cell::new(false));
    let s = stop.clone();
    let _spinner = ex.spawn_local(async move {
        while !s.get() {
            ply_executor::yield_now().await;
        }
    });
    let busy_stop = Rc::new(Cell::new(false));
    let b = busy_stop.clone();
    let _busy = ex.spawn_local(async move {
        while !b.get() {
            std::future::poll_fn(ply_executor::coop::poll_proceed).await;
        }
    });
    let other = ex.spawn_local(YieldTimes(20));
    ex.block_on(other).unwrap();
    stop.set(true);
    busy_stop.set(true);
    ex.run_until_idle();
    assert_eq!(ex.num_tasks(), 0);
}

#[test]
fn shutdown_drops_every_pending_future_exactly_once() {
    let _w = watchdog("local_shutdown", 30);
    let drops = DropCounter::default();
    let ex = LocalExecutor::new();
    let mut handles = Vec::new();
    for i in 0..100 {
        let t = drops.token();
        handles.push(ex.spawn_local(async move {
            let _t = t;
            if i % 3 == 0 {
                std::future::pending::<()>().await;
            } else {
                loop {
                    ply_executor::yield_now().await;
                }
            }
        }));
    }
    // Some polled, some never.
    ex.block_on(YieldTimes(5));
    // A destructor that spawns during shutdown is refused, not a panic.
    let t = drops.token();
    struct SpawnOnDrop(Option<util::DropToken>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let t = self.0.take();
            let h = ply_executor::spawn_local(async move { drop(t) });
            assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
        }
    }
    let sod = SpawnOnDrop(Some(t));
    handles.push(ex.spawn_local(async move {
        let _s = sod;
        std::future::pending::<()>().await;
    }));
    drop(ex);
    assert_eq!(drops.count(), 101);
    for h in handles {
        assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    }
    assert_eq!(drops.count(), 101);
}

#[test]
fn free_spawn_functions_reach_the_current_executor() {
    let _w = watchdog("local_free_spawn", 30);
    assert!(ply_executor::try_spawn_local(async {}).is_err());
    let ex = LocalExecutor::new();
    let v = ex.block_on(async {
        let a = ply_executor::spawn(async { 1 });
        let b = ply_executor::spawn_local(async { Rc::new(2) });
        let c = ply_executor::spawn_blocking(|| 3);
        a.await.unwrap() + *b.await.unwrap() + c.await.unwrap()
    });
    assert_eq!(v, 6);
    let m = ex.metrics();
    assert_eq!(m.spawned, 2);
    assert_eq!(m.completed, 2);
}

#[test]
fn detached_task_keeps_running_and_output_is_dropped() {
    let _w = watchdog("local_detached", 30);
    let ex = LocalExecutor::new();
    let drops = DropCounter::default();
    let t = drops.token();
    drop(ex.spawn_local(async move {
        YieldTimes(3).await;
        t // the output, dropped by the executor since nobody joins
    }));
    ex.run_until_idle();
    assert_eq!(drops.count(), 1);
    assert_eq!(ex.num_tasks(), 0);
}

//! loom model of worker parking: a producer queues work and notifies while the worker
//! runs out of work, searches, parks and wakes. A lost wake-up leaves the worker parked
//! forever, which loom reports as a deadlock.
//!
//! The worker's steps mirror `worker::run`/`worker::park` with the run queue reduced to a
//! counter.

use super::idle::Idle;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::park::{Park, ThreadParker, Unpark};

/// One worker's loop until it has consumed `want` units of work.
fn worker(idle: &Idle, index: usize, work: &AtomicUsize, parker: &mut ThreadParker, want: usize) {
    let mut done = 0;
    let mut searching = false;
    while done < want {
        // Parking leaves the searching state; being notified re-enters it.
        // Look for work (steal / injection queue).
        if work
            .fetch_update(SeqCst, SeqCst, |w| w.checked_sub(1))
            .is_ok()
        {
            if searching {
                searching = false;
                // The last searcher would wake another worker here; with one worker the
                // notification finds no one else to wake.
                let _ = idle.transition_worker_from_searching();
            }
            done += 1;
            continue;
        }
        if !searching && idle.transition_worker_to_searching() {
            searching = true;
            continue;
        }
        // Park.
        // The re-check reads the queue after the SeqCst update of the counters; as in
        // `Idle::counts_after_publish`, an RMW stands for the SeqCst read under loom.
        if idle.transition_worker_to_parked(index, searching) && work.fetch_add(0, SeqCst) > 0 {
            // Last searcher saw work: notify (possibly itself).
            if let Some(i) = idle.worker_to_notify() {
                assert_eq!(i, index);
                parker.unparker().unpark();
            }
        }
        loop {
            parker.park();
            if !idle.is_parked(index) {
                searching = true;
                break;
            }
        }
    }
}

#[test]
fn loom_no_lost_wake_up_when_work_arrives_as_the_worker_parks() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let work = Arc::new(AtomicUsize::new(0));
        let mut parker = ThreadParker::new();
        let unparker = parker.unparker();
        let producer = {
            let (idle, work) = (idle.clone(), work.clone());
            loom::thread::spawn(move || {
                work.fetch_add(1, SeqCst);
                if idle.worker_to_notify().is_some() {
                    unparker.unpark();
                }
            })
        };
        worker(&idle, 0, &work, &mut parker, 1);
        producer.join().unwrap();
    });
}

#[test]
fn loom_two_tasks_from_two_producers() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let work = Arc::new(AtomicUsize::new(0));
        let mut parker = ThreadParker::new();
        let producers: Vec<_> = (0..2)
            .map(|_| {
                let (idle, work, unparker) = (idle.clone(), work.clone(), parker.unparker());
                loom::thread::spawn(move || {
                    work.fetch_add(1, SeqCst);
                    if idle.worker_to_notify().is_some() {
                        unparker.unpark();
                    }
                })
            })
            .collect();
        worker(&idle, 0, &work, &mut parker, 2);
        for p in producers {
            p.join().unwrap();
        }
    });
}

/// A worker of the two-worker model: takes work until `done`, parking in between, and
/// tells the main thread when it consumed something.
fn worker_until_done(
    idle: &Idle,
    index: usize,
    work: &AtomicUsize,
    done: &AtomicUsize,
    parker: &mut ThreadParker,
    unparkers: &[crate::park::ThreadUnparker],
    main: &crate::park::ThreadUnparker,
) {
    let mut searching = false;
    while done.load(SeqCst) == 0 {
        if work
            .fetch_update(SeqCst, SeqCst, |w| w.checked_sub(1))
            .is_ok()
        {
            if searching {
                searching = false;
                if idle.transition_worker_from_searching() {
                    if let Some(i) = idle.worker_to_notify() {
                        unparkers[i].unpark();
                    }
                }
            }
            main.unpark();
            continue;
        }
        if !searching && idle.transition_worker_to_searching() {
            searching = true;
            continue;
        }
        if idle.transition_worker_to_parked(index, searching) && work.fetch_add(0, SeqCst) > 0 {
            if let Some(i) = idle.worker_to_notify() {
                unparkers[i].unpark();
            }
        }
        loop {
            parker.park();
            if done.load(SeqCst) != 0 {
                return;
            }
            if !idle.is_parked(index) {
                searching = true;
                break;
            }
        }
    }
}

#[test]
fn loom_two_workers_one_task_wakes_exactly_enough() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let work = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut main_parker = ThreadParker::new();
        let main = main_parker.unparker();
        let parkers: Vec<ThreadParker> = (0..2).map(|_| ThreadParker::new()).collect();
        let unparkers: Vec<_> = parkers.iter().map(|p| p.unparker()).collect();
        let workers: Vec<_> = parkers
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                let (idle, work, done) = (idle.clone(), work.clone(), done.clone());
                let (unparkers, main) = (unparkers.clone(), main.clone());
                loom::thread::spawn(move || {
                    worker_until_done(&idle, i, &work, &done, &mut p, &unparkers, &main)
                })
            })
            .collect();
        // Produce one unit of work, then wait until a worker took it.
        work.fetch_add(1, SeqCst);
        if let Some(i) = idle.worker_to_notify() {
            unparkers[i].unpark();
        }
        while work.load(SeqCst) != 0 {
            main_parker.park();
        }
        done.store(1, SeqCst);
        for u in &unparkers {
            u.unpark();
        }
        for w in workers {
            w.join().unwrap();
        }
    });
}

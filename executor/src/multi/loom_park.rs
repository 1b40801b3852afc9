//! loom models of how the multi-threaded executor's workers park, running the shipped
//! code: [`Idle`] (which worker a new task wakes), [`go_idle`] (the worker's parking
//! sequence) and [`Parking`]/[`WorkerParker`] (one worker in the driver, the others on
//! condvars). Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-executor --lib -- loom_park`.
//!
//! A lost wake-up leaves a thread parked forever, which loom reports as a deadlock; the
//! models also assert where work and events end up.
//!
//! What they leave out:
//! - The driver is a [`ThreadParker`]: one shared wake token that whichever thread waits
//!   in it consumes, which is the contract of ply-reactor's wake (its own `ParkState`
//!   protocol has its own model, `loom_unpark` in ply-reactor). `epoll_wait` itself, the
//!   timer wheel, and wakes of tasks from inside the driver are not modelled: a task the
//!   driver "wakes" is a counter the model bumps.
//! - The run queues are counters (`work` for the stealable queues, `local` for what the
//!   driver put on a worker); the queue protocols have their own models (`loom_queue`).
//!   The part of the worker loop that takes work is the model's, written beside each
//!   model; everything from "nothing to run" to "woken" is the shipped [`go_idle`].
//! - At most three threads and two preemptions per execution (`LOOM_MAX_PREEMPTIONS=2`).

use super::idle::Idle;
use super::park::{go_idle, IdleWorker, Parked, Parking, Woken, WorkerParker, WorkerUnparker};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::park::{Park, ThreadParker, Unpark};

type Driver = ThreadParker;

/// Builds `n` worker parkers sharing a thread-parker driver; also returns the driver's
/// own unparker (what an I/O event or a timer would trigger).
fn parking(n: usize) -> (Vec<WorkerParker<Driver>>, <Driver as Park>::Unparker) {
    let driver = ThreadParker::new();
    let event = driver.unparker();
    let shared = Parking::new(n, Some(driver));
    let parkers = (0..n)
        .map(|i| WorkerParker::new(shared.clone(), i))
        .collect();
    (parkers, event)
}

/// The model's worker: shared counters stand in for the queues.
struct Env {
    idle: Idle,
    /// Tasks in the stealable queues (the injection queue, say).
    work: AtomicUsize,
    /// Set when the model is over.
    done: AtomicUsize,
    unparkers: Vec<WorkerUnparker<Driver>>,
}

impl Env {
    fn new(parkers: &[WorkerParker<Driver>]) -> Arc<Env> {
        Arc::new(Env {
            idle: Idle::new(parkers.len()),
            work: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            unparkers: parkers.iter().map(|p| p.unparker()).collect(),
        })
    }

    /// A producer: queue one task, wake a worker if `Idle` says so (what `Handle::spawn`
    /// does from outside the workers).
    fn spawn(&self) {
        self.work.fetch_add(1, SeqCst);
        if let Some(i) = self.idle.worker_to_notify() {
            self.unparkers[i].unpark();
        }
    }

    fn take(&self) -> bool {
        self.work
            .fetch_update(SeqCst, SeqCst, |w| w.checked_sub(1))
            .is_ok()
    }
}

impl IdleWorker for Env {
    fn has_local_work(&self) -> bool {
        false
    }

    fn notify_if_work_pending(&self) {
        // An RMW stands for the SeqCst read, as in `Idle::counts_after_publish`.
        if self.work.fetch_add(0, SeqCst) > 0 {
            if let Some(i) = self.idle.worker_to_notify() {
                self.unparkers[i].unpark();
            }
        }
    }

    fn is_shutdown(&self) -> bool {
        self.done.load(SeqCst) != 0
    }
}

/// The model's worker loop: take work, else search once, else park through the shipped
/// sequence; until `want` tasks are taken or the model is over.
fn worker(env: &Env, parker: &mut WorkerParker<Driver>, want: usize) -> usize {
    let mut taken = 0;
    let mut searching = false;
    while taken < want && !env.is_shutdown() {
        if env.take() {
            if searching {
                searching = false;
                if env.idle.transition_worker_from_searching() {
                    // The last searcher hands the search over (`run_task`).
                    if let Some(i) = env.idle.worker_to_notify() {
                        env.unparkers[i].unpark();
                    }
                }
            }
            taken += 1;
            continue;
        }
        if !searching && env.idle.transition_worker_to_searching() {
            searching = true;
            continue;
        }
        match go_idle(&env.idle, parker, std::mem::take(&mut searching), env) {
            Woken::Notified => searching = true,
            Woken::LocalWork => {}
            Woken::Shutdown => break,
        }
    }
    taken
}

/// Two workers share the driver, and two unparkers each aim at one of them. Whichever
/// worker holds the driver, each unpark ends the wait of the worker it was meant for: the
/// wake token in the driver cannot be consumed by the other worker. (The protocol this
/// replaces announced "in the driver" before taking it, and deadlocks here.)
#[test]
fn loom_park_two_workers_two_unparkers_share_the_driver() {
    loom::model(|| {
        let (parkers, _event) = parking(2);
        let unparkers: Vec<_> = parkers.iter().map(|p| p.unparker()).collect();
        let flags: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let workers: Vec<_> = parkers
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                let flags = flags.clone();
                loom::thread::spawn(move || {
                    while flags[i].load(SeqCst) == 0 {
                        if p.park() == Parked::Drove {
                            p.hand_off();
                        }
                    }
                })
            })
            .collect();
        let second = {
            let (flags, u) = (flags.clone(), unparkers[1].clone());
            loom::thread::spawn(move || {
                flags[1].store(1, SeqCst);
                u.unpark();
            })
        };
        flags[0].store(1, SeqCst);
        unparkers[0].unpark();
        second.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// One worker, alone with the driver, runs out of work and parks while a producer outside
/// spawns: the spawn may land before the worker tells `Idle` it parks, between that and
/// taking the driver, or while it waits in it. The worker always takes the task.
#[test]
fn loom_park_spawn_races_a_worker_entering_the_driver() {
    loom::model(|| {
        let (mut parkers, _event) = parking(1);
        let env = Env::new(&parkers);
        let producer = {
            let env = env.clone();
            loom::thread::spawn(move || env.spawn())
        };
        assert_eq!(worker(&env, &mut parkers[0], 1), 1);
        producer.join().unwrap();
    });
}

/// Two workers (one waits in the driver, one on its condvar) and one task from outside:
/// the notification may arrive between a worker's last look at the queues and its wait
/// (in the kernel or on the condvar). Some worker takes the task; then both are told to
/// stop and both return.
#[test]
fn loom_park_notification_between_check_and_block() {
    loom::model(|| {
        let (parkers, _event) = parking(2);
        let env = Env::new(&parkers);
        let workers: Vec<_> = parkers
            .into_iter()
            .map(|mut p| {
                let env = env.clone();
                loom::thread::spawn(move || worker(&env, &mut p, 1))
            })
            .collect();
        env.spawn();
        // Wait (without a parker of our own: spin through loom) until a worker took it.
        while env.work.load(SeqCst) != 0 {
            loom::thread::yield_now();
        }
        env.done.store(1, SeqCst);
        for u in &env.unparkers {
            u.unpark();
        }
        let taken: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(taken, 1);
    });
}

/// The driver-interval tick: a busy worker takes a zero-timeout turn of the driver
/// (`drive_now`) while the other worker goes idle, and then stays busy for good. An event
/// that arrives afterwards (the driver's own wake: I/O or a timer) is still seen by a
/// worker waiting in the driver: the idle worker never stays on its condvar while nobody
/// drives.
#[test]
fn loom_park_driver_interval_turn_leaves_someone_driving() {
    loom::model(|| {
        let (mut parkers, event) = parking(2);
        let mut idle_worker = parkers.pop().unwrap();
        let mut busy = parkers.pop().unwrap();
        let fired = Arc::new(AtomicUsize::new(0));
        let seen = {
            let fired = fired.clone();
            loom::thread::spawn(move || {
                // Idle: park until a driver turn saw the event.
                while !(idle_worker.park() == Parked::Drove && fired.load(SeqCst) != 0) {}
            })
        };
        // The busy worker's interval turn, then it never parks again.
        let _ = busy.drive_now();
        fired.store(1, SeqCst);
        event.unpark();
        seen.join().unwrap();
    });
}

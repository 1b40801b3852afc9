//! The reactor's cooperative-budget path, end to end: an always-readable `Async` source
//! under a ply executor yields once the executor's budget is spent, when the reactor was
//! given that budget; a reactor built without one never makes it yield.

mod util;

use std::cell::Cell;
use std::fs::File;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::Duration;

use ply_executor::LocalExecutor;
use ply_reactor::{Async, Reactor};

const LIMIT: Duration = Duration::from_secs(20);

/// Far more ready polls than one budget allows (ply-executor's is 128 units).
const READS: usize = 4 * ply_executor::coop::INITIAL_BUDGET as usize;

/// Runs, on one `LocalExecutor`, a task that awaits `readable()` `READS` times on a pipe
/// that always holds a byte, next to a task that only records when it ran. Returns how
/// many ready polls the first task had made when the second one ran.
fn reads_before_the_neighbour_ran(reactor: &Reactor) -> usize {
    let (r, w) = ply_sys::pipe().unwrap();
    let r = Async::new_in(File::from(r), reactor).unwrap();
    // The byte is never read, so the pipe stays readable: an always-ready source.
    ply_sys::write(w.as_fd(), b"x").unwrap();
    // Deliver the one edge-triggered event, so the registration knows it is readable.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    while r.registration().poll_read_ready(&mut cx).is_pending() {
        reactor.poll(Some(Duration::from_millis(10))).unwrap();
    }

    let ex = LocalExecutor::new();
    let done = Rc::new(Cell::new(0usize));
    let seen = Rc::new(Cell::new(None));
    let busy = {
        let done = done.clone();
        ex.spawn_local(async move {
            for _ in 0..READS {
                r.readable().await.unwrap();
                done.set(done.get() + 1);
            }
        })
    };
    let neighbour = {
        let (done, seen) = (done.clone(), seen.clone());
        ex.spawn_local(async move { seen.set(Some(done.get())) })
    };
    ex.run_until_idle();
    assert_eq!(done.get(), READS, "the busy task finished");
    drop((busy, neighbour));
    seen.get().expect("the neighbour ran")
}

#[test]
fn an_always_readable_source_yields_once_the_budget_is_spent() {
    let _w = util::watchdog(
        "an_always_readable_source_yields_once_the_budget_is_spent",
        LIMIT,
    );
    let reactor = Reactor::builder()
        .budget(ply_executor::coop::poll_proceed)
        .build()
        .unwrap();
    let at = reads_before_the_neighbour_ran(&reactor);
    // The busy task ran first (spawned first) and yielded when its budget ran out: at
    // most one budget's worth of ready polls, and certainly not all of them.
    assert!(
        at <= ply_executor::coop::INITIAL_BUDGET as usize,
        "the neighbour ran after {at} reads"
    );
    assert!(at > 0, "the busy task ran first");
}

#[test]
fn without_a_budget_an_always_readable_source_never_yields() {
    let _w = util::watchdog(
        "without_a_budget_an_always_readable_source_never_yields",
        LIMIT,
    );
    // A runtime built in this process gives *its* reactor the budget; this hand-built
    // reactor has none, and is not affected.
    let _rt = util::current_thread();
    let reactor = Reactor::new().unwrap();
    assert_eq!(reads_before_the_neighbour_ran(&reactor), READS);
}

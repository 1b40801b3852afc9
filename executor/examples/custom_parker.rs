//! Plugging an event source into ply-executor through the parking seam.
//!
//! A `LocalExecutor` that has nothing to run calls `Park::park` on its parker. Here the
//! parker owns a tiny timer queue: instead of sleeping until unparked, it sleeps until
//! the earliest deadline (`park_timeout`), then wakes the tasks whose deadline passed.
//! ply-net does the same with the reactor: it waits in `epoll_wait` with the timer
//! wheel's next deadline as the timeout, then dispatches I/O events and fires timers.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ply-executor --example custom_parker
//! ```

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ply_executor::park::{Park, ThreadParker};
use ply_executor::LocalExecutor;

/// Deadlines and the wakers waiting for them, earliest first.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: Vec<(u64, Waker)>,
    next_id: u64,
}

impl Timers {
    /// Wakes every timer whose deadline has passed.
    fn fire_due(&mut self, now: Instant) {
        while let Some(Reverse((deadline, id))) = self.heap.peek().copied() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if let Some(pos) = self.wakers.iter().position(|(i, _)| *i == id) {
                self.wakers.swap_remove(pos).1.wake();
            }
        }
    }
}

/// A parker that waits until the next timer deadline, then fires due timers.
struct TimerParker {
    thread: ThreadParker,
    timers: Rc<RefCell<Timers>>,
}

impl Park for TimerParker {
    // Cross-thread wake-ups still go through the thread parker's unparker.
    type Unparker = <ThreadParker as Park>::Unparker;

    fn unparker(&self) -> Self::Unparker {
        self.thread.unparker()
    }

    fn park(&mut self) {
        let next = self.timers.borrow().heap.peek().map(|Reverse((d, _))| *d);
        match next {
            Some(deadline) => {
                let timeout = deadline.saturating_duration_since(Instant::now());
                self.thread.park_timeout(timeout);
            }
            None => self.thread.park(),
        }
        // Waking tasks from inside `park` is allowed: the executor holds no borrow of its
        // queues while parked, and looks at them again as soon as `park` returns.
        self.timers.borrow_mut().fire_due(Instant::now());
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.thread.park_timeout(timeout);
        self.timers.borrow_mut().fire_due(Instant::now());
    }
}

/// A future that completes at `deadline`, registered with the parker's timers.
struct Sleep {
    deadline: Instant,
    timers: Rc<RefCell<Timers>>,
    id: Option<u64>,
}

fn sleep(timers: &Rc<RefCell<Timers>>, d: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now() + d,
        timers: timers.clone(),
        id: None,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let mut timers = self.timers.borrow_mut();
        match self.id {
            Some(id) => {
                // Polled again before the deadline: refresh the waker.
                if let Some(slot) = timers.wakers.iter_mut().find(|(i, _)| *i == id) {
                    slot.1 = cx.waker().clone();
                }
            }
            None => {
                let id = timers.next_id;
                timers.next_id += 1;
                timers.heap.push(Reverse((deadline, id)));
                timers.wakers.push((id, cx.waker().clone()));
                drop(timers);
                self.id = Some(id);
            }
        }
        Poll::Pending
    }
}

fn main() {
    let timers = Rc::new(RefCell::new(Timers::default()));
    let ex = LocalExecutor::with_parker(TimerParker {
        thread: ThreadParker::new(),
        timers: timers.clone(),
    });

    let order = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    for (name, ms) in [("slow", 30), ("fast", 10), ("medium", 20)] {
        let (timers, order) = (timers.clone(), order.clone());
        // `spawn_local`: these futures hold `Rc`s, they are not `Send`.
        drop(ex.spawn_local(async move {
            sleep(&timers, Duration::from_millis(ms)).await;
            order.borrow_mut().push(name);
        }));
    }
    // The main future waits for the last timer, interleaved with the tasks.
    ex.block_on(sleep(&timers, Duration::from_millis(40)));

    let elapsed = start.elapsed();
    println!("woke in order {:?} after {elapsed:?}", order.borrow());
    assert_eq!(*order.borrow(), ["fast", "medium", "slow"]);
    assert!(elapsed >= Duration::from_millis(40));
    let m = ex.metrics();
    println!(
        "executor: {} tasks spawned, {} polls, {} parks",
        m.spawned, m.polled, m.parks
    );
}

//! The blocking pool: threads for work that would stall an executor.
//!
//! A blocking function becomes an ordinary task (so it has a [`JoinHandle`], catches
//! panics and can be aborted before it starts) whose future calls the function once. The
//! task's scheduling hook puts it on the pool's queue. The pool:
//!
//! - starts a thread only when a task arrives and no thread is idle, up to a bound;
//! - lets a thread exit after it has been idle for `keep_alive`;
//! - at shutdown, cancels the queued tasks (their `JoinHandle`s resolve to a cancelled
//!   error) and lets the running ones finish on their own, detached.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::task::{self, JoinHandle, Schedule, Task};

/// Default bound on the number of blocking threads of one pool.
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle blocking thread waits for work before exiting.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A handle to a blocking pool; clones share the pool.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<PoolState>,
    cond: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    name: String,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Task>,
    /// Live threads.
    threads: usize,
    /// Threads waiting on the condvar that no one has claimed yet.
    idle: usize,
    /// Wake-ups handed to idle threads and not yet consumed.
    notified: usize,
    shutdown: bool,
}

/// The future of a blocking task: calls the function on its first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration, name: String) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(PoolState::default()),
                cond: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                name,
            }),
        }
    }

    /// The pool used by [`spawn_blocking`](crate::spawn_blocking) outside any executor.
    pub(crate) fn global() -> &'static BlockingPool {
        static GLOBAL: OnceLock<BlockingPool> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            BlockingPool::new(
                DEFAULT_MAX_THREADS,
                DEFAULT_KEEP_ALIVE,
                "ply-blocking".into(),
            )
        })
    }

    pub(crate) fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, join, _) = task::new(BlockingTask(Some(f)), self.inner.clone(), false);
        self.inner.schedule(task);
        join
    }

    /// Cancels queued tasks and tells idle threads to exit. Running tasks finish detached.
    pub(crate) fn shutdown(&self) {
        let queued = {
            let mut st = self.inner.state.lock();
            st.shutdown = true;
            std::mem::take(&mut st.queue)
        };
        self.inner.cond.notify_all();
        for task in queued {
            task.cancel();
        }
    }

    /// After [`shutdown`](Self::shutdown): waits up to `timeout` for the running blocking
    /// tasks to finish and their threads to exit. Returns `true` if they all did.
    pub(crate) fn wait_for_threads(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.inner.state.lock();
        while st.threads > 0 {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let (guard, _) = self.inner.cond.wait_timeout(st, deadline - now);
            st = guard;
        }
        true
    }

    /// The number of live threads (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn num_threads(&self) -> usize {
        self.inner.state.lock().threads
    }
}

impl Schedule for Arc<Inner> {
    fn schedule(&self, task: Task) {
        let mut st = self.state.lock();
        if st.shutdown {
            drop(st);
            task.cancel();
            return;
        }
        st.queue.push_back(task);
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            drop(st);
            self.cond.notify_one();
        } else if st.threads < self.max_threads {
            st.threads += 1;
            drop(st);
            let inner = self.clone();
            let spawned = std::thread::Builder::new()
                .name(self.name.clone())
                .spawn(move || inner.run());
            if spawned.is_err() {
                // Out of threads: the task stays queued for the threads that exist. With
                // none at all, run it here rather than never.
                let mut st = self.state.lock();
                st.threads -= 1;
                if st.threads == 0 {
                    if let Some(task) = st.queue.pop_front() {
                        drop(st);
                        let _ = task.run();
                    }
                }
            }
        }
    }
}

impl Inner {
    fn run(&self) {
        let mut st = self.state.lock();
        loop {
            if let Some(task) = st.queue.pop_front() {
                drop(st);
                let _ = task.run();
                st = self.state.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (guard, timed_out) = self.cond.wait_timeout(st, self.keep_alive);
            st = guard;
            if st.notified > 0 {
                // Claimed by a spawner (or a wake-up meant for another idle thread, which
                // is the same thing: someone must look at the queue).
                st.notified -= 1;
                continue;
            }
            st.idle -= 1;
            if timed_out && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        if st.shutdown && st.threads == 0 {
            // Someone may wait for the pool to empty (`wait_for_threads`).
            self.cond.notify_all();
        }
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &st.threads)
            .field("idle", &st.idle)
            .field("queued", &st.queue.len())
            .field("max_threads", &self.inner.max_threads)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn runs_and_threads_exit_when_idle() {
        let pool = BlockingPool::new(2, Duration::from_millis(20), "t-blocking".into());
        let handles: Vec<_> = (0..8).map(|i| pool.spawn(move || i * 2)).collect();
        let out: Vec<_> = handles
            .into_iter()
            .map(|h| crate::block_on(h).unwrap())
            .collect();
        assert_eq!(out, (0..8).map(|i| i * 2).collect::<Vec<_>>());
        assert!(pool.num_threads() <= 2);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.num_threads() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "idle threads never exited"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // A new task starts a thread again.
        assert_eq!(crate::block_on(pool.spawn(|| 7)).unwrap(), 7);
    }

    #[test]
    fn panics_surface_and_shutdown_cancels_queued() {
        let pool = BlockingPool::new(1, Duration::from_secs(5), "t-blocking".into());
        let err = crate::block_on(pool.spawn(|| panic!("in blocking"))).unwrap_err();
        assert!(err.is_panic());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let running = pool.spawn(move || {
            started_tx.send(()).unwrap();
            rx.recv().unwrap()
        });
        let queued = pool.spawn(|| 1);
        // The single thread is busy with `running`, so `queued` waits in the queue.
        started_rx.recv().unwrap();
        pool.shutdown();
        tx.send(()).unwrap();
        assert!(crate::block_on(running).is_ok());
        assert!(crate::block_on(queued).unwrap_err().is_cancelled());
        assert!(crate::block_on(pool.spawn(|| 2))
            .unwrap_err()
            .is_cancelled());
    }
}

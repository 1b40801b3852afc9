//! Tasks and executors for ply: the layer that runs futures.
//!
//! `ply-executor` provides:
//!
//! - **Tasks**: one allocation per spawned future, a [`JoinHandle`] to await its output (or
//!   [`abort`](JoinHandle::abort) it), and panics caught into a [`JoinError`].
//! - [`block_on`]: run one future on the current thread, no executor needed.
//! - [`LocalExecutor`]: single-threaded, runs `!Send` futures, accepts wake-ups from any
//!   thread.
//! - [`Executor`]: multi-threaded, with per-worker queues, work stealing, a LIFO slot and a
//!   shared injection queue.
//! - [`coop`]: the cooperative budget that makes a busy task yield.
//! - [`spawn_blocking`]: a bounded pool for blocking work.
//! - [`park`]: the seam through which an idle executor waits. The default parks the
//!   thread; a reactor plugs in here.
//! - [`Metrics`]: per-worker counters of spawns, polls, completions, steals and parks.
//!
//! It depends on neither ply's reactor nor its timer: only on `futures-core`,
//! `pin-project-lite` and `parking_lot`.
//!
//! # Who should depend on it
//!
//! Depend on `ply-executor` to run futures with executors you configure yourself, to plug
//! in your own event loop through [`park::Park`], or to write leaf futures that respect
//! [`coop`]. If you want TCP, timers and an executor that are wired together, depend on
//! `ply-net` instead, whose `Runtime` is built on this crate.
//!
//! # Examples
//!
//! ```
//! use ply_executor::{Executor, LocalExecutor};
//!
//! // The multi-threaded executor.
//! let ex = Executor::builder().worker_threads(2).build()?;
//! let sum = ex.block_on(async {
//!     let tasks: Vec<_> = (1..=10u32).map(|i| ply_executor::spawn(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for t in tasks {
//!         sum += t.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(sum, 385);
//!
//! // The single-threaded one, with a `!Send` future.
//! let local = LocalExecutor::new();
//! let rc = std::rc::Rc::new(5);
//! let task = local.spawn_local(async move { *rc + 1 });
//! assert_eq!(local.block_on(task).unwrap(), 6);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The design (task state machine, run queues and stealing, parking, custom parkers) is
//! described in `docs/executor.md` in the repository.

#[cfg(not(loom))]
mod assertions;
mod block_on;
mod blocking;
mod context;
pub mod coop;
mod local;
mod loom;
mod metrics;
mod multi;
pub mod park;
mod task;

pub use block_on::{block_on, block_on_with};
pub use context::{spawn, spawn_blocking, spawn_local, try_spawn, try_spawn_local, SpawnError};
pub use coop::yield_now;
pub use local::{LocalExecutor, LocalSpawner};
pub use metrics::Metrics;
pub use multi::{Builder, Executor, Handle};
pub use task::{task_id, try_task_id, AbortHandle, Id, JoinError, JoinHandle, JoinSet};

/// This crate's `README.md`, whose Rust code blocks run as this crate's doctests, so that
/// `cargo test` of this crate alone checks its README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

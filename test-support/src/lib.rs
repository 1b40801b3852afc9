//! Helpers shared by the tests of every ply crate, written once.
//!
//! Each crate's `tests/util/mod.rs` re-exports this crate (`pub use ply_test_support::*;`)
//! and adds only what needs that crate's own types, so a test file writes `mod util;` and
//! `use util::{watchdog, fd_count};` whichever crate it lives in.
//!
//! This crate is a dev-dependency only, never published, and depends on std and libc
//! alone: a ply crate can use it without a cycle.
//!
//! - [`watchdog`] and [`with_watchdog`]: a hang fails the test instead of blocking CI,
//!   with the bound ten times as long under valgrind ([`time_limit`]).
//! - [`fd_count`], [`raise_fd_limit`], [`has_ipv6`], [`wait_fd`], [`curl`]: the process
//!   and the machine.
//! - [`Rng`], [`pattern`], [`checksum`]: seeded data without a dependency.
//! - [`TempDir`], [`serial`]: a scratch directory, and tests of one binary taking turns.
//! - [`panicking_waker`], [`flag_waker`], [`count_waker`], [`log_waker`], [`poll_once`],
//!   [`poll_with`]: wakers that record or misbehave, and polling by hand.

mod data;
mod os;
mod wakers;
mod watchdog;

pub use data::{checksum, pattern, Rng};
pub use os::{curl, fd_count, has_ipv6, raise_fd_limit, serial, wait_fd, TempDir};
pub use wakers::{
    count_waker, flag_waker, log_waker, panicking_waker, poll_once, poll_with, CountWaker,
    FlagWaker, LogWaker, PanickingWaker,
};
pub use watchdog::{time_limit, watchdog, with_watchdog, Watchdog};

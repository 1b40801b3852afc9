//! Helpers shared by the timer's integration tests: all of ply-test-support, re-exported so a
//! test file writes `mod util;` and `use util::{watchdog, ...};`.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub(crate) use ply_test_support::*;

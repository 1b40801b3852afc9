//! Shared harness for ply's benchmarks.
//!
//! The comparison, the flag parser, the RNG and the plotting tail are the examples'
//! own files (`examples/src/{compare,args,rng,plot}.rs`), compiled here too with
//! `#[path]`: bench is a workspace of its own and cannot depend on ply-examples without
//! building axum and hyper-util into every benchmark, and the files are std-only (plot.rs
//! needs only plotters, which both crates build with the same features). One copy each.
//!
//! Wall-clock time on a small shared machine drifts by 20% or more within minutes, so a
//! benchmark here never compares two numbers taken at different times. Instead every
//! contender runs once per *round*, in a rotating order, for many rounds; each contender's
//! median over the rounds is reported, and so is the median of the per-round *ratios*
//! against the first contender, which cancels most of the drift.

#[path = "../../examples/src/args.rs"]
pub mod args;
#[path = "../../examples/src/compare.rs"]
pub mod compare;
#[path = "../../examples/src/plot.rs"]
pub mod plot;
#[path = "../../examples/src/rng.rs"]
pub mod rng;

pub mod alloc;

pub use alloc::{allocated_by, CountingAlloc};
pub use args::{arg_or, arg_switch, only};
pub use compare::{compare, median_duration, median_f64, print_table, Contender, Row};
pub use rng::Rng;

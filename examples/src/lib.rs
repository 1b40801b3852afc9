//! Small helpers shared by the ply examples and experiments: the one flag parser
//! ([`args`]), loopback address checks, a latency histogram, the table that shows what
//! each layer of a [`ply_net::Runtime`] did, and for the experiments the fair comparison
//! ([`compare`]), `/proc` readings ([`proc`]), a seeded RNG ([`rng`]) and the plotting
//! tail ([`plot`]).
//!
//! The examples themselves live in `src/bin/`; each opens with a header saying what it
//! shows and the command that runs it. Nothing here is part of ply's API: it keeps the
//! examples short and their error handling uniform (a bad flag prints the usage and exits
//! with status 2; nothing panics on user input).

pub mod args;
pub mod compare;
pub mod experiment;
pub mod fmt;
pub mod histogram;
pub mod plot;
pub mod proc;
pub mod rng;
pub mod runtime;

pub use args::{
    arg_or, arg_switch, count, default_threads, loopback_addr, only, seconds, threads, usage_error,
    Args,
};
pub use fmt::{human_duration, thousands};
pub use histogram::Histogram;
pub use runtime::{block_sigint, build_runtime, describe_runtime, layer_table, start_runtime};

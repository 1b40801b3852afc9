//! Compile-time checks that the public types are `Send` and `Sync` where they should be.

#![allow(dead_code, reason = "the functions exist only to be type-checked")]

use crate::{
    Builder, Elapsed, Interval, Metrics, MissedTickBehavior, Sleep, Timeout, Timer, TimerHandle,
};

fn is_send_sync<T: Send + Sync>() {}
fn is_send<T: Send>() {}

const _: fn() = || {
    is_send_sync::<Timer>();
    is_send_sync::<TimerHandle>();
    is_send_sync::<Sleep>();
    is_send_sync::<Timeout<std::future::Pending<()>>>();
    is_send_sync::<Interval>();
    is_send_sync::<Metrics>();
    is_send_sync::<Elapsed>();
    is_send_sync::<MissedTickBehavior>();
    is_send::<Builder>();
};

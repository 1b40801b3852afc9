//! Compile-time checks that the public types are `Send` and `Sync` where they should be.

use crate::{
    Builder, Elapsed, Interval, Metrics, MissedTickBehavior, Sleep, Timeout, Timer, TimerHandle,
};

/// Compiles only if `T: Send + Sync`.
const fn send_sync<T: Send + Sync>() {}

/// Compiles only if `T: Send`.
const fn send<T: Send>() {}

const _: () = {
    send_sync::<Timer>();
    send_sync::<TimerHandle>();
    send_sync::<Sleep>();
    send_sync::<Timeout<std::future::Pending<()>>>();
    send_sync::<Interval>();
    send_sync::<Metrics>();
    send_sync::<Elapsed>();
    send_sync::<MissedTickBehavior>();
    send::<Builder>();
};

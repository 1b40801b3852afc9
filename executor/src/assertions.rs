//! Compile-time checks that the public types are `Send`/`Sync` where they should be, and
//! are not where they must not be.

use crate::{
    park, AbortHandle, Builder, Executor, Handle, Id, JoinError, JoinHandle, JoinSet, LocalSpawner,
    Metrics, SpawnError,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Executor>();
    send_sync::<Handle>();
    send_sync::<JoinHandle<u32>>();
    send_sync::<JoinError>();
    send_sync::<Metrics>();
    send_sync::<SpawnError>();
    send_sync::<AbortHandle>();
    send_sync::<Id>();
    send_sync::<LocalSpawner>();
    send_sync::<JoinSet<u32>>();
    send_sync::<park::ThreadUnparker>();
    send::<park::ThreadParker>();
    send::<Builder>();
}

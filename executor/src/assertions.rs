//! Compile-time checks that the public types are `Send`/`Sync` where they should be, and
//! are not where they must not be. Nothing here runs: a wrong bound fails the build.

use crate::{
    park, AbortHandle, Builder, Executor, Handle, Id, JoinError, JoinHandle, JoinSet,
    LocalExecutor, LocalSpawner, Metrics, SpawnError,
};

/// Compiles only if `T: Send + Sync`.
const fn send_sync<T: Send + Sync>() {}

/// Compiles only if `T: Send`.
const fn send<T: Send>() {}

/// `<T as NotSend<_>>::OK` compiles only if `T` is *not* `Send`: for a `Send` type both
/// impls apply and the `_` is ambiguous.
trait NotSend<A> {
    const OK: () = ();
}
impl<T: ?Sized> NotSend<()> for T {}
/// The impl that makes a `Send` type ambiguous.
struct IsSend;
impl<T: ?Sized + Send> NotSend<IsSend> for T {}

/// `<T as NotSync<_>>::OK` compiles only if `T` is *not* `Sync` (as [`NotSend`]).
trait NotSync<A> {
    const OK: () = ();
}
impl<T: ?Sized> NotSync<()> for T {}
/// The impl that makes a `Sync` type ambiguous.
struct IsSync;
impl<T: ?Sized + Sync> NotSync<IsSync> for T {}

const _: () = {
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
    // A `LocalExecutor` runs `!Send` futures on the thread that made it: it must stay there.
    let () = <LocalExecutor as NotSend<_>>::OK;
    let () = <LocalExecutor as NotSync<_>>::OK;
};

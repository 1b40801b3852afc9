//! Wakers that panic when the reactor calls them: the reactor catches, counts and carries
//! on, so later I/O still completes (issue 12).

mod util;

use futures::{AsyncReadExt, AsyncWriteExt};
use ply_reactor::{Async, Reactor};
use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};
use util::{panicking_waker, watchdog, FlagWaker as Flag};

/// Waits (bounded) until `cond` holds.
fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_panicking_waker_does_not_kill_the_reactor_thread() {
    let _guard = watchdog("reactor thread survives", Duration::from_secs(60));
    let global = Reactor::global().unwrap();
    let before = global.stats().waker_panics;

    // A registration of the global reactor whose only waiter panics when woken.
    let (r, w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &global).unwrap();
    let waker = panicking_waker();
    assert!(reader
        .poll_readable(&mut Context::from_waker(&waker))
        .is_pending());
    (&File::from(w)).write_all(b"x").unwrap();
    // The global thread wakes it, the waker panics; the reactor counts it.
    wait_until("the waker panic counted", Duration::from_secs(20), || {
        global.stats().waker_panics > before
    });

    // The reactor thread is alive: a normal read through it completes.
    let (r, w) = ply_sys::pipe().unwrap();
    let mut reader = Async::new_in(File::from(r), &global).unwrap();
    let mut writer = Async::new_in(File::from(w), &global).unwrap();
    let got = futures::executor::block_on(async {
        let read = async {
            let mut buf = [0; 5];
            reader.read_exact(&mut buf).await.map(|()| buf)
        };
        let write = async {
            // Let the reader wait first, so the reactor thread must wake it.
            std::thread::sleep(Duration::from_millis(20));
            writer.write_all(b"hello").await
        };
        futures::join!(read, write)
    });
    assert_eq!(got.0.unwrap(), *b"hello");
    got.1.unwrap();
}

#[test]
fn one_panicking_waker_does_not_stop_the_wakes_after_it() {
    let _guard = watchdog("batch goes on", Duration::from_secs(60));
    let reactor = Reactor::new().unwrap();
    let (r, w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    let (r2, w2) = ply_sys::pipe().unwrap();
    let reader2 = Async::new_in(File::from(r2), &reactor).unwrap();

    // Two waiters on one direction (the panicking one first) and one on another fd: all
    // in the same reactor turn's batch.
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let flag2 = Arc::new(Flag(AtomicBool::new(false)));
    let panicking = panicking_waker();
    let (good, good2) = (Waker::from(flag.clone()), Waker::from(flag2.clone()));
    assert!(reader
        .poll_readable(&mut Context::from_waker(&panicking))
        .is_pending());
    assert!(reader
        .poll_readable(&mut Context::from_waker(&good))
        .is_pending());
    assert!(reader2
        .poll_readable(&mut Context::from_waker(&good2))
        .is_pending());
    (&File::from(w)).write_all(b"x").unwrap();
    (&File::from(w2)).write_all(b"y").unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut woken = 0;
    while !(flag.0.load(Ordering::SeqCst) && flag2.0.load(Ordering::SeqCst)) {
        assert!(
            Instant::now() < deadline,
            "the wakes after the panic were lost"
        );
        // The reactor turn returns normally despite the panic inside it.
        woken += reactor.poll(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(woken, 3);
    assert_eq!(reactor.stats().waker_panics, 1);
    assert_eq!(reactor.stats().wakes, 3);

    // And the registration still works: the data is there to read.
    let mut buf = [0; 1];
    assert_eq!(reader.get_ref().read(&mut buf).unwrap(), 1);
    assert_eq!(&buf, b"x");
}

#[test]
fn panicking_wakers_at_shutdown_and_at_deregistration_are_caught() {
    let _guard = watchdog("shutdown and drop", Duration::from_secs(60));

    /// A waker whose drop panics (when its last handle goes).
    struct PanicsOnDrop;
    impl Wake for PanicsOnDrop {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("this waker's drop panics on purpose");
        }
    }

    let reactor = Reactor::new().unwrap();
    let (r, _w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    let waker = Waker::from(Arc::new(PanicsOnDrop));
    assert!(reader
        .poll_readable(&mut Context::from_waker(&waker))
        .is_pending());
    // The reactor holds the only other handle to it: drop ours first, so that the
    // reactor's drop is the last one, which panics.
    drop(waker);
    drop(reader);
    assert_eq!(reactor.stats().waker_panics, 1, "the deregistration drop");

    let (r, _w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let panicking = panicking_waker();
    let good = Waker::from(flag.clone());
    assert!(reader
        .poll_readable(&mut Context::from_waker(&panicking))
        .is_pending());
    assert!(reader
        .poll_readable(&mut Context::from_waker(&good))
        .is_pending());
    reactor.shutdown();
    assert_eq!(reactor.stats().waker_panics, 2, "the shutdown wake");
    assert!(
        flag.0.load(Ordering::SeqCst),
        "the waker after it was woken"
    );
    assert!(futures::executor::block_on(reader.readable()).is_err());
}

#[test]
fn the_waker_panic_hook_sees_each_payload_and_may_panic_itself() {
    let _guard = watchdog("waker panic hook", Duration::from_secs(60));
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    fn hook(payload: &(dyn std::any::Any + Send)) {
        let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
        SEEN.lock().unwrap().push(msg.to_owned());
        panic!("and the hook panics too");
    }

    let reactor = Reactor::builder().on_waker_panic(hook).build().unwrap();
    let (r, w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let (panicking, good) = (panicking_waker(), Waker::from(flag.clone()));
    for waker in [&panicking, &good] {
        assert!(reader
            .poll_readable(&mut Context::from_waker(waker))
            .is_pending());
    }
    (&File::from(w)).write_all(b"x").unwrap();
    wait_until("the wake", Duration::from_secs(20), || {
        reactor.poll(Some(Duration::from_millis(10))).unwrap();
        flag.0.load(Ordering::SeqCst)
    });
    assert_eq!(reactor.stats().waker_panics, 1);
    assert_eq!(*SEEN.lock().unwrap(), ["this waker panics on purpose"]);
    // A reactor built without the hook does not call it.
    let plain = Reactor::new().unwrap();
    let (r, _w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &plain).unwrap();
    assert!(reader
        .poll_readable(&mut Context::from_waker(&panicking))
        .is_pending());
    plain.shutdown();
    assert_eq!(plain.stats().waker_panics, 1);
    assert_eq!(SEEN.lock().unwrap().len(), 1, "the other reactor's hook");
}

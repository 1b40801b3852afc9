//! The test clock: `Builder::start_paused`, `Handle::pause`/`advance`/`resume`, the
//! `ply_net::time` functions, and auto-advance (the clock jumps to the next deadline when
//! every task waits and no I/O is ready; ready I/O always runs first).

mod util;

use ply_net::{time, Runtime, TcpListener, TcpStream};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::watchdog;

const HOUR: Duration = Duration::from_secs(3600);

/// A current-thread runtime whose clock starts paused, on this run's selector.
fn paused() -> Runtime {
    Runtime::builder()
        .current_thread()
        .selector(util::backend())
        .start_paused(true)
        .build()
        .expect("build a paused runtime")
}

#[test]
fn a_test_sleeping_an_hour_finishes_at_once_and_sees_an_hour_pass() {
    let _w = watchdog("hour sleep", Duration::from_secs(30));
    let rt = paused();
    let wall = Instant::now();
    let (virtual_elapsed, timer_elapsed) = rt.block_on(async {
        let start = time::now();
        let handle = ply_net::Handle::current();
        let timer_start = handle.timer().now();
        assert!(handle.timer().is_paused());
        ply_net::sleep(HOUR).await;
        (time::now() - start, handle.timer().now() - timer_start)
    });
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "{:?}",
        wall.elapsed()
    );
    assert!(virtual_elapsed >= HOUR, "{virtual_elapsed:?}");
    // Auto-advance jumps to the deadline's tick (1 ms), never far past it.
    assert!(
        virtual_elapsed < HOUR + Duration::from_secs(1),
        "{virtual_elapsed:?}"
    );
    assert_eq!(virtual_elapsed, timer_elapsed, "one clock");
}

#[test]
fn sleeps_wake_in_deadline_order_under_auto_advance() {
    let _w = watchdog("sleep ordering", Duration::from_secs(30));
    let rt = paused();
    let wall = Instant::now();
    let minutes = [30u64, 10, 50, 20, 40, 1, 600];
    let woke = rt.block_on(async {
        let start = time::now();
        let woke = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = minutes
            .iter()
            .map(|&m| {
                let woke = woke.clone();
                // Created here, so every deadline counts from the same instant.
                let sleep = ply_net::sleep(Duration::from_secs(60 * m));
                ply_net::spawn(async move {
                    sleep.await;
                    woke.lock().unwrap().push((m, time::now() - start));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(woke).unwrap().into_inner().unwrap()
    });
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "{:?}",
        wall.elapsed()
    );
    let mut sorted = minutes.to_vec();
    sorted.sort_unstable();
    let order: Vec<u64> = woke.iter().map(|&(m, _)| m).collect();
    assert_eq!(order, sorted, "woken in deadline order");
    for (m, seen) in woke {
        let due = Duration::from_secs(60 * m);
        assert!(
            seen >= due && seen < due + Duration::from_secs(1),
            "{m} min: {seen:?}"
        );
    }
}

#[test]
fn a_timeout_of_a_never_ready_future_fires_at_once() {
    let _w = watchdog("timeout under pause", Duration::from_secs(30));
    let rt = paused();
    let wall = Instant::now();
    let (res, elapsed) = rt.block_on(async {
        let start = time::now();
        let res = time::timeout(HOUR, std::future::pending::<()>()).await;
        (res, time::now() - start)
    });
    assert!(res.is_err(), "the timeout fired");
    assert!(
        elapsed >= HOUR && elapsed < HOUR + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert!(wall.elapsed() < Duration::from_secs(1));
}

#[test]
fn an_interval_ticks_on_the_paused_clock() {
    let _w = watchdog("interval under pause", Duration::from_secs(30));
    let rt = paused();
    let wall = Instant::now();
    let ticks = rt.block_on(async {
        let start = time::now();
        let mut interval = time::interval(Duration::from_secs(60));
        let mut ticks = Vec::new();
        for _ in 0..5 {
            interval.tick().await;
            ticks.push((time::now() - start).as_secs());
        }
        ticks
    });
    assert_eq!(ticks, [0, 60, 120, 180, 240]);
    assert!(wall.elapsed() < Duration::from_secs(1));
}

#[test]
fn pause_advance_and_resume_from_a_running_runtime() {
    let _w = watchdog("pause/advance/resume", Duration::from_secs(30));
    let rt = Runtime::builder()
        .current_thread()
        .selector(util::backend())
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(!ply_net::Handle::current().timer().is_paused());
        time::pause().unwrap();
        time::pause().unwrap(); // pausing twice is not an error (tokio panics)
        let frozen = time::now();
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(
            time::now(),
            frozen,
            "paused: real time passes, the clock does not"
        );

        let done = Arc::new(AtomicBool::new(false));
        let sleep = ply_net::sleep(Duration::from_secs(10));
        let task = ply_net::spawn({
            let done = done.clone();
            async move {
                sleep.await;
                done.store(true, Ordering::SeqCst);
            }
        });
        time::advance(Duration::from_secs(5)).await.unwrap();
        assert_eq!(time::now() - frozen, Duration::from_secs(5));
        assert!(!done.load(Ordering::SeqCst), "not due yet");
        time::advance(Duration::from_secs(5)).await.unwrap();
        assert!(
            done.load(Ordering::SeqCst),
            "advance yields, so the woken task has run"
        );
        task.await.unwrap();

        time::resume().unwrap();
        time::resume().unwrap(); // resuming twice is not an error either
        let resumed = time::now();
        assert!(resumed >= frozen + Duration::from_secs(10), "no step back");
        // The clock runs again, at the real clock's rate, from where it stood.
        let wall = Instant::now();
        ply_net::sleep(Duration::from_millis(20)).await;
        assert!(
            wall.elapsed() >= Duration::from_millis(19),
            "a real sleep again"
        );
        assert!(time::now() - resumed >= Duration::from_millis(20));
        assert!(time::now() < resumed + Duration::from_secs(5));
        let err = time::advance(Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn a_handle_pauses_and_advances_from_another_thread() {
    let _w = watchdog("pause from another thread", Duration::from_secs(30));
    let rt = Runtime::builder()
        .current_thread()
        .selector(util::backend())
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.pause().unwrap();
    });
    let wall = Instant::now();
    let elapsed = rt.block_on(async {
        // Real 1 ms sleeps until the other thread's pause lands.
        while !ply_net::Handle::current().timer().is_paused() {
            assert!(
                wall.elapsed() < Duration::from_secs(10),
                "the pause never landed"
            );
            ply_net::sleep(Duration::from_millis(1)).await;
        }
        let start = time::now();
        ply_net::sleep(HOUR).await; // auto-advance, now that the clock is paused
        time::now() - start
    });
    controller.join().unwrap();
    assert!(
        elapsed >= HOUR && elapsed < HOUR + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert!(wall.elapsed() < Duration::from_secs(10));
    // Advancing from outside the runtime's thread moves the same clock.
    let before = rt.handle().timer().now();
    let handle = rt.handle().clone();
    std::thread::spawn(move || handle.advance(HOUR).unwrap())
        .join()
        .unwrap();
    assert_eq!(rt.handle().timer().now() - before, HOUR);
}

#[test]
fn a_paused_clock_with_ready_io_does_not_skip_ahead() {
    let _w = watchdog("ready I/O under pause", Duration::from_secs(30));
    let rt = paused();
    rt.block_on(async {
        let start = time::now();
        let slept = Arc::new(AtomicBool::new(false));
        let sleeper = ply_net::spawn({
            let slept = slept.clone();
            async move {
                ply_net::sleep(HOUR).await;
                slept.store(true, Ordering::SeqCst);
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ply_net::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                }
            }
        });
        let client = TcpStream::connect(addr).await.unwrap();
        for round in 0..200u32 {
            let msg = round.to_le_bytes();
            client.write_all(&msg).await.unwrap();
            let mut back = [0; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg);
            assert!(
                !slept.load(Ordering::SeqCst) && time::now() - start < HOUR,
                "round {round}: the clock skipped ahead while I/O was ready: {:?}",
                time::now() - start
            );
        }
        assert_eq!(time::now(), start, "I/O alone never moves a paused clock");
        drop(client);
        server.await.unwrap();
        // Now every task waits on the sleep alone: the clock jumps.
        sleeper.await.unwrap();
        assert!(time::now() - start >= HOUR);
    });
}

#[test]
fn a_paused_clock_with_no_deadline_waits_for_another_thread() {
    let _w = watchdog("no deadline under pause", Duration::from_secs(30));
    let rt = paused();
    rt.block_on(async {
        let start = time::now();
        let (tx, rx) = futures::channel::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            tx.send(7).unwrap();
        });
        // No timer is pending: the driver waits in the reactor until the wake comes.
        assert_eq!(rx.await.unwrap(), 7);
        assert_eq!(time::now(), start, "nothing to advance to");
    });
}

#[test]
fn bad_uses_of_the_clock_are_clear_errors() {
    let _w = watchdog("clock errors", Duration::from_secs(30));
    // start_paused is current-thread only (tokio panics; ply's build() refuses).
    let err = Runtime::builder()
        .multi_thread()
        .worker_threads(1)
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("current-thread"), "{err}");

    // Pausing a multi-threaded runtime's clock is refused.
    let multi = util::multi_thread();
    let err = multi.handle().pause().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    assert!(multi.handle().advance(HOUR).is_err());
    assert!(multi.handle().resume().is_err());
    multi.block_on(async {
        assert_eq!(
            time::pause().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
    });
    assert!(!multi.handle().timer().is_paused());

    // Outside any runtime there is no clock to control.
    assert!(time::pause().is_err());
    assert!(time::resume().is_err());
    let err = futures::executor::block_on(time::advance(HOUR)).unwrap_err();
    assert!(err.to_string().contains("outside a ply runtime"), "{err}");

    // Advancing a running clock.
    let rt = util::current_thread();
    let err = rt.handle().advance(HOUR).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("paused"), "{err}");
    // A running runtime keeps the real clock.
    let (a, now, b) = rt.block_on(async { (Instant::now(), time::now(), Instant::now()) });
    assert!(a <= now && now <= b);
}

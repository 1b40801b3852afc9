//! The composed `Runtime`: `spawn_local`, `Handle::spawn` from other threads, dropping a
//! runtime with I/O in flight, `ply_net::run`, the blocking pool, and the stats that show
//! each layer at work.

mod util;

use ply_net::{Runtime, TcpListener, TcpStream};
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::{Duration, Instant};
use util::{current_thread, echo_server, multi_thread, runtimes, watchdog, within};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn spawn_local_runs_non_send_tasks_on_a_current_thread_runtime() {
    let _w = watchdog("spawn_local", Duration::from_secs(30));
    let rt = current_thread();
    let shared = Rc::new(std::cell::Cell::new(0));
    let seen = shared.clone();
    let task = rt
        .spawn_local(async move {
            // An Rc held across an await: this future is !Send.
            let addr = echo_server().await;
            let s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"local").await.unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).await.unwrap();
            seen.set(seen.get() + 1);
            buf
        })
        .expect("spawn_local on a current-thread runtime");
    let buf = rt.block_on(async { within(LIMIT, "the local task", task).await.unwrap() });
    assert_eq!(&buf, b"local");
    assert_eq!(shared.get(), 1);
}

#[test]
fn spawn_local_is_unsupported_on_a_multi_threaded_runtime() {
    let _w = watchdog("spawn_local multi", Duration::from_secs(30));
    let rt = multi_thread();
    let err = rt.spawn_local(async { Rc::new(1) }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

#[test]
fn handle_spawns_from_another_thread_onto_a_multi_threaded_runtime() {
    let _w = watchdog("Handle::spawn", Duration::from_secs(30));
    let rt = multi_thread();
    let addr = rt.block_on(echo_server());
    let handle = rt.handle().clone();
    // Several plain OS threads, none of them a runtime thread, spawn I/O tasks.
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let task = handle.spawn(async move {
                    let s = TcpStream::connect(addr).await?;
                    s.write_all(&[i; 3]).await?;
                    let mut buf = [0; 3];
                    s.read_exact(&mut buf).await?;
                    std::io::Result::Ok(buf)
                });
                // Waited for with someone else's executor, on this thread.
                futures::executor::block_on(task).unwrap().unwrap()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), [i as u8; 3]);
    }
    // A handle also makes the runtime current on a foreign thread (here: to bind).
    let h = handle.clone();
    let port = std::thread::spawn(move || {
        let _guard = h.enter();
        let listener = futures::executor::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        listener.local_addr().unwrap().port()
    })
    .join()
    .unwrap();
    assert_ne!(port, 0);
}

#[test]
fn handle_spawns_from_other_threads_onto_a_current_thread_runtime() {
    let _w = watchdog("Handle::spawn current", Duration::from_secs(30));
    let rt = current_thread();
    let addr = rt.block_on(echo_server());
    let handle = rt.handle().clone();
    // Plain threads spawn I/O tasks; they run on the runtime's thread, in its block_on.
    let tasks: Vec<_> = (0..4u8)
        .map(|i| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                handle.spawn(async move {
                    let s = TcpStream::connect(addr).await?;
                    s.write_all(&[i; 3]).await?;
                    let mut buf = [0; 3];
                    s.read_exact(&mut buf).await?;
                    std::io::Result::Ok((buf, std::thread::current().id()))
                })
            })
            .join()
            .unwrap()
        })
        .collect();
    let me = std::thread::current().id();
    rt.block_on(async {
        for (i, t) in tasks.into_iter().enumerate() {
            let (buf, ran_on) = t.await.unwrap().unwrap();
            assert_eq!(buf, [i as u8; 3]);
            assert_eq!(
                ran_on, me,
                "a current-thread runtime runs its tasks on its thread"
            );
        }
    });
    // Once the runtime is gone, a spawn through a surviving handle is cancelled.
    drop(rt);
    let late = handle.spawn(async { 1 });
    let err = futures::executor::block_on(late).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
}

#[test]
fn dropping_a_runtime_with_a_task_waiting_on_a_read_hangs_nothing() {
    let _w = watchdog("drop with pending read", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        let (task, _client, outside, outside_peer) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // A task that waits on a read that never gets data.
            let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
            let (server, _) = accepted.unwrap();
            let task = ply_net::spawn(async move {
                let mut buf = [0; 8];
                server.read(&mut buf).await
            });
            // And a pair that outlives the runtime.
            let (a, b) = futures::join!(TcpStream::connect(addr), listener.accept());
            // Let the task start its read. The client stays open (and silent).
            ply_net::sleep(Duration::from_millis(20)).await;
            (task, client.unwrap(), a.unwrap(), b.unwrap().0)
        });
        let start = Instant::now();
        drop(rt);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{flavor}: the drop took {:?}",
            start.elapsed()
        );
        // The task was dropped with the runtime: its handle says cancelled, at once.
        let err = futures::executor::block_on(task).unwrap_err();
        assert!(err.is_cancelled(), "{flavor}: {err}");
        // A stream that outlives its runtime answers with an error instead of waiting
        // for a reactor that will never run again.
        let mut buf = [0; 8];
        let res = futures::executor::block_on(outside.read(&mut buf));
        assert!(
            res.is_err(),
            "{flavor}: read after the runtime went: {res:?}"
        );
        let res = futures::executor::block_on(outside_peer.readable());
        assert!(
            res.is_err(),
            "{flavor}: readable after the runtime went: {res:?}"
        );
    }
}

#[test]
fn dropping_a_runtime_with_transfers_in_flight_hangs_nothing() {
    let _w = watchdog("drop while busy", Duration::from_secs(30));
    let rt = multi_thread();
    let addr = rt.block_on(echo_server());
    // Tasks mid-transfer on the workers when the runtime goes.
    for i in 0..20 {
        drop(rt.spawn(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            let data = util::pattern(i, 1 << 20);
            loop {
                if s.write_all(&data).await.is_err() {
                    break;
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    drop(rt);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn run_runs_a_future_on_a_fresh_runtime() {
    let _w = watchdog("run", Duration::from_secs(30));
    let echoed = ply_net::run(async {
        let addr = echo_server().await;
        let s = TcpStream::connect(addr).await?;
        s.write_all(b"run").await?;
        let mut buf = [0; 3];
        within(LIMIT, "the echo", s.read_exact(&mut buf)).await?;
        std::io::Result::Ok(buf)
    })
    .unwrap();
    assert_eq!(&echoed, b"run");
    // Twice in a row: the first runtime left nothing behind that the second trips on.
    assert_eq!(ply_net::run(async { 6 * 7 }), 42);
}

#[test]
fn spawn_blocking_runs_off_the_runtime_threads() {
    let _w = watchdog("spawn_blocking", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        let caller = std::thread::current().id();
        let (on, n) = rt.block_on(async {
            // The runtime keeps serving I/O while the blocking job sleeps.
            let job = ply_net::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(50));
                std::thread::current().id()
            });
            let addr = echo_server().await;
            let s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"meanwhile").await.unwrap();
            let mut buf = [0; 9];
            s.read_exact(&mut buf).await.unwrap();
            (
                within(LIMIT, "the blocking job", job).await.unwrap(),
                buf.len(),
            )
        });
        assert_ne!(on, caller, "{flavor}: the blocking job ran on the caller");
        assert_eq!(n, 9);
        let from_rt = rt.spawn_blocking(|| 5);
        assert_eq!(rt.block_on(from_rt).unwrap(), 5, "{flavor}");
    }
}

#[test]
fn stats_show_every_layer_at_work() {
    let _w = watchdog("stats", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        let before = rt.stats();
        assert_eq!(before.timer.fired, 0, "{flavor}");
        rt.block_on(async {
            let addr = echo_server().await;
            let s = TcpStream::connect(addr).await.unwrap();
            // The echo comes only after a sleep, so the read below surely waits in the
            // reactor first and is woken by it; the sleep is the timer's to fire.
            let writer = async {
                let start = Instant::now();
                ply_net::sleep(Duration::from_millis(20)).await;
                assert!(start.elapsed() >= Duration::from_millis(20), "{flavor}");
                s.write_all(b"stats").await.unwrap();
            };
            let mut buf = [0; 5];
            let ((), read) =
                futures::join!(writer, within(LIMIT, "the echo", s.read_exact(&mut buf)));
            read.unwrap();
            assert_eq!(&buf, b"stats");
        });
        let s = rt.stats();
        // The reactor delivered readiness events and woke tasks with them.
        assert!(s.reactor.events > 0, "{flavor}: {:?}", s.reactor);
        assert!(s.reactor.wakes > 0, "{flavor}: {:?}", s.reactor);
        assert!(s.reactor.registrations >= 3, "{flavor}: {:?}", s.reactor);
        assert!(s.selector.events > 0, "{flavor}: {:?}", s.selector);
        // The timer fired the sleep.
        assert!(s.timer.fired >= 1, "{flavor}: {:?}", s.timer);
        // The executor polled the tasks it spawned (the server and its connection).
        assert!(s.executor.polled > 0, "{flavor}: {:?}", s.executor);
        assert!(s.executor.spawned >= 2, "{flavor}: {:?}", s.executor);
        // And the runtime says what it is.
        let debug = format!("{rt:?}");
        let flavor_name = flavor.to_string();
        assert!(debug.contains(&flavor_name), "{debug}");
        assert!(debug.contains(&format!("{:?}", util::backend())), "{debug}");
    }
}

#[test]
fn runtimes_honour_an_explicit_selector() {
    let _w = watchdog("explicit selector", Duration::from_secs(30));
    for backend in ply_net::Backend::ALL {
        for builder in [
            Runtime::builder().current_thread(),
            Runtime::builder().multi_thread().worker_threads(1),
        ] {
            let rt = builder.selector(backend).build().unwrap();
            assert_eq!(rt.handle().reactor().backend(), backend);
            let echoed = rt.block_on(async {
                let addr = echo_server().await;
                let s = TcpStream::connect(addr).await.unwrap();
                s.write_all(b"sel").await.unwrap();
                let mut buf = [0; 3];
                within(LIMIT, "the echo", s.read_exact(&mut buf))
                    .await
                    .unwrap();
                buf
            });
            assert_eq!(&echoed, b"sel", "{backend:?}");
        }
    }
}

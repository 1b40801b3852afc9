//! Wakers that panic when ply's reactor or timer wakes them, inside a `Runtime`: the
//! runtime's driver catches, counts and carries on, so `block_on` of normal I/O and sleeps
//! still completes (issue 12). Before the fix the panic unwound through the worker that
//! was driving the reactor, and `block_on` never returned.

mod util;

use futures::AsyncRead;
use ply_net::{Runtime, Sleep, TcpStream};
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use util::{current_thread, multi_thread, pair, watchdog, PanickingWaker as Panics};

/// A hand-written future that, polled once, leaves a panicking waker waiting on a
/// socket's read readiness and on a sleep, then completes: a task that registered a
/// broken waker and went on.
struct LeavePanickingWakers<'a> {
    stream: &'a TcpStream,
    sleep: Pin<&'a mut Sleep>,
}

impl Future for LeavePanickingWakers<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let waker = Waker::from(Arc::new(Panics));
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0; 8];
        let mut stream = self.stream;
        assert!(
            Pin::new(&mut stream)
                .poll_read(&mut cx, &mut buf)
                .is_pending(),
            "nothing was sent yet"
        );
        assert!(self.sleep.as_mut().poll(&mut cx).is_pending());
        Poll::Ready(())
    }
}

async fn scenario(rt: &Runtime) {
    let (client, server) = pair().await;
    let mut doomed = Box::pin(ply_net::sleep(Duration::from_millis(5)));
    LeavePanickingWakers {
        stream: &server,
        sleep: doomed.as_mut(),
    }
    .await;
    // Readiness for the socket: the reactor wakes the panicking waker. The sleep's
    // deadline comes: the timer wakes it too.
    client.write_all(b"x").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.handle().reactor().stats().waker_panics == 0
        || rt.handle().timer().metrics().waker_panics == 0
    {
        assert!(
            Instant::now() < deadline,
            "the panics were not caught: {:?} {:?}",
            rt.handle().reactor().stats(),
            rt.handle().timer().metrics()
        );
        ply_net::sleep(Duration::from_millis(1)).await;
    }
    assert!(doomed.is_elapsed());

    // Normal I/O, across tasks (on a multi-threaded runtime, across workers) ...
    let echo = ply_net::spawn(async move {
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"xping");
        server.write_all(b"pong").await.unwrap();
        server
    });
    client.write_all(b"ping").await.unwrap();
    let mut buf = [0; 4];
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
    drop(echo.await.unwrap());
    // ... and a sleep, never early.
    let start = Instant::now();
    ply_net::sleep(Duration::from_millis(20)).await;
    assert!(start.elapsed() >= Duration::from_millis(20));
    let later = ply_net::spawn(async {
        ply_net::sleep(Duration::from_millis(5)).await;
        42
    });
    assert_eq!(later.await.unwrap(), 42);
}

/// Builds a runtime on the thread that will use it (a current-thread runtime is not
/// `Send`).
type Build = fn() -> Runtime;

#[test]
fn a_panicking_waker_does_not_hang_the_runtime() {
    let _w = watchdog("panics", Duration::from_secs(120));
    let flavors: [(&str, Build); 2] = [
        ("current_thread", current_thread),
        ("multi_thread", multi_thread),
    ];
    for (flavor, build) in flavors {
        // `block_on` on a thread of its own, so that a hang fails the test with a message
        // instead of stalling it (the bound is generous: the machine is shared).
        let (done, wait) = mpsc::channel();
        std::thread::spawn(move || {
            let rt = build();
            rt.block_on(scenario(&rt));
            let stats = (rt.handle().reactor().stats(), rt.handle().timer().metrics());
            let _ = done.send(stats);
        });
        match wait.recv_timeout(Duration::from_secs(30)) {
            Ok((reactor, timer)) => {
                assert_eq!(reactor.waker_panics, 1, "{flavor}: {reactor:?}");
                assert_eq!(timer.waker_panics, 1, "{flavor}: {timer:?}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{flavor}: block_on not done within 30 s after a waker panicked")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("{flavor}: the scenario failed (see its panic above)")
            }
        }
    }
}

//! Registrations come and go while tasks wait and pollers take turns.

mod util;

use futures::AsyncReadExt;
use ply_reactor::{Async, Reactor};
use std::fs::File;
use std::future::Future;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use util::{std_tcp_pair, watchdog};

/// A waker that counts its wakes.
struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

/// Spawns a thread driving `reactor` until the returned guard drops.
fn drive(reactor: &Reactor) -> impl Drop {
    struct Stop(
        Arc<AtomicBool>,
        Reactor,
        Option<std::thread::JoinHandle<()>>,
    );
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
            self.1.wake();
            self.2.take().unwrap().join().unwrap();
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (r, s) = (reactor.clone(), stop.clone());
    let t = std::thread::spawn(move || {
        while !s.load(Ordering::SeqCst) {
            r.poll(None).unwrap();
        }
    });
    Stop(stop, reactor.clone(), Some(t))
}

#[test]
fn deregistering_while_a_waker_is_pending_drops_it_quietly() {
    let _w = watchdog("deregister_pending", Duration::from_secs(30));
    let reactor = Reactor::new().unwrap();
    let (r, w) = ply_sys::pipe().unwrap();
    let reg = reactor.register(r.as_raw_fd()).unwrap();
    let (count, waker) = counting_waker();
    assert!(reg
        .poll_read_ready(&mut Context::from_waker(&waker))
        .is_pending());
    drop(reg); // deregisters; the stored waker goes with it, the fd stays open
    ply_sys::write(w.as_fd(), b"late").unwrap();
    reactor.poll(Some(Duration::from_millis(20))).unwrap();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        0,
        "no wake for a gone registration"
    );
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn dropping_a_registration_on_another_thread_while_the_reactor_polls() {
    let _w = watchdog("drop_while_polling", Duration::from_secs(60));
    let reactor = Reactor::new().unwrap();
    let _poller = drive(&reactor);
    for _ in 0..500 {
        let (c, s) = std_tcp_pair();
        let c = Async::new_in(c, &reactor).unwrap();
        let s = Async::new_in(s, &reactor).unwrap();
        // The drops race the poller's waits and event dispatch.
        std::thread::scope(|scope| {
            scope.spawn(move || drop(c));
            scope.spawn(move || drop(s));
        });
    }
    assert_eq!(reactor.registrations(), 0);
    assert_eq!(reactor.stats().deregistrations, 1000);
}

#[test]
fn registering_during_a_blocking_poll_takes_effect_at_once() {
    let _w = watchdog("register_during_poll", Duration::from_secs(60));
    let reactor = Reactor::new().unwrap();
    // The poller waits with no timeout: a registration must not need it to return.
    let _poller = drive(&reactor);
    std::thread::sleep(Duration::from_millis(20));
    let (c, s) = std_tcp_pair();
    let s = Async::new_in(s, &reactor).unwrap();
    let start = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        std::io::Write::write_all(&mut &c, b"x").unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    futures::executor::block_on(s.readable()).unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn shutdown_turns_waits_into_errors() {
    let _w = watchdog("shutdown", Duration::from_secs(30));
    let reactor = Reactor::new().unwrap();
    let (r, _w2) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    let (count, waker) = counting_waker();
    let mut fut = pin!(reader.readable());
    assert!(fut
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    reactor.shutdown();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the waiting task was woken"
    );
    match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("shut down"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let (r2, _w3) = ply_sys::pipe().unwrap();
    assert!(Async::new_in(File::from(r2), &reactor).is_err());
    assert!(reactor.is_shutdown());
}

#[test]
fn bad_fds_are_errors() {
    let reactor = Reactor::new().unwrap();
    // A regular file: epoll refuses it (EPERM); poll and select accept it (always ready).
    let file = File::open("/proc/self/status").unwrap();
    match Async::new_in(file, &reactor) {
        Ok(f) => {
            assert_ne!(reactor.backend(), ply_sys::Backend::Epoll);
            drop(f);
        }
        // EPERM, errno 1.
        Err(e) => assert_eq!(e.raw_os_error(), Some(1), "{e}"),
    }
    // The same fd twice.
    let (r, _w) = ply_sys::pipe().unwrap();
    let reg = reactor.register(r.as_raw_fd()).unwrap();
    let err = reactor.register(r.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    drop(reg);
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn into_inner_deregisters_and_returns_the_io() {
    let reactor = Reactor::new().unwrap();
    let (r, w) = ply_sys::pipe().unwrap();
    let reader = Async::new_in(File::from(r), &reactor).unwrap();
    assert_eq!(reactor.registrations(), 1);
    let file = reader.into_inner().unwrap();
    assert_eq!(reactor.registrations(), 0);
    // The fd is still open and usable.
    ply_sys::write(w.as_fd(), b"z").unwrap();
    let mut b = [0u8; 1];
    assert_eq!(ply_sys::read(file.as_fd(), &mut b).unwrap(), 1);
    // And it can be registered again.
    let mut again = Async::new_in(file, &reactor).unwrap();
    ply_sys::write(w.as_fd(), b"y").unwrap();
    let _poller = drive(&reactor);
    futures::executor::block_on(again.read_exact(&mut b)).unwrap();
    assert_eq!(&b, b"y");
}

#[test]
fn several_tasks_waiting_on_one_direction_are_all_served() {
    let _w = watchdog("several_waiters", Duration::from_secs(60));
    let (c, s) = std_tcp_pair();
    let c = Async::new(c).unwrap();
    let s = Arc::new(Async::new(s).unwrap());
    // Four readers wait for one byte each on the same socket; four bytes arrive one by one.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(s.read_with(|mut io| {
                    let mut b = [0u8; 1];
                    std::io::Read::read(&mut io, &mut b).map(|_| b[0])
                }))
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    for byte in 1..=4u8 {
        futures::executor::block_on(c.write_with(|mut io| std::io::Write::write(&mut io, &[byte])))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut got: Vec<u8> = readers
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, [1, 2, 3, 4]);
}

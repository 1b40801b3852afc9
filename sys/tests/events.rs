//! Each backend reports readiness, closure and errors on pipes and TCP sockets, with the
//! same edge-triggered contract.

mod util;

use ply_sys::{Interest, Selector, Socket, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;
use util::{backends, backends_for_cross_thread_waits, events_once, tcp_pair, wait_for, watchdog};

const LIMIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(50);

#[test]
fn pipe_readable_then_edge_triggered_silence_then_rearm() {
    let _w = watchdog("pipe_readable", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, w) = ply_sys::pipe().unwrap();
        sel.register(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();

        assert!(
            events_once(&sel, Token(1), QUIET).is_empty(),
            "{backend}: nothing yet"
        );
        ply_sys::write(w.as_fd(), b"abc").unwrap();
        let e = wait_for(&sel, Token(1), LIMIT).expect("readable");
        assert!(e.is_readable() && !e.is_read_closed(), "{backend}: {e:?}");

        // Edge-triggered: no new data, no second event, though the data is still unread.
        assert!(
            events_once(&sel, Token(1), QUIET).is_empty(),
            "{backend}: second event"
        );

        // Drain to WouldBlock, re-arm, and new data is reported again.
        let mut buf = [0u8; 16];
        assert_eq!(ply_sys::read(r.as_fd(), &mut buf).unwrap(), 3);
        let err = ply_sys::read(r.as_fd(), &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        sel.rearm(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
        assert!(
            events_once(&sel, Token(1), QUIET).is_empty(),
            "{backend}: drained, quiet"
        );
        ply_sys::write(w.as_fd(), b"d").unwrap();
        assert!(
            wait_for(&sel, Token(1), LIMIT).unwrap().is_readable(),
            "{backend}"
        );
        sel.deregister(r.as_raw_fd()).unwrap();
    }
}

#[test]
fn readiness_present_at_rearm_is_not_lost() {
    let _w = watchdog("rearm_race", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, w) = ply_sys::pipe().unwrap();
        sel.register(r.as_raw_fd(), Token(2), Interest::READABLE)
            .unwrap();
        ply_sys::write(w.as_fd(), b"1").unwrap();
        wait_for(&sel, Token(2), LIMIT).expect("first");
        let mut buf = [0u8; 8];
        ply_sys::read(r.as_fd(), &mut buf).unwrap();
        assert!(ply_sys::read(r.as_fd(), &mut buf).is_err());
        // Data arrives between the WouldBlock and the rearm: the classic lost wake-up.
        ply_sys::write(w.as_fd(), b"2").unwrap();
        sel.rearm(r.as_raw_fd(), Token(2), Interest::READABLE)
            .unwrap();
        assert!(
            wait_for(&sel, Token(2), LIMIT).is_some(),
            "{backend}: event lost"
        );
    }
}

#[test]
fn pipe_hang_up_and_error() {
    let _w = watchdog("pipe_hup", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        // Writer closes: the reader sees hang-up (read-closed), and read returns 0.
        let (r, w) = ply_sys::pipe().unwrap();
        sel.register(r.as_raw_fd(), Token(1), Interest::READABLE)
            .unwrap();
        drop(w);
        let e = wait_for(&sel, Token(1), LIMIT).expect("hang-up");
        assert!(e.is_read_closed(), "{backend}: {e:?}");
        assert_eq!(ply_sys::read(r.as_fd(), &mut [0u8; 4]).unwrap(), 0);

        // Reader closes: the writer sees an error (write-closed), and write says EPIPE.
        let (r2, w2) = ply_sys::pipe().unwrap();
        sel.register(w2.as_raw_fd(), Token(2), Interest::WRITABLE)
            .unwrap();
        let e = wait_for(&sel, Token(2), LIMIT).expect("writable");
        assert!(e.is_writable() && !e.is_error(), "{backend}: {e:?}");
        // The std runtime ignores SIGPIPE, so a pipe write to a closed reader is EPIPE.
        drop(r2);
        sel.rearm(w2.as_raw_fd(), Token(2), Interest::WRITABLE)
            .unwrap();
        let e = wait_for(&sel, Token(2), LIMIT).expect("error");
        assert!(e.is_error() && e.is_write_closed(), "{backend}: {e:?}");
        let err = ply_sys::write(w2.as_fd(), b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    }
}

#[test]
fn tcp_writable_readable_read_closed() {
    let _w = watchdog("tcp", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (client, server) = tcp_pair(false);
        sel.register(client.as_raw_fd(), Token(10), Interest::BOTH)
            .unwrap();
        sel.register(server.as_raw_fd(), Token(11), Interest::READABLE)
            .unwrap();

        let e = wait_for(&sel, Token(10), LIMIT).expect("client writable");
        assert!(e.is_writable() && !e.is_readable(), "{backend}: {e:?}");

        (&client).write_all(b"hello").unwrap();
        let e = wait_for(&sel, Token(11), LIMIT).expect("server readable");
        assert!(e.is_readable() && !e.is_read_closed(), "{backend}: {e:?}");
        let mut buf = [0u8; 16];
        assert_eq!((&server).read(&mut buf).unwrap(), 5);
        assert_eq!(
            (&server).read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        sel.rearm(server.as_raw_fd(), Token(11), Interest::READABLE)
            .unwrap();

        // Half-close from the client: the server's read side is closed, writes still go.
        client.shutdown(Shutdown::Write).unwrap();
        let e = wait_for(&sel, Token(11), LIMIT).expect("read-closed");
        assert!(
            e.is_read_closed() && !e.is_write_closed(),
            "{backend}: {e:?}"
        );
        assert_eq!((&server).read(&mut buf).unwrap(), 0);
        (&server).write_all(b"bye").unwrap();
        sel.rearm(client.as_raw_fd(), Token(10), Interest::READABLE)
            .unwrap();
        let e = wait_for(&sel, Token(10), LIMIT).expect("client readable");
        assert!(e.is_readable(), "{backend}: {e:?}");
        assert_eq!((&client).read(&mut buf).unwrap(), 3);
    }
}

#[test]
fn tcp_reset_is_an_error_and_a_hang_up() {
    let _w = watchdog("tcp_reset", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (client, server) = tcp_pair(false);
        sel.register(client.as_raw_fd(), Token(5), Interest::READABLE)
            .unwrap();
        // Linger zero: close sends RST instead of FIN.
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        let e = wait_for(&sel, Token(5), LIMIT).expect("reset");
        assert!(
            e.is_error() && e.is_read_closed() && e.is_write_closed(),
            "{backend}: {e:?}"
        );
        let err = client.take_error().unwrap().expect("pending error");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{backend}");
    }
}

#[test]
fn a_refused_connect_reports_an_error() {
    let _w = watchdog("refused", Duration::from_secs(30));
    // A port that was just free: bind, note, close.
    let addr = Socket::tcp_listener("127.0.0.1:0".parse().unwrap(), 1)
        .unwrap()
        .local_addr()
        .unwrap();
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let s = Socket::tcp_for(&addr).unwrap();
        match s.connect(&addr) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
                continue;
            }
        }
        sel.register(s.as_raw_fd(), Token(9), Interest::WRITABLE)
            .unwrap();
        let e = wait_for(&sel, Token(9), LIMIT).expect("connect outcome");
        assert!(e.is_error() || e.is_write_closed(), "{backend}: {e:?}");
        let err = s.take_error().unwrap().expect("SO_ERROR");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    }
}

#[test]
fn wake_from_another_thread_ends_a_blocking_wait() {
    let _w = watchdog("wake", Duration::from_secs(30));
    for backend in backends_for_cross_thread_waits() {
        let sel = Selector::with_backend(backend).unwrap();
        let woke = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                woke.store(true, std::sync::atomic::Ordering::SeqCst);
                sel.wake().unwrap();
            });
            let mut events = ply_sys::Events::with_capacity(4);
            // No timeout: only the wake can end this (a signal could too: loop then).
            while !woke.load(std::sync::atomic::Ordering::SeqCst) {
                sel.select(&mut events, None).unwrap();
                assert!(events.is_empty(), "{backend}: a wake is not an event");
            }
        });
        assert!(sel.stats().wakes >= 1);
    }
}

#[test]
fn registering_during_a_wait_takes_effect_at_once() {
    let _w = watchdog("register_during_wait", Duration::from_secs(60));
    for backend in backends_for_cross_thread_waits() {
        let sel = Selector::with_backend(backend).unwrap();
        let (r, w) = ply_sys::pipe().unwrap();
        ply_sys::write(w.as_fd(), b"ready already").unwrap();
        let started = std::time::Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                sel.register(r.as_raw_fd(), Token(4), Interest::READABLE)
                    .unwrap();
            });
            // A 30 s timeout: if the register only took effect after it, the watchdog fires.
            assert!(wait_for(&sel, Token(4), Duration::from_secs(30)).is_some());
        });
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{backend}: waited for the timeout"
        );
    }
}

#[test]
fn ipv6_loopback_round_trip() {
    if !util::has_ipv6() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let _w = watchdog("ipv6", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (client, server) = tcp_pair(true);
        assert!(client.local_addr().unwrap().is_ipv6());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        sel.register(server.as_raw_fd(), Token(6), Interest::READABLE)
            .unwrap();
        (&client).write_all(b"v6").unwrap();
        assert!(wait_for(&sel, Token(6), LIMIT).unwrap().is_readable());
        let mut buf = [0u8; 2];
        (&server).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"v6");
    }
}

#[test]
fn many_fds_one_ready_reports_just_that_one() {
    let _w = watchdog("many", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let pipes: Vec<_> = (0..200).map(|_| ply_sys::pipe().unwrap()).collect();
        for (i, (r, _)) in pipes.iter().enumerate() {
            sel.register(r.as_raw_fd(), Token(i), Interest::READABLE)
                .unwrap();
        }
        ply_sys::write(pipes[137].1.as_fd(), b"!").unwrap();
        let mut events = ply_sys::Events::with_capacity(256);
        sel.select(&mut events, Some(LIMIT)).unwrap();
        let tokens: Vec<_> = events.iter().map(|e| e.token().0).collect();
        assert_eq!(tokens, [137], "{backend}");
        let stats = sel.stats();
        assert_eq!(stats.registrations, 200);
        assert_eq!(stats.events, 1);
    }
}

#[test]
fn a_wait_racing_deregister_and_close_never_fails() {
    let _w = watchdog("deregister_race", Duration::from_secs(60));
    for backend in backends() {
        let sel = std::sync::Arc::new(Selector::with_backend(backend).unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = {
            let (sel, stop) = (sel.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (r, w) = ply_sys::pipe().unwrap();
                    sel.register(r.as_raw_fd(), Token(i), Interest::READABLE)
                        .unwrap();
                    sel.deregister(r.as_raw_fd()).unwrap();
                    drop((r, w));
                    i += 1;
                }
            })
        };
        let mut events = ply_sys::Events::with_capacity(64);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(500) {
            sel.select(&mut events, Some(Duration::from_micros(100)))
                .unwrap_or_else(|e| panic!("{backend}: wait failed: {e}"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        churn.join().unwrap();
    }
}

#[test]
fn a_registered_fd_closed_without_deregistering_is_reported_once() {
    let _w = watchdog("closed_registered", Duration::from_secs(30));
    for backend in backends() {
        let sel = Selector::with_backend(backend).unwrap();
        let (low, _w) = ply_sys::pipe().unwrap();
        // Move the read end to a high fd number: the kernel hands out the lowest free
        // number, so once closed, a low one would at once be reused by another test
        // thread's pipe or socket (and then be reported as that fd's readiness). Below
        // FD_SETSIZE, for the select backend.
        // SAFETY: dup2 on a valid fd; the new fd is owned by `r` from this line on.
        let r = unsafe {
            let hi = libc::dup2(low.as_raw_fd(), 900);
            assert_eq!(hi, 900, "dup2: {}", std::io::Error::last_os_error());
            <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(hi)
        };
        drop(low);
        let fd = r.as_raw_fd();
        sel.register(fd, Token(8), Interest::READABLE).unwrap();
        drop(r); // closed while registered: a caller's bug, which must not spin or fail
        if matches!(backend, ply_sys::Backend::Epoll | ply_sys::Backend::Uring) {
            // epoll forgets a closed fd by itself, and io_uring's poll holds a reference
            // to the file (the pipe stays open and quiet): nothing is reported.
            assert!(events_once(&sel, Token(8), QUIET).is_empty());
            continue;
        }
        let e = wait_for(&sel, Token(8), LIMIT).expect("the closed fd is reported");
        assert!(e.is_error(), "{backend}: {e:?}");
        // Disarmed: later waits succeed and stay quiet.
        for _ in 0..3 {
            assert!(events_once(&sel, Token(8), QUIET).is_empty(), "{backend}");
        }
        let _ = sel.deregister(fd);
    }
}

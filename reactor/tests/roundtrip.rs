//! Bytes round-trip through pipes and TCP under executors that know nothing of ply: the
//! global fallback reactor drives the kernel, or a plain thread drives an explicit one.

mod util;

use futures::{AsyncReadExt, AsyncWriteExt};
use ply_reactor::{Async, Reactor};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::{std_tcp_pair, watchdog};

#[test]
fn pipe_and_tcp_under_futures_block_on_with_the_global_reactor() {
    let _w = watchdog("global", Duration::from_secs(60));
    futures::executor::block_on(async {
        let (r, w) = ply_sys::pipe().unwrap();
        let mut r = Async::new(File::from(r)).unwrap();
        let mut w = Async::new(File::from(w)).unwrap();
        // More than a pipe holds (64 KiB), so the writer must wait for the reader.
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        let writer = async {
            w.write_all(&data).await.unwrap();
            drop(w);
        };
        let reader = async {
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = futures::join!(writer, reader);
        assert_eq!(got, data);

        let (c, s) = std_tcp_pair();
        let (mut c, mut s) = (Async::new(c).unwrap(), Async::new(s).unwrap());
        c.write_all(b"over tcp").await.unwrap();
        let mut buf = [0u8; 8];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"over tcp");
    });
    let g = Reactor::global().unwrap();
    assert!(
        g.stats().wakes > 0,
        "the global reactor woke tasks: {:?}",
        g.stats()
    );
}

#[test]
fn a_plain_thread_drives_an_explicit_reactor() {
    let _w = watchdog("explicit", Duration::from_secs(60));
    let reactor = Reactor::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (reactor, stop) = (reactor.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                reactor.poll(Some(Duration::from_millis(50))).unwrap();
            }
        })
    };
    let (c, s) = std_tcp_pair();
    let mut c = Async::new_in(c, &reactor).unwrap();
    let mut s = Async::new_in(s, &reactor).unwrap();
    futures::executor::block_on(async {
        for i in 0..100u32 {
            c.write_all(&i.to_le_bytes()).await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(u32::from_le_bytes(buf), i);
        }
    });
    assert_eq!(reactor.registrations(), 2);
    drop((c, s));
    assert_eq!(reactor.registrations(), 0);
    let stats = reactor.stats();
    assert!(
        // Every read depended on readiness the poller set from a kernel event (whether
        // the task had to sleep for it, and so be woken, depends on timing).
        stats.events >= 1 && stats.registrations == 2 && stats.deregistrations == 2,
        "{stats:?}"
    );
    stop.store(true, Ordering::SeqCst);
    reactor.wake();
    poller.join().unwrap();
}

#[test]
fn entering_a_reactor_makes_it_current() {
    let a = Reactor::new().unwrap();
    {
        let _g = a.enter();
        assert!(Reactor::current().unwrap().ptr_eq(&a));
        let b = Reactor::new().unwrap();
        {
            let _g = b.enter();
            assert!(Reactor::current().unwrap().ptr_eq(&b));
        }
        assert!(Reactor::current().unwrap().ptr_eq(&a));
    }
    assert!(Reactor::current()
        .unwrap()
        .ptr_eq(&Reactor::global().unwrap()));
}

#[test]
fn read_with_and_write_with_retry_on_would_block() {
    let _w = watchdog("read_with", Duration::from_secs(60));
    let (c, s) = std_tcp_pair();
    let c = Async::new(c).unwrap();
    let s = Async::new(s).unwrap();
    futures::executor::block_on(async {
        let reader = async {
            // Nothing is there yet: the first try is WouldBlock, then it waits.
            let mut buf = [0u8; 3];
            let n = s
                .read_with(|mut io| std::io::Read::read(&mut io, &mut buf))
                .await
                .unwrap();
            (n, buf)
        };
        let writer = async {
            c.writable().await.unwrap();
            c.write_with(|mut io| std::io::Write::write(&mut io, b"abc"))
                .await
                .unwrap()
        };
        let ((n, buf), wrote) = futures::join!(reader, writer);
        assert_eq!((n, wrote, &buf), (3, 3, b"abc"));
        // Read-closed is readiness too: after the peer closes, readable() resolves and
        // a read returns end of stream.
        drop(c);
        s.readable().await.unwrap();
        let n = s
            .read_with(|mut io| std::io::Read::read(&mut io, &mut [0u8; 4]))
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn try_read_with_never_waits() {
    let _w = watchdog("try_read", Duration::from_secs(60));
    let (c, s) = std_tcp_pair();
    let c = Async::new(c).unwrap();
    let s = Async::new(s).unwrap();
    let mut buf = [0u8; 8];
    // Not known readable: WouldBlock at once.
    let err = s
        .try_read_with(|mut io| std::io::Read::read(&mut io, &mut buf))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    futures::executor::block_on(async {
        c.write_with(|mut io| std::io::Write::write(&mut io, b"now"))
            .await
            .unwrap();
        s.readable().await.unwrap();
    });
    let n = s
        .try_read_with(|mut io| std::io::Read::read(&mut io, &mut buf))
        .unwrap();
    assert_eq!(&buf[..n], b"now");
    // Drained: the read says WouldBlock and readiness is cleared.
    let err = s
        .try_read_with(|mut io| std::io::Read::read(&mut io, &mut buf))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(s.registration().try_read_ready().is_none());
}

//! The lost-wake-up hunt: two threads ping-pong readiness on the same registrations for
//! 100,000 round trips. A single lost event would stall the game; the watchdog turns that
//! into a failure instead of a hang.

mod util;

use ply_reactor::{Async, Reactor};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::watchdog;

/// 100,000 round trips; fewer under valgrind (`.ci/valgrind` sets `PLY_UNDER_VALGRIND`),
/// which slows each one fifty-fold but needs far fewer to find a memory error.
fn round_trips() -> u32 {
    if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        2_000
    } else {
        100_000
    }
}

/// The serving side: sends byte `i`, waits for `i + 1` back.
async fn serve(sock: &Async<UnixStream>, n: u32) -> u32 {
    for i in 0..n {
        sock.write_with(|mut s| s.write(&[i as u8])).await.unwrap();
        let mut b = [0u8; 1];
        assert_eq!(sock.read_with(|mut s| s.read(&mut b)).await.unwrap(), 1);
        assert_eq!(b[0], (i as u8).wrapping_add(1), "round trip {i}");
    }
    n
}

/// The returning side: waits for byte `i`, sends `i + 1`.
async fn reply(sock: &Async<UnixStream>, n: u32) -> u32 {
    for i in 0..n {
        let mut b = [0u8; 1];
        assert_eq!(sock.read_with(|mut s| s.read(&mut b)).await.unwrap(), 1);
        assert_eq!(b[0], i as u8, "round trip {i}");
        sock.write_with(|mut s| s.write(&[b[0].wrapping_add(1)]))
            .await
            .unwrap();
    }
    n
}

#[test]
fn one_hundred_thousand_round_trips_finish() {
    let _w = watchdog("lost_wakeup", Duration::from_secs(240));
    let reactor = Reactor::global().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let a = Async::new_in(a, &reactor).unwrap();
    let b = Async::new_in(b, &reactor).unwrap();
    let n = round_trips();
    let before = reactor.stats();
    std::thread::scope(|s| {
        let t = s.spawn(|| futures::executor::block_on(reply(&b, n)));
        let mine = futures::executor::block_on(serve(&a, n));
        assert_eq!(mine, n);
        assert_eq!(t.join().unwrap(), n);
    });
    let after = reactor.stats();
    // Most round trips had to wait for the other side: the reactor did real work.
    assert!(after.wakes - before.wakes > 0, "{after:?}");
}

//! No fd or registration leaks across many create/use/drop cycles. One test in this
//! binary, so nothing else opens fds meanwhile.

mod util;

use futures::{AsyncReadExt, AsyncWriteExt};
use ply_reactor::{Async, Reactor};
use std::time::Duration;
use util::{fd_count, std_tcp_pair, watchdog};

#[test]
fn ten_thousand_registrations_leave_nothing_behind() {
    let _w = watchdog("leaks", Duration::from_secs(240));
    let rounds = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        300
    } else {
        10_000
    };
    let reactor = Reactor::global().unwrap();
    // Warm up: the global reactor's own fds exist before we count.
    drop(Async::new(std_tcp_pair().0).unwrap());
    let before = fd_count();
    let live = reactor.registrations();
    futures::executor::block_on(async {
        for i in 0..rounds {
            let (c, s) = std_tcp_pair();
            let (mut c, mut s) = (Async::new(c).unwrap(), Async::new(s).unwrap());
            if i % 10 == 0 {
                c.write_all(b"x").await.unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
            }
        }
    });
    assert_eq!(reactor.registrations(), live, "registrations leaked");
    assert_eq!(fd_count(), before, "fds leaked");
}

//! No fd leaks: creating and dropping many selectors, sockets and notifiers leaves the
//! process's fd count unchanged. One test in this binary, so nothing else opens fds
//! meanwhile.

mod util;

use ply_sys::{Interest, Notifier, Selector, Socket, Token};
use std::os::fd::AsRawFd;
use std::time::Duration;
use util::{backends, fd_count, tcp_pair, watchdog};

#[test]
fn ten_thousand_of_each_leave_the_fd_count_unchanged() {
    let _w = watchdog("leaks", Duration::from_secs(240));
    // Under valgrind each syscall is slower; fewer rounds still show a leak (any leak
    // grows the count by at least one per round).
    let rounds = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        500
    } else {
        10_000
    };
    let before = fd_count();

    for backend in backends() {
        for _ in 0..rounds {
            let sel = Selector::with_backend(backend).unwrap();
            let (r, _w) = ply_sys::pipe().unwrap();
            sel.register(r.as_raw_fd(), Token(1), Interest::READABLE)
                .unwrap();
            sel.deregister(r.as_raw_fd()).unwrap();
        }
        assert_eq!(fd_count(), before, "{backend} selectors leaked");
    }
    for _ in 0..rounds {
        let _ = ply_sys::eventfd().unwrap();
        let n = Notifier::with_pipe().unwrap();
        n.notify().unwrap();
    }
    assert_eq!(fd_count(), before, "notifiers leaked");

    let addr = "127.0.0.1:0".parse().unwrap();
    for _ in 0..rounds {
        let s = Socket::tcp_for(&addr).unwrap();
        s.set_nodelay(true).unwrap();
    }
    assert_eq!(fd_count(), before, "sockets leaked");

    // Connected pairs through a listener, and failed accepts (nothing pending).
    for _ in 0..rounds / 10 {
        let (a, b) = tcp_pair(false);
        drop((a, b));
    }
    assert_eq!(fd_count(), before, "tcp pairs leaked");
}

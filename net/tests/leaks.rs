//! No fd leaks: 100,000 connect/accept/drop cycles leave this process with exactly the
//! fds it had before, and the reactor with no registration but the listeners'. One test
//! in this binary, so nothing else opens fds while it counts them.

mod util;

use ply_net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use util::{fd_count, multi_thread, watchdog, within};

/// Connections made in total, over [`LANES`] tasks that run at once.
const CYCLES: usize = 100_000;
/// Under valgrind each syscall costs ~50x; the leak check there is about memory, so a
/// few thousand cycles show the same.
const CYCLES_UNDER_VALGRIND: usize = 2_000;
const LANES: usize = 8;

/// One connection's life: connect and accept at once, one byte across to prove the two
/// ends belong together, then both dropped: which end first, and whether it closes
/// gracefully or resets, goes round, so each side sees a close, a peer's close, a reset
/// and a peer's reset.
async fn cycle(listener: &TcpListener, addr: std::net::SocketAddr, i: usize) {
    let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
    let client = client.unwrap_or_else(|e| panic!("connect #{i}: {e}"));
    let (server, peer) = accepted.unwrap_or_else(|e| panic!("accept #{i}: {e}"));
    assert_eq!(peer, client.local_addr().unwrap());
    client.write_all(&[i as u8]).await.unwrap();
    let mut byte = [0];
    server.read_exact(&mut byte).await.unwrap();
    assert_eq!(byte[0], i as u8);
    match i % 4 {
        0 => {
            drop(client);
            drop(server);
        }
        1 => {
            drop(server);
            drop(client);
        }
        // SO_LINGER 0: the close resets the connection (no TIME_WAIT either side).
        2 => {
            client.set_zero_linger().unwrap();
            drop(client);
            drop(server);
        }
        _ => {
            server.set_zero_linger().unwrap();
            drop(server);
            drop(client);
        }
    }
}

#[test]
fn a_hundred_thousand_connections_leak_no_fd() {
    let cycles = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        CYCLES_UNDER_VALGRIND
    } else {
        CYCLES
    };
    let _w = watchdog("fd leaks", Duration::from_secs(180));
    let before_runtime = fd_count();
    let rt = multi_thread();
    let reactor = rt.handle().reactor().clone();
    let start = Instant::now();
    rt.block_on(async {
        let mut listeners = Vec::new();
        for _ in 0..LANES {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            listeners.push((l, addr));
        }
        // Warm up: whatever the runtime creates lazily (worker state, buffers) exists
        // before the baseline is taken.
        for (l, addr) in &listeners {
            for i in 0..10 {
                cycle(l, *addr, i).await;
            }
        }
        let baseline = fd_count();
        assert_eq!(reactor.registrations(), LANES, "only the listeners");

        let lanes: Vec<_> = listeners
            .into_iter()
            .enumerate()
            .map(|(lane, (l, addr))| {
                ply_net::spawn(async move {
                    for i in (lane..cycles).step_by(LANES) {
                        cycle(&l, addr, i).await;
                        if i % 10_000 < LANES {
                            // Each lane holds at most one connection (two fds) and one
                            // listing of /proc/self/fd at a time.
                            let now = fd_count();
                            assert!(
                                now <= baseline + 3 * LANES,
                                "after {i} cycles: {now} fds open, {baseline} at the start"
                            );
                        }
                    }
                    l
                })
            })
            .collect();
        let mut listeners = Vec::new();
        for lane in lanes {
            listeners.push(
                within(Duration::from_secs(170), "a lane of cycles", lane)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(fd_count(), baseline, "fds leaked over {cycles} cycles");
        assert_eq!(reactor.registrations(), LANES, "registrations leaked");
        drop(listeners);
        assert_eq!(reactor.registrations(), 0);
    });
    let took = start.elapsed();
    let stats = rt.stats();
    assert!(
        stats.reactor.deregistrations >= 2 * cycles as u64,
        "{:?}",
        stats.reactor
    );
    drop(reactor);
    drop(rt);
    // The runtime's own fds (selector, eventfd) close with it.
    assert_eq!(fd_count(), before_runtime, "the runtime left fds open");
    eprintln!("{cycles} connect/accept/drop cycles in {took:?}");
}

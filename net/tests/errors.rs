//! A peer that goes away is an error, never a signal or a hang: a reset in the middle of a
//! large write, a write after the peer closed, a connect to a port nobody listens on.
//!
//! SIGPIPE is put back to its default action (terminate the process) before each test:
//! the Rust runtime ignores it at start-up, which would hide a write path that forgot
//! `MSG_NOSIGNAL`. The disposition is process-wide, so it covers every test here.

mod util;

use ply_net::{Runtime, TcpListener, TcpStream};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;
use util::{runtimes, watchdog, within};

fn sigpipe_kills() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: restoring the default action of SIGPIPE; no handler code is involved.
        let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        assert_ne!(prev, libc::SIG_ERR);
    });
}

fn is_peer_gone(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
}

/// A port on loopback that nobody listens on (bound, then closed at once).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The client writes far more than the socket buffers hold; the server reads a little,
/// then resets the connection (`SO_LINGER` 0, or a close with unread data). The pending
/// `write_all` fails, and so does every write after it.
fn reset_mid_write(rt: &Runtime, flavor: &str, linger_zero: bool) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();

        let writer = ply_net::spawn(async move {
            // More than loopback's send and receive buffers together can hold.
            let big = vec![0x5a; 64 << 20];
            let res = client.write_all(&big).await;
            (client, res)
        });
        let mut head = [0; 4096];
        within(
            Duration::from_secs(10),
            "the first bytes",
            server.read_exact(&mut head),
        )
        .await
        .unwrap();
        assert!(head.iter().all(|&b| b == 0x5a));
        // Let the writer fill the buffers and wait for space.
        ply_net::sleep(Duration::from_millis(50)).await;
        if linger_zero {
            server.set_zero_linger().unwrap();
        }
        drop(server);

        let (client, res) = within(Duration::from_secs(10), "the reset write", writer)
            .await
            .unwrap();
        let err = res.expect_err("write_all of 64 MiB to a reset peer succeeded");
        assert!(is_peer_gone(err.kind()), "{flavor}: {err:?}");
        // The error sticks: later writes fail at once, they neither hang nor signal.
        let again = within(Duration::from_secs(5), "a write after the reset", async {
            client.write(b"still there?").await
        })
        .await;
        assert!(
            matches!(&again, Err(e) if is_peer_gone(e.kind())),
            "{flavor}: {again:?}"
        );
        let vectored = within(Duration::from_secs(5), "a vectored write", async {
            client
                .write_vectored(&[std::io::IoSlice::new(b"a"), std::io::IoSlice::new(b"b")])
                .await
        })
        .await;
        assert!(vectored.is_err(), "{flavor}: {vectored:?}");
    });
}

#[test]
fn a_reset_in_the_middle_of_a_write_is_an_error() {
    sigpipe_kills();
    let _w = watchdog("reset mid-write", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        reset_mid_write(&rt, flavor, true);
    }
}

#[test]
fn a_close_with_unread_data_in_the_middle_of_a_write_is_an_error() {
    sigpipe_kills();
    let _w = watchdog("close mid-write", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        reset_mid_write(&rt, flavor, false);
    }
}

#[test]
fn writes_after_the_peer_closed_fail_without_sigpipe() {
    sigpipe_kills();
    let _w = watchdog("write after close", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            drop(server);
            // The first small write may be taken (the kernel learns of the close from the
            // reset it provokes); keep writing, with a bound, until the error shows.
            let mut err = None;
            for _ in 0..1000 {
                match client.write(b"are you there?").await {
                    Ok(_) => ply_net::sleep(Duration::from_millis(1)).await,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            let err = err.expect("writes to a closed peer kept succeeding");
            assert!(is_peer_gone(err.kind()), "{flavor}: {err:?}");
            // Reading from the reset connection ends too: an error or end of stream.
            let mut buf = [0; 16];
            let read = within(Duration::from_secs(5), "a read after the reset", async {
                client.read(&mut buf).await
            })
            .await;
            assert!(
                matches!(&read, Ok(0)) || matches!(&read, Err(e) if is_peer_gone(e.kind())),
                "{flavor}: {read:?}"
            );
        });
    }
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    sigpipe_kills();
    let _w = watchdog("connection refused", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = closed_port();
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{flavor}: {err}");
            let err = TcpStream::connect_timeout(addr, Duration::from_secs(5))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{flavor}: {err}");
            let err = ply_net::TcpSocket::new_v4()
                .unwrap()
                .connect(addr)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{flavor}: {err}");
        });
    }
}

#[test]
fn malformed_addresses_are_invalid_input() {
    sigpipe_kills();
    let _w = watchdog("malformed address", Duration::from_secs(30));
    let rt = util::current_thread();
    rt.block_on(async {
        let err = TcpStream::connect("no-port-here").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = TcpListener::bind("127.0.0.1").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

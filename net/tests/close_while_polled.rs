//! A socket closed while the driver waits on it, on the multi-threaded runtime, under every
//! selector backend (CI runs this file under each).
//!
//! poll(2) and select(2) hold a reference to every file they wait on, so a socket closed
//! by one thread while another is inside `ppoll` stays alive until that wait returns.
//! The emulated backends used not to end the wait on deregistration: a zero-linger drop
//! then sent its RST only when something else woke the driver, and a peer waiting for
//! that RST (with the driver waiting for the peer) hung for good, within about a hundred
//! rounds of this test. The selector now wakes a waiter when an fd it watches is
//! deregistered.

mod util;

use ply_net::{TcpListener, TcpStream};
use std::io::ErrorKind;
use std::time::Duration;
use util::watchdog;

#[test]
fn zero_linger_drops_reset_the_peer_at_once_round_after_round() {
    let _w = watchdog("close while polled", Duration::from_secs(60));
    let rounds = if cfg!(debug_assertions) { 300 } else { 2_000 };
    for round in 0..rounds {
        let rt = ply_net::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            server.set_zero_linger()?;
            drop(server); // the worker may be inside ppoll on this very fd
                          // No timeout around the read: a timer would wake the driver and hide the bug.
                          // The watchdog bounds the test instead.
            let err = client.read(&mut [0; 8]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "round {round}");
            std::io::Result::Ok(())
        })
        .unwrap();
    }
}

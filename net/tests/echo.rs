//! Many connections at once: 1,000 clients each send 10,000 bytes to an echo server on
//! the same runtime and read them back, on the current-thread and on the multi-threaded
//! runtime. Under the select backend the count drops to 200, since select refuses fds
//! from 1024 up and both ends of every connection live in this process.

mod util;

use ply_net::Backend;
use ply_net::{Runtime, TcpStream};
use std::net::Shutdown;
use std::time::Duration;
use util::{backend, checksum, echo_server, pattern, raise_fd_limit, watchdog, within};

/// Bytes each client sends.
const LEN: usize = 10_000;

/// Both tests may run at once, each holding both ends of its connections.
const FD_LIMIT: u64 = 4 * 1_000 + 512;

fn connections() -> usize {
    match backend() {
        Backend::Select => 200,
        _ => 1_000,
    }
}

/// One client: connects, writes its pattern while reading the echo, half-closes, reads to
/// the end. Returns what it sent and what came back.
async fn client(addr: std::net::SocketAddr, id: usize) -> (Vec<u8>, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let sent = pattern(id, LEN);
    let write = async {
        stream.write_all(&sent).await.expect("write");
        stream.shutdown(Shutdown::Write).expect("shutdown");
    };
    let read = async {
        let mut got = Vec::with_capacity(LEN);
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf).await.expect("read") {
                0 => break got,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let ((), got) = futures::join!(write, read);
    (sent, got)
}

fn echo_many(rt: &Runtime, flavor: &str) {
    let n = connections();
    rt.block_on(async {
        let addr = echo_server().await;
        let clients: Vec<_> = (0..n).map(|id| ply_net::spawn(client(addr, id))).collect();
        let (mut sent_sum, mut got_sum, mut bytes) = (0u64, 0u64, 0);
        for (id, c) in clients.into_iter().enumerate() {
            let (sent, got) = within(Duration::from_secs(30), "a client", c)
                .await
                .expect("client task");
            assert_eq!(
                got.len(),
                sent.len(),
                "{flavor}: client {id} got a short echo"
            );
            assert!(
                got == sent,
                "{flavor}: client {id} got different bytes back"
            );
            sent_sum = sent_sum.wrapping_add(checksum(&sent));
            got_sum = got_sum.wrapping_add(checksum(&got));
            bytes += got.len();
        }
        assert_eq!(got_sum, sent_sum, "{flavor}: checksums differ");
        assert_eq!(bytes, n * LEN);
    });
    let s = rt.stats();
    // Both ends of every connection and the listener were registered.
    assert!(
        s.reactor.registrations > 2 * n as u64,
        "{flavor}: {:?}",
        s.reactor
    );
    assert!(s.reactor.events > 0, "{flavor}: {:?}", s.reactor);
    assert!(
        s.executor.spawned >= 2 * n as u64,
        "{flavor}: {:?}",
        s.executor
    );
}

#[test]
fn a_thousand_echoes_on_the_current_thread_runtime() {
    let _w = watchdog("echo current_thread", Duration::from_secs(60));
    raise_fd_limit(FD_LIMIT);
    let rt = Runtime::new_current_thread().unwrap();
    echo_many(&rt, "current_thread");
}

#[test]
fn a_thousand_echoes_on_the_multi_threaded_runtime() {
    let _w = watchdog("echo multi_thread", Duration::from_secs(60));
    raise_fd_limit(FD_LIMIT);
    let rt = util::multi_thread();
    echo_many(&rt, "multi_thread");
}

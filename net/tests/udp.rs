//! `ply_net::UdpSocket` over loopback on both runtimes: a 10,000-datagram echo with
//! checksums, truncation, the bad-input errors and fd churn.

mod util;

use ply_net::UdpSocket;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
// The tests of this binary take turns (`serial`), so the fd-count test sees only its own fds.
use util::{checksum, pattern, runtimes, serial, watchdog, within};

const DATAGRAMS: usize = 10_000;

/// Datagrams in flight at once: well under what the loopback receive buffers hold, so no
/// datagram may be lost (the test allows no loss).
const WINDOW: usize = 32;

/// Datagram `seq`: its number, a checksum of the payload, then a payload whose length
/// and bytes depend on `seq`.
fn datagram(seq: usize) -> Vec<u8> {
    let payload = pattern(seq, 1 + (seq * 7919) % 1400);
    let mut d = Vec::with_capacity(16 + payload.len());
    d.extend_from_slice(&(seq as u64).to_le_bytes());
    d.extend_from_slice(&checksum(&payload).to_le_bytes());
    d.extend_from_slice(&payload);
    d
}

/// Checks an echoed datagram and returns its number.
fn check(d: &[u8]) -> usize {
    assert!(d.len() > 16, "short datagram of {} bytes", d.len());
    let seq = u64::from_le_bytes(d[..8].try_into().unwrap()) as usize;
    let sum = u64::from_le_bytes(d[8..16].try_into().unwrap());
    assert_eq!(checksum(&d[16..]), sum, "datagram {seq} corrupted");
    assert_eq!(&d[16..], &pattern(seq, d.len() - 16)[..], "datagram {seq}");
    seq
}

async fn echo_server(server: Arc<UdpSocket>) {
    let mut buf = vec![0; 2048];
    loop {
        let (n, from) = server.recv_from(&mut buf).await.expect("server recv");
        server.send_to(&buf[..n], from).await.expect("server send");
    }
}

async fn echo_10k(addr: &str) {
    let server = Arc::new(UdpSocket::bind(addr).await.unwrap());
    let server_addr = server.local_addr().unwrap();
    let task = ply_net::spawn(echo_server(server.clone()));
    let client = UdpSocket::bind(addr).await.unwrap();
    client.connect(server_addr).await.unwrap();
    let mut buf = vec![0; 2048];
    let mut received = vec![false; DATAGRAMS];
    let (mut sent, mut got) = (0, 0);
    while got < DATAGRAMS {
        while sent < DATAGRAMS && sent - got < WINDOW {
            let d = datagram(sent);
            assert_eq!(client.send(&d).await.unwrap(), d.len());
            sent += 1;
        }
        let n = within(
            Duration::from_secs(5),
            "echoed datagram",
            client.recv(&mut buf),
        )
        .await
        .unwrap();
        let seq = check(&buf[..n]);
        assert!(!received[seq], "datagram {seq} twice");
        received[seq] = true;
        got += 1;
    }
    assert!(received.iter().all(|&r| r));
    task.abort();
}

#[test]
fn ten_thousand_datagrams_echo_with_checksums_on_v4_and_v6_on_both_runtimes() {
    let _serial = serial();
    let _w = watchdog("udp echo", Duration::from_secs(120));
    for (name, rt) in runtimes() {
        rt.block_on(echo_10k("127.0.0.1:0"));
        if util::has_ipv6() {
            rt.block_on(echo_10k("[::1]:0"));
        }
        eprintln!("{name}: ok");
    }
}

#[test]
fn many_clients_share_one_server_and_each_gets_its_own_answers() {
    let _serial = serial();
    let _w = watchdog("udp clients", Duration::from_secs(60));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let addr = server.local_addr().unwrap();
            let task = ply_net::spawn(echo_server(server));
            let mut clients = Vec::new();
            for c in 0..8usize {
                clients.push(ply_net::spawn(async move {
                    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    let mut buf = [0; 2048];
                    for i in 0..200 {
                        let d = datagram(c * 1000 + i);
                        s.send_to(&d, addr).await.unwrap();
                        let (n, from) =
                            within(Duration::from_secs(5), "answer", s.recv_from(&mut buf))
                                .await
                                .unwrap();
                        assert_eq!(from, addr);
                        assert_eq!(check(&buf[..n]), c * 1000 + i);
                    }
                }));
            }
            for c in clients {
                c.await.unwrap();
            }
            task.abort();
        });
    }
}

#[test]
fn truncation_is_reported_and_peek_leaves_the_datagram() {
    let _serial = serial();
    let _w = watchdog("udp truncation", Duration::from_secs(30));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let to = b.local_addr().unwrap();
            a.send_to(&[1; 500], to).await.unwrap();
            let mut small = [0; 100];
            let (n, from) = b.peek_from(&mut small).await.unwrap();
            assert_eq!((n, from), (100, a.local_addr().unwrap()));
            let meta = b.recv_msg_from(&mut small).await.unwrap();
            assert_eq!((meta.len, meta.truncated), (100, true));
            a.send_to(&[2; 50], to).await.unwrap();
            let meta = b.recv_msg_from(&mut small).await.unwrap();
            assert_eq!((meta.len, meta.truncated), (50, false));
            // Drained: try_recv says WouldBlock without waiting.
            assert_eq!(
                b.try_recv_from(&mut small).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
        });
    }
}

#[test]
fn try_calls_pair_with_readiness() {
    let _serial = serial();
    let _w = watchdog("udp try", Duration::from_secs(30));
    util::current_thread().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.writable().await.unwrap();
        a.try_send_to(b"x", b.local_addr().unwrap()).unwrap();
        let mut buf = [0; 8];
        let n = loop {
            within(Duration::from_secs(5), "readable", b.readable())
                .await
                .unwrap();
            match b.try_recv_from(&mut buf) {
                Ok((n, _)) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"x");
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.try_send(b"yz").unwrap();
        within(Duration::from_secs(5), "readable", b.readable())
            .await
            .unwrap();
        let (n, _) = b.try_peek_from(&mut buf).unwrap();
        assert_eq!(n, 2);
        assert_eq!(b.try_recv(&mut buf).unwrap(), 2);
    });
}

#[test]
fn bad_input_gets_errors() {
    let _serial = serial();
    util::current_thread().block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = UdpSocket::bind(a.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        let err = a
            .join_multicast_v4(Ipv4Addr::new(192, 168, 1, 1), Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        // A connected socket whose peer has no listener learns it from the ICMP reply.
        let gone = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let gone_addr = gone.local_addr().unwrap();
        drop(gone);
        a.connect(gone_addr).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0; 8];
        let err = within(Duration::from_secs(5), "refusal", a.recv(&mut buf))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // send on an unconnected socket: EDESTADDRREQ.
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = b.send(b"where to?").await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EDESTADDRREQ));
        // Bad names are lookup errors, not panics.
        assert!(UdpSocket::bind("not an address").await.is_err());
    });
}

#[test]
fn std_conversions_and_options() {
    let _serial = serial();
    util::current_thread().block_on(async {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_socket.local_addr().unwrap();
        let s = UdpSocket::from_std(std_socket).unwrap();
        assert_eq!(s.local_addr().unwrap(), addr);
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(33).unwrap();
        assert_eq!(s.ttl().unwrap(), 33);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
        s.set_recv_buffer_size(1 << 16).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 1 << 16);
        assert!(format!("{s:?}").contains("UdpSocket"));
        let back = s.into_std().unwrap();
        assert_eq!(back.local_addr().unwrap(), addr);
    });
}

#[test]
fn ten_thousand_bind_close_cycles_leave_the_fd_count_unchanged() {
    let _serial = serial();
    let _w = watchdog("udp churn", Duration::from_secs(120));
    let rt = util::current_thread();
    rt.block_on(async {
        // Warm up whatever the runtime opens lazily before counting.
        drop(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let before = util::fd_count();
        let mut ports = HashMap::new();
        for _ in 0..10_000 {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            *ports.entry(s.local_addr().unwrap().port()).or_insert(0) += 1;
        }
        assert!(!ports.is_empty());
        assert_eq!(util::fd_count(), before);
    });
}

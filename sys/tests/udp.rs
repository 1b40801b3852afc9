//! UDP sockets against the real kernel over loopback: datagrams, truncation, options and
//! the bad-input errors.

mod util;

use ply_sys::UdpSocket;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;
use util::{fd_count, has_ipv6, serial, wait_fd};

fn v4() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Blocks (up to five seconds) until `socket` is readable.
fn wait_readable(socket: &UdpSocket) {
    wait_fd(socket.as_raw_fd(), libc::POLLIN, Duration::from_secs(5));
}

#[test]
fn datagrams_round_trip_on_v4_and_v6_with_their_sender() {
    let _serial = serial();
    let _w = util::watchdog("udp round trip", Duration::from_secs(30));
    let mut addrs = vec![v4()];
    if has_ipv6() {
        addrs.push("[::1]:0".parse().unwrap());
    }
    for addr in addrs {
        let a = UdpSocket::bind(addr).unwrap();
        let b = UdpSocket::bind(addr).unwrap();
        let mut buf = [0; 64];
        // Nothing queued: a nonblocking receive says so instead of sleeping.
        assert_eq!(
            b.recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        for i in 0..100u8 {
            let msg = [i; 33];
            assert_eq!(a.send_to(&msg, &b.local_addr().unwrap()).unwrap(), 33);
            wait_readable(&b);
            let (n, from) = b.peek_from(&mut buf).unwrap();
            assert_eq!((n, from), (33, a.local_addr().unwrap()));
            let (n, from) = b.recv_from(&mut buf).unwrap();
            assert_eq!((n, from), (33, a.local_addr().unwrap()));
            assert_eq!(&buf[..n], &msg);
        }
        // One datagram per read, however large the buffer: two sends, two reads.
        a.send_to(b"one", &b.local_addr().unwrap()).unwrap();
        a.send_to(b"two", &b.local_addr().unwrap()).unwrap();
        wait_readable(&b);
        assert_eq!(b.recv_from(&mut buf).unwrap().0, 3);
        wait_readable(&b);
        assert_eq!(b.recv_from(&mut buf).unwrap().0, 3);
        assert_eq!(&buf[..3], b"two");
        // A zero-length datagram is a datagram, not an end of stream.
        a.send_to(b"", &b.local_addr().unwrap()).unwrap();
        wait_readable(&b);
        assert_eq!(b.recv_from(&mut buf).unwrap().0, 0);
    }
}

#[test]
fn connected_sockets_send_and_recv_and_refuse_strangers() {
    let _serial = serial();
    let a = UdpSocket::bind(v4()).unwrap();
    let b = UdpSocket::bind(v4()).unwrap();
    let stranger = UdpSocket::bind(v4()).unwrap();
    a.connect(&b.local_addr().unwrap()).unwrap();
    b.connect(&a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    stranger.send_to(b"spam", &b.local_addr().unwrap()).unwrap();
    a.send(b"hello").unwrap();
    wait_readable(&b);
    let mut buf = [0; 16];
    assert_eq!(b.peek(&mut buf).unwrap(), 5);
    assert_eq!(b.recv(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    // The stranger's datagram was filtered out by the connect.
    assert_eq!(b.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    // An unconnected socket has no peer.
    assert_eq!(
        stranger.peer_addr().unwrap_err().kind(),
        ErrorKind::NotConnected
    );
}

#[test]
fn a_datagram_longer_than_the_buffer_is_reported_truncated() {
    let _serial = serial();
    let a = UdpSocket::bind(v4()).unwrap();
    let b = UdpSocket::bind(v4()).unwrap();
    let to = b.local_addr().unwrap();
    let big = vec![7u8; 1000];
    a.send_to(&big, &to).unwrap();
    a.send_to(&big[..10], &to).unwrap();
    let mut buf = [0; 100];
    wait_readable(&b);
    let meta = b.recv_msg_from(&mut buf).unwrap();
    assert_eq!((meta.len, meta.truncated), (100, true));
    assert_eq!(meta.addr, a.local_addr().unwrap());
    // The tail is gone: the next read is the next datagram, whole.
    wait_readable(&b);
    let meta = b.recv_msg_from(&mut buf).unwrap();
    assert_eq!((meta.len, meta.truncated), (10, false));
}

#[test]
fn an_address_in_use_is_an_error() {
    let _serial = serial();
    let a = UdpSocket::bind(v4()).unwrap();
    let err = UdpSocket::bind(a.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    // With SO_REUSEADDR on both, the second bind is allowed (multicast receivers).
    let c = UdpSocket::unbound_for(&v4()).unwrap();
    c.set_reuseaddr(true).unwrap();
    c.bind_to(&v4()).unwrap();
    let d = UdpSocket::unbound_for(&v4()).unwrap();
    d.set_reuseaddr(true).unwrap();
    d.bind_to(&c.local_addr().unwrap()).unwrap();
}

#[test]
fn multicast_on_a_non_multicast_address_is_an_error() {
    let _serial = serial();
    let s = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    for group in [
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::BROADCAST,
    ] {
        let err = s
            .join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{group}");
        assert!(err.to_string().contains("not a multicast"), "{err}");
        let err = s
            .leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    if has_ipv6() {
        let s6 = UdpSocket::bind("[::1]:0".parse().unwrap()).unwrap();
        let err = s6.join_multicast_v6(&Ipv6Addr::LOCALHOST, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}

#[test]
fn multicast_on_loopback_reaches_a_member_when_the_host_routes_it() {
    let _serial = serial();
    let _w = util::watchdog("udp multicast", Duration::from_secs(30));
    let group = Ipv4Addr::new(239, 255, 71, 1);
    let rx = UdpSocket::unbound_for(&v4()).unwrap();
    rx.set_reuseaddr(true).unwrap();
    rx.bind_to(&"0.0.0.0:0".parse().unwrap()).unwrap();
    // Join on the loopback interface; a sandbox without multicast on lo says ENODEV or
    // similar, and then there is nothing to test here.
    match rx.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("skipping: cannot join {group} on lo: {e}");
            return;
        }
    }
    let err = rx
        .join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
        .unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EADDRINUSE),
        "joined twice: {err}"
    );
    let tx = UdpSocket::bind(v4()).unwrap();
    tx.set_multicast_loop_v4(true).unwrap();
    assert!(tx.multicast_loop_v4().unwrap());
    tx.set_multicast_ttl_v4(1).unwrap();
    assert_eq!(tx.multicast_ttl_v4().unwrap(), 1);
    let port = rx.local_addr().unwrap().port();
    if tx
        .send_to(b"group", &SocketAddr::from((group, port)))
        .is_err()
    {
        eprintln!("skipping: no route for multicast");
        return;
    }
    let mut pfd = libc::pollfd {
        fd: rx.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the kernel to fill in.
    if unsafe { libc::poll(&mut pfd, 1, 1_000) } != 1 {
        eprintln!("skipping: multicast did not loop back on this host");
        return;
    }
    let mut buf = [0; 16];
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"group");
    rx.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
}

#[test]
fn options_round_trip() {
    let _serial = serial();
    let s = UdpSocket::bind(v4()).unwrap();
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.set_broadcast(false).unwrap();
    assert!(!s.broadcast().unwrap());
    s.set_ttl(17).unwrap();
    assert_eq!(s.ttl().unwrap(), 17);
    assert_eq!(s.set_ttl(256).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        s.set_multicast_ttl_v4(300).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    s.set_recv_buffer_size(64 * 1024).unwrap();
    assert!(s.recv_buffer_size().unwrap() >= 64 * 1024);
    s.set_send_buffer_size(64 * 1024).unwrap();
    assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
    assert_eq!(
        s.set_recv_buffer_size(usize::MAX).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A broadcast send needs SO_BROADCAST: EACCES without it.
    let err = s
        .send_to(b"x", &"255.255.255.255:9".parse().unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    if has_ipv6() {
        let s6 = UdpSocket::unbound_for(&"[::]:0".parse().unwrap()).unwrap();
        s6.set_only_v6(true).unwrap();
        assert!(s6.only_v6().unwrap());
        s6.bind_to(&"[::]:0".parse().unwrap()).unwrap();
        s6.set_ttl(9).unwrap();
        assert_eq!(s6.ttl().unwrap(), 9);
        s6.set_multicast_loop_v6(false).unwrap();
        assert!(!s6.multicast_loop_v6().unwrap());
        s6.set_multicast_hops_v6(3).unwrap();
        assert_eq!(s6.multicast_hops_v6().unwrap(), 3);
    }
}

#[test]
fn std_conversions_keep_the_socket() {
    let _serial = serial();
    let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = std_socket.local_addr().unwrap();
    let ours = UdpSocket::from(std_socket);
    assert_eq!(ours.local_addr().unwrap(), addr);
    let mut buf = [0; 4];
    // Adopted sockets are made nonblocking.
    assert_eq!(
        ours.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    let back = std::net::UdpSocket::from(ours);
    assert_eq!(back.local_addr().unwrap(), addr);
}

#[test]
fn ten_thousand_bind_close_cycles_leave_the_fd_count_unchanged() {
    let _serial = serial();
    let _w = util::watchdog("udp churn", Duration::from_secs(60));
    let before = fd_count();
    for _ in 0..10_000 {
        let s = UdpSocket::bind(v4()).unwrap();
        let c = s.try_clone().unwrap();
        drop((s, c));
    }
    assert_eq!(fd_count(), before);
}

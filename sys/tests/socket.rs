//! Socket calls and options against the real kernel over loopback.

mod util;

use ply_sys::{Connect, Socket};
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;
use util::{has_ipv6, tcp_pair, watchdog};

fn read_exactly(s: &Socket, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while got < n {
        match s.recv(&mut out[got..]) {
            Ok(0) => panic!("eof after {got}"),
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e}"),
        }
    }
    out
}

#[test]
fn options_round_trip() {
    let (client, _server) = tcp_pair(false);
    for on in [true, false] {
        client.set_nodelay(on).unwrap();
        assert_eq!(client.nodelay().unwrap(), on);
        client.set_keepalive(on).unwrap();
        assert_eq!(client.keepalive().unwrap(), on);
        client.set_reuseaddr(on).unwrap();
        assert_eq!(client.reuseaddr().unwrap(), on);
        client.set_reuseport(on).unwrap();
        assert_eq!(client.reuseport().unwrap(), on);
    }
    client.set_ttl(42).unwrap();
    assert_eq!(client.ttl().unwrap(), 42);
    client.set_linger(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
    client.set_linger(None).unwrap();
    assert_eq!(client.linger().unwrap(), None);
    client.set_recv_buffer_size(64 * 1024).unwrap();
    assert!(client.recv_buffer_size().unwrap() >= 64 * 1024);
    client.set_send_buffer_size(64 * 1024).unwrap();
    assert!(client.send_buffer_size().unwrap() >= 64 * 1024);
}

#[test]
fn ipv6_options() {
    if !has_ipv6() {
        return;
    }
    let s = Socket::tcp_for(&"[::1]:0".parse().unwrap()).unwrap();
    s.set_only_v6(true).unwrap();
    assert!(s.only_v6().unwrap());
    s.set_ttl(7).unwrap();
    assert_eq!(s.ttl().unwrap(), 7);
}

#[test]
fn peek_leaves_bytes_queued_and_vectored_io_moves_them_all() {
    let _w = watchdog("peek", Duration::from_secs(30));
    let (client, server) = tcp_pair(false);
    let n = client
        .send_vectored(&[IoSlice::new(b"head-"), IoSlice::new(b"tail")])
        .unwrap();
    assert_eq!(n, 9);
    // Wait until all 9 bytes are queued, then peek them.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut peeked = [0u8; 9];
    loop {
        match server.peek(&mut peeked) {
            Ok(9) => break,
            Ok(_) | Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(&peeked, b"head-tail");
    let mut uninit = [std::mem::MaybeUninit::<u8>::uninit(); 2];
    assert_eq!(server.recv_uninit(&mut uninit).unwrap(), 2);
    // SAFETY: recv_uninit initialised the 2 bytes it reported.
    let two: [u8; 2] = unsafe { std::mem::transmute(uninit) };
    assert_eq!(&two, b"he");
    let (mut a, mut b) = ([0u8; 3], [0u8; 4]);
    let got = server
        .recv_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
        .unwrap();
    assert_eq!(got, 7);
    assert_eq!((&a, &b), (b"ad-", b"tail"));
}

#[test]
fn half_close_then_reply() {
    let _w = watchdog("half_close", Duration::from_secs(30));
    let (mut client, mut server) = tcp_pair(false);
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_exactly(&server, 7), b"request");
    // Then end of stream...
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match server.read(&mut [0u8; 4]) {
            Ok(0) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            other => panic!("expected eof, got {other:?}"),
        }
    }
    // ...and the server still writes back on its open half.
    server.write_all(b"response").unwrap();
    assert_eq!(read_exactly(&client, 8), b"response");
}

#[test]
fn connect_reports_progress_and_addresses_match() {
    let _w = watchdog("connect", Duration::from_secs(30));
    let listener = Socket::tcp_listener("127.0.0.1:0".parse().unwrap(), 8).unwrap();
    let addr = listener.local_addr().unwrap();
    let s = Socket::tcp_for(&addr).unwrap();
    let state = s.connect(&addr).unwrap();
    assert!(matches!(state, Connect::Done | Connect::InProgress));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (server, peer) = loop {
        match listener.accept() {
            Ok(pair) => break pair,
            Err(e) if e.kind() == ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(s.take_error().unwrap().map(|e| e.kind()), None);
    assert_eq!(peer, s.local_addr().unwrap());
    assert_eq!(server.local_addr().unwrap(), addr);
    assert_eq!(s.peer_addr().unwrap(), addr);
}

#[test]
fn std_conversions_keep_the_socket() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = std_listener.local_addr().unwrap();
    let ours = Socket::from(std_listener);
    assert_eq!(ours.local_addr().unwrap(), addr);
    // std's blocking accept would hang: ours is nonblocking now.
    assert_eq!(ours.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    let back: std::net::TcpListener = ours.into();
    assert_eq!(back.local_addr().unwrap(), addr);
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let addr = Socket::tcp_listener("127.0.0.1:0".parse().unwrap(), 1)
        .unwrap()
        .local_addr()
        .unwrap();
    let err = Socket::tcp_connect_timeout(addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

//! `TcpListener` and `TcpSocket`: the `incoming()` stream, two `SO_REUSEPORT` listeners on
//! one port, `TcpSocket` connects, std conversions and options.

mod util;

use futures::StreamExt;
use ply_net::{TcpListener, TcpSocket, TcpStream};
use std::collections::HashSet;
use std::time::Duration;
use util::{runtimes, watchdog, within};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn incoming_yields_each_connection() {
    let _w = watchdog("incoming", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let clients = ply_net::spawn(async move {
                let mut streams = Vec::new();
                for i in 0..5u8 {
                    let s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(&[i]).await.unwrap();
                    streams.push(s);
                }
                streams
            });
            let accepted: Vec<TcpStream> = within(LIMIT, "five connections", async {
                listener
                    .incoming()
                    .take(5)
                    .map(|s| s.expect("accept"))
                    .collect()
                    .await
            })
            .await;
            let clients = clients.await.unwrap();
            // Each accepted stream is the server end of one client, each client once.
            let client_addrs: HashSet<_> =
                clients.iter().map(|c| c.local_addr().unwrap()).collect();
            let peers: HashSet<_> = accepted.iter().map(|s| s.peer_addr().unwrap()).collect();
            assert_eq!(peers, client_addrs, "{flavor}");
            let mut ids = Vec::new();
            for s in &accepted {
                let mut b = [0];
                within(LIMIT, "a client's byte", s.read_exact(&mut b))
                    .await
                    .unwrap();
                ids.push(b[0]);
            }
            ids.sort();
            assert_eq!(ids, [0, 1, 2, 3, 4], "{flavor}");
        });
    }
}

#[test]
fn two_reuseport_listeners_share_a_port() {
    let _w = watchdog("reuseport", Duration::from_secs(30));
    const CLIENTS: usize = 64;
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let first = TcpSocket::new_v4().unwrap();
            first.set_reuseport(true).unwrap();
            first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = first.local_addr().unwrap();
            let a = first.listen(128).unwrap();
            let second = TcpSocket::new_v4().unwrap();
            second.set_reuseport(true).unwrap();
            second.bind(addr).unwrap();
            let b = second.listen(128).unwrap();
            assert_eq!(b.local_addr().unwrap(), addr);

            // A third socket without SO_REUSEPORT cannot join them.
            let third = TcpSocket::new_v4().unwrap();
            let err = third.bind(addr).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{flavor}: {err}");

            // Each listener answers with its own name; the kernel spreads connections
            // by hashing their addresses, so 64 of them reach both.
            for (listener, name) in [(a, b'a'), (b, b'b')] {
                drop(ply_net::spawn(async move {
                    loop {
                        let (s, _) = listener.accept().await.unwrap();
                        drop(ply_net::spawn(async move { s.write_all(&[name]).await }));
                    }
                }));
            }
            let mut counts = [0; 2];
            for _ in 0..CLIENTS {
                let s = TcpStream::connect(addr).await.unwrap();
                let mut b = [0];
                within(LIMIT, "a listener's name", s.read_exact(&mut b))
                    .await
                    .unwrap();
                counts[usize::from(b[0] - b'a')] += 1;
            }
            assert_eq!(counts[0] + counts[1], CLIENTS, "{flavor}");
            assert!(
                counts[0] > 0 && counts[1] > 0,
                "{flavor}: one listener got every connection: {counts:?}"
            );
        });
    }
}

#[test]
fn tcp_socket_connects_with_options_set_first() {
    let _w = watchdog("TcpSocket connect", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = util::echo_server().await;
            let socket = TcpSocket::new_for(&addr).unwrap();
            socket.set_nodelay(true).unwrap();
            socket.set_send_buffer_size(64 * 1024).unwrap();
            socket.set_recv_buffer_size(64 * 1024).unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let local = socket.local_addr().unwrap();
            let stream = socket.connect(addr).await.unwrap();
            assert_eq!(stream.local_addr().unwrap(), local, "{flavor}");
            assert!(stream.nodelay().unwrap(), "{flavor}: TCP_NODELAY was lost");
            stream.write_all(b"socket").await.unwrap();
            let mut buf = [0; 6];
            within(LIMIT, "the echo", stream.read_exact(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf, b"socket", "{flavor}");
        });
    }
}

#[test]
fn ipv6_only_sockets_and_listeners() {
    if !util::has_ipv6() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let _w = watchdog("v6 socket", Duration::from_secs(30));
    let rt = util::current_thread();
    rt.block_on(async {
        let socket = TcpSocket::new_v6().unwrap();
        socket.set_only_v6(true).unwrap();
        socket.bind("[::1]:0".parse().unwrap()).unwrap();
        let listener = socket.listen(16).unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
        let (server, peer) = accepted.unwrap();
        assert_eq!(peer, client.unwrap().local_addr().unwrap());
        assert!(server.local_addr().unwrap().is_ipv6());
        // IPV6_V6ONLY on an IPv4 socket is an error.
        assert!(TcpSocket::new_v4().unwrap().set_only_v6(true).is_err());
    });
}

#[test]
fn std_listeners_convert_both_ways() {
    let _w = watchdog("listener from_std/into_std", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            assert_eq!(listener.local_addr().unwrap(), addr);
            let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
            assert_eq!(
                accepted.unwrap().1,
                client.unwrap().local_addr().unwrap(),
                "{flavor}"
            );

            // Back to std: left nonblocking, so an empty queue is WouldBlock.
            let std_listener = listener.into_std().unwrap();
            let err = std_listener.accept().unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock, "{flavor}");
            let _client = std::net::TcpStream::connect(addr).unwrap();
            std_listener.set_nonblocking(false).unwrap();
            let (s, _) = std_listener.accept().unwrap();
            assert_eq!(s.local_addr().unwrap(), addr, "{flavor}");

            // And into ply again.
            let listener = TcpListener::from_std(std_listener).unwrap();
            let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
            assert_eq!(
                accepted.unwrap().1,
                client.unwrap().local_addr().unwrap(),
                "{flavor}"
            );
        });
    }
}

#[test]
fn listener_options_and_addresses() {
    let _w = watchdog("listener options", Duration::from_secs(30));
    let rt = util::current_thread();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0, "port 0 was not replaced by the real port");
        listener.set_ttl(17).unwrap();
        assert_eq!(listener.ttl().unwrap(), 17);
        // The same port again is taken.
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
        // A host name binds too (resolved on the blocking pool).
        let named = TcpListener::bind("localhost:0").await.unwrap();
        assert!(named.local_addr().unwrap().ip().is_loopback());
        let debug = format!("{listener:?}");
        assert!(debug.contains(&addr.to_string()), "{debug}");
    });
}

#[test]
fn several_tasks_accepting_on_one_listener_all_get_a_connection() {
    let _w = watchdog("several_accepters", std::time::Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let l = std::sync::Arc::new(ply_net::TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = l.local_addr().unwrap();
            let accepters: Vec<_> = (0..3)
                .map(|_| {
                    let l = l.clone();
                    ply_net::spawn(async move { l.accept().await.map(|(s, _)| s) })
                })
                .collect();
            ply_net::sleep(std::time::Duration::from_millis(20)).await;
            let mut clients = Vec::new();
            for _ in 0..3 {
                clients.push(ply_net::TcpStream::connect(addr).await.unwrap());
                ply_net::sleep(std::time::Duration::from_millis(10)).await;
            }
            for a in accepters {
                let res = ply_net::timeout(std::time::Duration::from_secs(10), a).await;
                let stream =
                    res.unwrap_or_else(|_| panic!("{flavor}: an accepter was never woken"));
                stream.unwrap().unwrap();
            }
        });
    }
}

//! `TcpStream` over loopback: half-close, the borrowed and owned halves, peek, vectored
//! I/O, the `try_*` calls with readiness, host-name connects, timeouts, IPv6, std
//! conversions and socket options. Each behaviour on both runtime flavours.

mod util;

use ply_net::{TcpListener, TcpStream};
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::time::Duration;
use util::{echo_server, has_ipv6, pattern, runtimes, watchdog, within};

const LIMIT: Duration = Duration::from_secs(10);

/// A connected pair on the current runtime: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
    let client = client.unwrap();
    let (server, peer) = accepted.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    (client, server)
}

/// Reads until end of stream.
async fn read_to_end(stream: &TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf).await.unwrap() {
            0 => return out,
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn half_close_lets_the_server_answer_after_end_of_stream() {
    let _w = watchdog("half close", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let server = ply_net::spawn(async move {
                // The whole request, up to the client's end of stream.
                let request = read_to_end(&server).await;
                // Reading again still says end of stream.
                assert_eq!(server.read(&mut [0; 8]).await.unwrap(), 0);
                let mut answer = b"got ".to_vec();
                answer.extend_from_slice(&request);
                server.write_all(&answer).await.unwrap();
                request.len()
            });
            client.write_all(b"the request").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let answer = within(LIMIT, "the answer", read_to_end(&client)).await;
            assert_eq!(answer, b"got the request", "{flavor}");
            assert_eq!(server.await.unwrap(), 11, "{flavor}");
            // Writing after our own shutdown is an error, not a hang.
            let err = client.write(b"late").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{flavor}: {err}");
        });
    }
}

#[test]
fn borrowed_halves_read_and_write_concurrently() {
    let _w = watchdog("split", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = echo_server().await;
            let mut stream = TcpStream::connect(addr).await.unwrap();
            // Large enough that writing all before reading would stall on full buffers.
            let data = pattern(7, 1 << 20).repeat(8);
            // Through the futures_io traits, as generic code would use the halves.
            let (mut r, mut w) = stream.split();
            let write = async {
                futures::AsyncWriteExt::write_all(&mut w, &data)
                    .await
                    .unwrap();
                // AsyncWrite::close is shutdown(Write).
                futures::AsyncWriteExt::close(&mut w).await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                futures::AsyncReadExt::read_to_end(&mut r, &mut got)
                    .await
                    .unwrap();
                got
            };
            let ((), got) = within(LIMIT, "the split echo", async {
                futures::join!(write, read)
            })
            .await;
            assert_eq!(got.len(), data.len(), "{flavor}");
            assert!(got == data, "{flavor}: different bytes came back");
            // The inherent methods of the halves too.
            let (r, w) = stream.split();
            assert!(
                w.write(b"x").await.is_err(),
                "{flavor}: written after close"
            );
            assert_eq!(r.read(&mut [0; 4]).await.unwrap(), 0, "{flavor}");
        });
    }
}

#[test]
fn owned_halves_work_in_two_tasks_and_reunite() {
    let _w = watchdog("into_split", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let (read, write) = client.into_split();
            assert_eq!(read.peer_addr().unwrap(), server.local_addr().unwrap());
            assert_eq!(write.local_addr().unwrap(), server.peer_addr().unwrap());

            // The server echoes; the client reads in one task and writes in another.
            let echo = ply_net::spawn(util::echo(server));
            let data = pattern(3, 1 << 20);
            let sent = data.clone();
            let writer = ply_net::spawn(async move {
                write.write_all(&sent).await.unwrap();
                write
            });
            let reader = ply_net::spawn(async move {
                let mut got = vec![0; data.len()];
                read.read_exact(&mut got).await.unwrap();
                assert!(got == data, "different bytes came back");
                read
            });
            let write = within(LIMIT, "the writer", writer).await.unwrap();
            let read = within(LIMIT, "the reader", reader).await.unwrap();

            // Halves of different streams do not reunite, and say so.
            let (other, _other_server) = pair().await;
            let (other_read, other_write) = other.into_split();
            let err = read.reunite(other_write).unwrap_err();
            assert!(err.to_string().contains("different"), "{err}");
            let ply_net::ReuniteError(read, other_write) = err;
            drop((other_read, other_write));

            // Reunited, the stream is whole again and still open for writing.
            let stream = read.reunite(write).expect("halves of one stream reunite");
            stream.write_all(b"tail").await.unwrap();
            let mut tail = [0; 4];
            within(LIMIT, "the tail", stream.read_exact(&mut tail))
                .await
                .unwrap();
            assert_eq!(&tail, b"tail", "{flavor}");

            // Dropping an owned write half shuts down writing: the peer reads end of
            // stream (here the echo task ends, and its own shutdown reaches us).
            let (read, write) = stream.into_split();
            drop(write);
            let echoed = within(LIMIT, "the echo task", echo).await.unwrap().unwrap();
            assert_eq!(echoed, (1 << 20) + 4, "{flavor}");
            assert_eq!(read.read(&mut [0; 4]).await.unwrap(), 0, "{flavor}");
        });
    }
}

#[test]
fn peek_leaves_the_bytes_for_the_next_read() {
    let _w = watchdog("peek", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            client.write_all(b"hello").await.unwrap();
            let mut buf = [0; 16];
            // Loopback delivers a 5-byte write at once; wait until all five are queued.
            let mut n = 0;
            while n < 5 {
                n = within(LIMIT, "peek", server.peek(&mut buf)).await.unwrap();
            }
            assert_eq!(&buf[..n], b"hello", "{flavor}");
            // Peeking again sees the same bytes; reading consumes them.
            assert_eq!(server.peek(&mut buf).await.unwrap(), 5, "{flavor}");
            let mut got = [0; 5];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"hello", "{flavor}");
            // Nothing left now.
            assert_eq!(
                server.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock,
                "{flavor}"
            );
        });
    }
}

#[test]
fn vectored_reads_and_writes_scatter_and_gather() {
    let _w = watchdog("vectored", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let parts: [&[u8]; 3] = [b"one ", b"two ", b"three"];
            let total: usize = parts.iter().map(|p| p.len()).sum();
            let n = client
                .write_vectored(&parts.map(IoSlice::new))
                .await
                .unwrap();
            // A loopback socket with empty buffers takes 13 bytes in one call.
            assert_eq!(n, total, "{flavor}");

            let (mut a, mut b) = ([0; 6], [0; 32]);
            let mut got = 0;
            while got < total {
                let mut bufs = [IoSliceMut::new(&mut a[..]), IoSliceMut::new(&mut b[..])];
                // Skip what is already filled, so repeated reads continue in place.
                let mut rest = &mut bufs[..];
                IoSliceMut::advance_slices(&mut rest, got);
                got += within(LIMIT, "read_vectored", server.read_vectored(rest))
                    .await
                    .unwrap();
            }
            assert_eq!(&a, b"one tw", "{flavor}");
            assert_eq!(&b[..total - 6], b"o three", "{flavor}");

            // The futures_io traits route to the same vectored calls.
            let mut c = &client;
            let n = futures::AsyncWriteExt::write_vectored(
                &mut c,
                &[IoSlice::new(b"ab"), IoSlice::new(b"cd")],
            )
            .await
            .unwrap();
            assert_eq!(n, 4, "{flavor}");
            let mut server = server;
            let (mut x, mut y) = ([0; 1], [0; 3]);
            let mut got = 0;
            while got < 4 {
                let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
                let mut rest = &mut bufs[..];
                IoSliceMut::advance_slices(&mut rest, got);
                got += futures::AsyncReadExt::read_vectored(&mut server, rest)
                    .await
                    .unwrap();
            }
            assert_eq!((&x, &y), (b"a", b"bcd"), "{flavor}");
        });
    }
}

#[test]
fn try_read_and_try_write_pair_with_readiness() {
    let _w = watchdog("try_read/try_write", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            // More than loopback's send and receive buffers together hold.
            let data = pattern(11, 1 << 20).repeat(32);
            // Without a reader, try_write fills the buffers and then says WouldBlock.
            let mut off = 0;
            loop {
                match client.try_write(&data[off..]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{flavor}: try_write: {e}"),
                }
                assert!(
                    off < data.len(),
                    "{flavor}: 32 MiB written, never WouldBlock"
                );
            }
            assert!(off > 0, "{flavor}: nothing written to a fresh connection");
            // With a reader draining, writable() wakes the writer until all is through.
            let writer = async {
                while off < data.len() {
                    client.writable().await.unwrap();
                    match client.try_write(&data[off..]) {
                        Ok(n) => off += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => panic!("try_write: {e}"),
                    }
                }
                client.shutdown(Shutdown::Write).unwrap();
            };
            let reader = async {
                let mut got = Vec::new();
                let mut buf = vec![0; 64 * 1024];
                loop {
                    server.readable().await.unwrap();
                    match server.try_read(&mut buf) {
                        Ok(0) => return got,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => panic!("try_read: {e}"),
                    }
                }
            };
            let ((), got) = within(LIMIT, "try_* transfer", async {
                futures::join!(writer, reader)
            })
            .await;
            assert_eq!(got.len(), data.len(), "{flavor}");
            assert!(got == data, "{flavor}: different bytes came through");
        });
    }
}

#[test]
fn try_read_without_data_is_would_block() {
    let _w = watchdog("try_read empty", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let err = server.try_read(&mut [0; 8]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{flavor}");
            // A fresh connection can be written at once.
            client.writable().await.unwrap();
            assert_eq!(client.try_write(b"ping").unwrap(), 4, "{flavor}");
            server.readable().await.unwrap();
            let mut buf = [0; 8];
            let mut n = 0;
            while n < 4 {
                match server.try_read(&mut buf[n..]) {
                    Ok(m) => n += m,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => server.readable().await.unwrap(),
                    Err(e) => panic!("{flavor}: {e}"),
                }
            }
            assert_eq!(&buf[..4], b"ping", "{flavor}");
        });
    }
}

#[test]
fn connect_resolves_host_names_on_the_blocking_pool() {
    let _w = watchdog("localhost", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = echo_server().await;
            let port = addr.port();
            // "localhost" may resolve to ::1 first, where nobody listens: connect tries
            // each address in turn.
            for stream in [
                TcpStream::connect(format!("localhost:{port}")).await,
                TcpStream::connect(("localhost", port)).await,
                TcpStream::connect_timeout(format!("localhost:{port}"), LIMIT).await,
            ] {
                let stream = stream.unwrap_or_else(|e| panic!("{flavor}: {e}"));
                assert_eq!(stream.peer_addr().unwrap(), addr, "{flavor}");
                stream.write_all(b"name").await.unwrap();
                let mut buf = [0; 4];
                within(LIMIT, "the echo", stream.read_exact(&mut buf))
                    .await
                    .unwrap();
                assert_eq!(&buf, b"name", "{flavor}");
            }
        });
    }
}

#[test]
fn connect_timeout_connects_and_a_read_timeout_elapses() {
    let _w = watchdog("timeouts", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect_timeout(addr, Duration::from_secs(5))
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();

            // Nobody writes: the read gives up at the deadline, not before.
            let start = std::time::Instant::now();
            let mut buf = [0; 8];
            let res = ply_net::timeout(Duration::from_millis(100), client.read(&mut buf)).await;
            assert!(res.is_err(), "{flavor}: read returned {res:?}");
            assert!(start.elapsed() >= Duration::from_millis(100), "{flavor}");

            // The stream is intact after the abandoned read.
            server.write_all(b"late").await.unwrap();
            let n = within(LIMIT, "the late read", client.read(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"late", "{flavor}");
        });
    }
}

#[test]
fn ipv6_loopback_echoes() {
    if !has_ipv6() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let _w = watchdog("ipv6", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("[::1]:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            assert!(addr.is_ipv6());
            drop(ply_net::spawn(util::serve_echo(listener)));
            let stream = TcpStream::connect(addr).await.unwrap();
            assert!(stream.local_addr().unwrap().is_ipv6());
            let data = pattern(6, 100_000);
            let (w, got) = futures::join!(
                async {
                    stream.write_all(&data).await.unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                },
                within(LIMIT, "the v6 echo", read_to_end(&stream))
            );
            let () = w;
            assert!(got == data, "{flavor}: different bytes came back over IPv6");
        });
    }
}

#[test]
fn std_streams_convert_both_ways() {
    let _w = watchdog("from_std/into_std", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let (mut std_server, _) = std_listener.accept().unwrap();

            // std → ply: registered and async.
            let client = TcpStream::from_std(std_client).unwrap();
            std_server.write_all(b"from std").unwrap();
            let mut buf = [0; 8];
            within(LIMIT, "the read", client.read_exact(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf, b"from std", "{flavor}");
            client.write_all(b"from ply").await.unwrap();
            std_server.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"from ply", "{flavor}");

            // ply → std: deregistered, left nonblocking; blocking again, it works as std.
            let mut back = client.into_std().unwrap();
            let err = back.read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{flavor}");
            back.set_nonblocking(false).unwrap();
            back.set_read_timeout(Some(LIMIT)).unwrap();
            std_server.write_all(b"std again").unwrap();
            let mut buf = [0; 9];
            back.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"std again", "{flavor}");

            // And into ply once more.
            let again = TcpStream::from_std(back).unwrap();
            std_server.write_all(b"!").unwrap();
            let mut one = [0; 1];
            within(LIMIT, "the read", again.read_exact(&mut one))
                .await
                .unwrap();
            assert_eq!(&one, b"!", "{flavor}");
        });
    }
}

/// `set_zero_linger` then drop: an abortive close. The peer, waiting in a read, is woken
/// with `ConnectionReset` (not end of stream), and so is a read after it.
#[test]
fn a_zero_linger_drop_resets_the_peer() {
    let _w = watchdog("zero linger", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            server.write_all(b"hello").await.unwrap();
            let mut head = [0; 5];
            client.read_exact(&mut head).await.unwrap();
            let reader = ply_net::spawn(async move {
                let first = client.read(&mut [0; 64]).await;
                (client, first)
            });
            // Most likely the reader waits by now; if not, its read meets the reset anyway.
            ply_net::sleep(Duration::from_millis(20)).await;
            server.set_zero_linger().unwrap();
            assert_eq!(server.linger().unwrap(), Some(Duration::ZERO));
            drop(server);
            let (client, first) = within(LIMIT, "the reset read", reader).await.unwrap();
            let err = first.expect_err("a read after an abortive close succeeded");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{flavor}: {err:?}");
            // The reset is reported once; after it the connection reads as closed.
            let again = within(LIMIT, "a read after the reset", client.read(&mut [0; 8])).await;
            assert!(matches!(again, Ok(0) | Err(_)), "{flavor}: {again:?}");
        });
    }
}

#[test]
fn socket_options_round_trip() {
    let _w = watchdog("options", Duration::from_secs(30));
    let rt = util::current_thread();
    rt.block_on(async {
        let (client, _server) = pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_keepalive(true).unwrap();
        assert!(client.keepalive().unwrap());
        assert_eq!(client.linger().unwrap(), None);
        client.set_zero_linger().unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        assert_eq!(
            client.set_ttl(256).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let debug = format!("{client:?}");
        assert!(
            debug.contains("TcpStream") && debug.contains("peer"),
            "{debug}"
        );
    });
}

#[test]
fn connect_timeout_gives_up_on_a_listener_whose_queue_is_full() {
    let _w = watchdog("connect_timeout elapses", Duration::from_secs(30));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // A listener that never accepts, with the smallest queue: once the queue is
            // full, Linux drops further SYNs and those connects hang until they time out.
            let socket = ply_net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let listener = socket.listen(0).unwrap();
            let addr = listener.local_addr().unwrap();
            let mut queued = Vec::new();
            let mut timed_out = None;
            for _ in 0..16 {
                match TcpStream::connect_timeout(addr, Duration::from_millis(200)).await {
                    Ok(s) => queued.push(s),
                    Err(e) => {
                        timed_out = Some(e);
                        break;
                    }
                }
            }
            let err = timed_out.expect("16 connects to a full queue all succeeded");
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{flavor}: {err}");
            assert!(!queued.is_empty(), "{flavor}: not even the queue took one");
        });
    }
}

#[test]
fn streams_work_without_a_runtime() {
    let _w = watchdog("no runtime", Duration::from_secs(30));
    // Someone else's executor and no ply runtime at all: the reactor and the timer fall
    // back to their own threads (the reactor thread and the timer thread).
    futures::executor::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = futures::join!(TcpStream::connect(addr), listener.accept());
        let client = client.unwrap();
        let (server, _) = accepted.unwrap();
        client.write_all(b"no runtime").await.unwrap();
        let mut buf = [0; 10];
        within(LIMIT, "the read", server.read_exact(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf, b"no runtime");
        // And a timeout on the fallback timer.
        let res = ply_net::timeout(Duration::from_millis(20), server.read(&mut buf)).await;
        assert!(res.is_err(), "{res:?}");
    });
}

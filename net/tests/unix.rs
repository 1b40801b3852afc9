//! ply-net's Unix-domain sockets on both runtimes, over socket files in a temp dir and
//! the abstract namespace: a 1,000 × 10,000 B echo, fd passing, credentials, datagrams,
//! the bad-input errors and fd churn.

mod util;

use futures::{AsyncReadExt, AsyncWriteExt};
use ply_net::unix::UnixAddr;
use ply_net::{UnixDatagram, UnixListener, UnixStream};
use std::io::{ErrorKind, IoSlice};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;
// The tests of this binary take turns (`serial`), so the fd-count tests see only their own fds.
use util::{checksum, fd_count, pattern, runtimes, serial, watchdog, within, TempDir};

const CLIENTS: usize = 10;
const MESSAGES: usize = 100; // per client: 1,000 in all
const SIZE: usize = 10_000;

async fn echo(stream: UnixStream) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        match stream.read(&mut buf).await.expect("server read") {
            0 => break,
            n => stream.write_all(&buf[..n]).await.expect("server write"),
        }
    }
    stream.shutdown(std::net::Shutdown::Write).unwrap();
}

#[test]
fn a_thousand_messages_of_ten_thousand_bytes_echo_on_both_runtimes() {
    let _serial = serial();
    let _w = watchdog("unix echo", Duration::from_secs(120));
    for (name, rt) in runtimes() {
        let dir = TempDir::new();
        let path = dir.path("echo.sock");
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let server = ply_net::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    drop(ply_net::spawn(echo(s)));
                }
            });
            let mut clients = Vec::new();
            for c in 0..CLIENTS {
                let path = path.clone();
                clients.push(ply_net::spawn(async move {
                    let stream = UnixStream::connect(&path).await.unwrap();
                    let (r, mut w) = stream.into_split();
                    let writer = ply_net::spawn(async move {
                        for m in 0..MESSAGES {
                            w.write_all(&pattern(c * MESSAGES + m, SIZE)).await.unwrap();
                        }
                        w.close().await.unwrap();
                    });
                    let mut buf = vec![0; SIZE];
                    for m in 0..MESSAGES {
                        within(Duration::from_secs(20), "echo", r.read_exact(&mut buf))
                            .await
                            .unwrap();
                        let want = pattern(c * MESSAGES + m, SIZE);
                        assert_eq!(checksum(&buf), checksum(&want), "client {c} message {m}");
                    }
                    assert_eq!(r.read(&mut buf).await.unwrap(), 0, "end of stream");
                    writer.await.unwrap();
                }));
            }
            for c in clients {
                c.await.unwrap();
            }
            server.abort();
        });
        eprintln!("{name}: ok");
    }
}

#[test]
fn a_pipe_passed_ten_thousand_times_works_and_leaks_nothing_on_both_runtimes() {
    let _serial = serial();
    let _w = watchdog("unix fd passing", Duration::from_secs(120));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let before = fd_count();
            let mut fds = Vec::new();
            for i in 0..10_000u32 {
                let (r, w) = ply_sys::pipe().unwrap();
                a.send_with_fds(&[IoSlice::new(&i.to_le_bytes())], &[w.as_fd()])
                    .await
                    .unwrap();
                drop(w);
                let mut buf = [0; 4];
                let got = within(
                    Duration::from_secs(5),
                    "fd",
                    b.recv_with_fds(&mut buf, &mut fds, 1),
                )
                .await
                .unwrap();
                assert_eq!((got.len, got.fds_truncated, fds.len()), (4, false, 1));
                assert_eq!(u32::from_le_bytes(buf), i);
                let w2 = fds.pop().unwrap();
                ply_sys::write(w2.as_fd(), b"!").unwrap();
                drop(w2);
                assert_eq!(ply_sys::read(r.as_fd(), &mut [0; 2]).unwrap(), 1);
            }
            assert_eq!(fd_count(), before, "fds leaked");
            // More fds than the receiver has room for: the extras are closed.
            let pipes: Vec<_> = (0..3).map(|_| ply_sys::pipe().unwrap()).collect();
            let all: Vec<_> = pipes
                .iter()
                .flat_map(|(r, w)| [r.as_fd(), w.as_fd()])
                .collect();
            a.send_with_fds(&[IoSlice::new(b"x")], &all).await.unwrap();
            drop(all);
            drop(pipes);
            let got = b.recv_with_fds(&mut [0; 1], &mut fds, 2).await.unwrap();
            assert!(got.fds_truncated);
            assert_eq!(fds.len(), 2);
            fds.clear();
            assert_eq!(fd_count(), before, "extra fds leaked");
        });
    }
}

#[test]
fn peer_credentials_addresses_and_half_close() {
    let _serial = serial();
    let _w = watchdog("unix cred", Duration::from_secs(30));
    for (_, rt) in runtimes() {
        let dir = TempDir::new();
        let path = dir.path("cred.sock");
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            let client = UnixStream::connect(&path).await.unwrap();
            let (server, peer) = listener.accept().await.unwrap();
            assert!(peer.is_unnamed());
            assert_eq!(
                client.peer_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            let cred = server.peer_cred().unwrap();
            assert_eq!(cred.pid, std::process::id() as i32);
            // SAFETY: geteuid cannot fail and touches no memory.
            assert_eq!(cred.uid, unsafe { libc::geteuid() });
            // futures-io traits, and the half-close through poll_close.
            let mut c = client;
            c.write_all(b"bye").await.unwrap();
            c.close().await.unwrap();
            let mut got = Vec::new();
            let mut s = server;
            within(
                Duration::from_secs(5),
                "read to end",
                s.read_to_end(&mut got),
            )
            .await
            .unwrap();
            assert_eq!(got, b"bye");
            // The other direction still works after the client's half-close.
            s.write_all(b"ok").await.unwrap();
            let mut buf = [0; 2];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ok");
            // Halves come back together.
            let (r, w) = c.into_split();
            let c = r.reunite(w).unwrap();
            assert!(format!("{c:?}").contains("UnixStream"));
        });
    }
}

#[test]
fn path_errors_and_abstract_names() {
    let _serial = serial();
    let dir = TempDir::new();
    util::current_thread().block_on(async {
        let long = dir.path(&"n".repeat(150));
        let err = UnixListener::bind(&long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = UnixStream::connect(&long).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let path = dir.path("taken.sock");
        let first = UnixListener::bind(&path).unwrap();
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        drop(first);
        // The file outlives its socket: a bind is still refused, a connect is refused.
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = UnixStream::connect(dir.path("missing.sock"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = UnixDatagram::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);

        let name = format!("ply-net-test-{}", std::process::id());
        let addr = UnixAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert!(UnixListener::bind_addr(&addr).is_err());
        let reactor = ply_reactor::Reactor::current().unwrap();
        let c = UnixStream::connect_addr(&addr, &reactor).unwrap();
        let (s, _) = listener.accept().await.unwrap();
        c.write_all(b"abstract").await.unwrap();
        let mut buf = [0; 8];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
    });
}

#[test]
fn datagrams_on_both_runtimes() {
    let _serial = serial();
    let _w = watchdog("unix datagrams", Duration::from_secs(60));
    for (_, rt) in runtimes() {
        let dir = TempDir::new();
        rt.block_on(async {
            let a = UnixDatagram::bind(dir.path("a.sock")).unwrap();
            let b = UnixDatagram::bind(dir.path("b.sock")).unwrap();
            let b_addr = b.local_addr().unwrap();
            for i in 0..1_000 {
                let msg = pattern(i, 1 + i % 2000);
                a.send_to(&msg, &b_addr).await.unwrap();
                let mut buf = vec![0; 4096];
                let (n, from) = within(Duration::from_secs(5), "datagram", b.recv_from(&mut buf))
                    .await
                    .unwrap();
                assert_eq!(&buf[..n], &msg[..]);
                assert_eq!(from.as_pathname(), Some(dir.path("a.sock").as_path()));
            }
            a.send_to(&[1; 500], &b_addr).await.unwrap();
            let (meta, _) = b.recv_msg_from(&mut [0; 100]).await.unwrap();
            assert_eq!((meta.len, meta.truncated), (100, true));
            // A pair, fd passing, and a peer that has gone.
            let (p, q) = UnixDatagram::pair().unwrap();
            let (r, w) = ply_sys::pipe().unwrap();
            p.send_with_fds(&[IoSlice::new(b"fd")], &[w.as_fd()])
                .await
                .unwrap();
            drop(w);
            let mut fds = Vec::new();
            let got = q.recv_with_fds(&mut [0; 2], &mut fds, 1).await.unwrap();
            assert_eq!((got.len, fds.len()), (2, 1));
            ply_sys::write(fds[0].as_fd(), b"?").unwrap();
            assert_eq!(ply_sys::read(r.as_fd(), &mut [0; 1]).unwrap(), 1);
            drop(q);
            let err = p.send(b"anyone?").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
            let u = UnixDatagram::unbound().unwrap();
            u.send_to(b"from nobody", &b_addr).await.unwrap();
            let (_, from) = b.recv_from(&mut [0; 16]).await.unwrap();
            assert!(from.is_unnamed());
        });
    }
}

#[test]
fn std_conversions() {
    let _serial = serial();
    util::current_thread().block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = UnixStream::from_std(a).unwrap();
        let b = UnixStream::from_std(b).unwrap();
        a.write_all(b"std").await.unwrap();
        let mut buf = [0; 3];
        b.read_exact(&mut buf).await.unwrap();
        let a = a.into_std().unwrap();
        assert!(a.as_raw_fd() >= 0);
        let d =
            UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound().unwrap()).unwrap();
        let _ = d.into_std().unwrap();
        let dir = TempDir::new();
        let l = std::os::unix::net::UnixListener::bind(dir.path("l.sock")).unwrap();
        let l = UnixListener::from_std(l).unwrap();
        let _ = l.into_std().unwrap();
    });
}

#[test]
fn ten_thousand_bind_close_cycles_of_each_kind_leave_the_fd_count_unchanged() {
    let _serial = serial();
    let _w = watchdog("unix churn", Duration::from_secs(120));
    let dir = TempDir::new();
    util::current_thread().block_on(async {
        drop(UnixStream::pair().unwrap());
        let before = fd_count();
        for i in 0..10_000 {
            let p = dir.path(&format!("l{i}"));
            drop(UnixListener::bind(&p).unwrap());
            std::fs::remove_file(&p).unwrap();
            let p = dir.path(&format!("d{i}"));
            drop(UnixDatagram::bind(&p).unwrap());
            std::fs::remove_file(&p).unwrap();
            drop(UnixStream::pair().unwrap());
            drop(UnixDatagram::pair().unwrap());
        }
        assert_eq!(fd_count(), before);
    });
}

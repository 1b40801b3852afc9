//! Unix-domain sockets against the real kernel, over socket files in a temp dir and the
//! abstract namespace: streams, datagrams, credentials, fd passing and the bad-input
//! errors.

mod util;

use ply_sys::{UnixAddr, UnixSocket};
use std::io::{ErrorKind, IoSlice};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;
use util::{fd_count, serial, wait_fd, TempDir};

/// Blocks (up to five seconds) until `fd` has `events`.
fn wait(fd: &impl AsRawFd, events: i16) {
    wait_fd(fd.as_raw_fd(), events, Duration::from_secs(5));
}

fn accept(listener: &UnixSocket) -> UnixSocket {
    wait(listener, libc::POLLIN);
    listener.accept().unwrap().0
}

#[test]
fn a_stream_over_a_socket_file_carries_bytes_both_ways_and_half_closes() {
    let _serial = serial();
    let _w = util::watchdog("unix stream", Duration::from_secs(30));
    let dir = TempDir::new();
    let path = dir.path("s.sock");
    let listener = UnixSocket::listener(&UnixAddr::from_pathname(&path).unwrap(), 16).unwrap();
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    let client = UnixSocket::stream().unwrap();
    client
        .connect(&UnixAddr::from_pathname(&path).unwrap())
        .unwrap();
    let server = accept(&listener);
    assert_eq!(
        client.peer_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(server.peer_addr().unwrap().is_unnamed());
    assert_eq!(client.send(b"hello").unwrap(), 5);
    wait(&server, libc::POLLIN);
    let mut buf = [0; 16];
    assert_eq!(server.peek(&mut buf).unwrap(), 5);
    assert_eq!(server.recv(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    server.shutdown(std::net::Shutdown::Write).unwrap();
    wait(&client, libc::POLLIN);
    assert_eq!(
        client.recv(&mut buf).unwrap(),
        0,
        "end of stream after half-close"
    );
    // The other direction still works.
    client.send(b"still here").unwrap();
    wait(&server, libc::POLLIN);
    assert_eq!(server.recv(&mut buf).unwrap(), 10);
}

#[test]
fn peer_credentials_are_our_own() {
    let _serial = serial();
    let (a, b) = UnixSocket::pair_stream().unwrap();
    let cred = a.peer_cred().unwrap();
    // SAFETY: getpid, getuid and getgid cannot fail and touch no memory.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) };
    assert_eq!((cred.pid, cred.uid, cred.gid), (pid, uid, gid));
    assert_eq!(b.peer_cred().unwrap(), cred);
}

#[test]
fn path_errors_are_clear() {
    let _serial = serial();
    let dir = TempDir::new();
    // Longer than sun_path: refused before any syscall.
    let long = dir.path(&"x".repeat(200));
    let err = UnixAddr::from_pathname(&long).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("sun_path"), "{err}");
    // A path that exists: the kernel's EADDRINUSE, whether a live socket or a stale file.
    let path = dir.path("taken.sock");
    let addr = UnixAddr::from_pathname(&path).unwrap();
    let first = UnixSocket::listener(&addr, 1).unwrap();
    let err = UnixSocket::listener(&addr, 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    drop(first);
    assert!(path.exists(), "closing a socket leaves its file");
    let err = UnixSocket::datagram_bound(&addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    std::fs::write(dir.path("plain"), b"").unwrap();
    let err =
        UnixSocket::listener(&UnixAddr::from_pathname(dir.path("plain")).unwrap(), 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    // Nothing there / a file with no listener / a missing directory.
    let c = UnixSocket::stream().unwrap();
    let err = c
        .connect(&UnixAddr::from_pathname(dir.path("none")).unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = c.connect(&addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let err = UnixSocket::listener(
        &UnixAddr::from_pathname(dir.path("no/such/dir.sock")).unwrap(),
        1,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn abstract_names_need_no_file_and_vanish_with_their_socket() {
    let _serial = serial();
    let name = format!("ply-sys-test-{}", std::process::id());
    let addr = UnixAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = UnixSocket::listener(&addr, 4).unwrap();
    assert_eq!(
        listener.local_addr().unwrap().as_abstract_name(),
        Some(name.as_bytes())
    );
    let err = UnixSocket::listener(&addr, 4).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    let c = UnixSocket::stream().unwrap();
    c.connect(&addr).unwrap();
    let s = accept(&listener);
    c.send(b"abs").unwrap();
    wait(&s, libc::POLLIN);
    assert_eq!(s.recv(&mut [0; 8]).unwrap(), 3);
    drop((listener, s, c));
    // The name is free again once its socket is closed: no file to clean up.
    UnixSocket::listener(&addr, 4).unwrap();
}

#[test]
fn datagrams_keep_boundaries_and_report_truncation() {
    let _serial = serial();
    let dir = TempDir::new();
    let a_addr = UnixAddr::from_pathname(dir.path("a.sock")).unwrap();
    let b_addr = UnixAddr::from_pathname(dir.path("b.sock")).unwrap();
    let a = UnixSocket::datagram_bound(&a_addr).unwrap();
    let b = UnixSocket::datagram_bound(&b_addr).unwrap();
    a.send_to(&[9; 300], &b_addr).unwrap();
    a.send_to(b"short", &b_addr).unwrap();
    let mut buf = [0; 100];
    wait(&b, libc::POLLIN);
    let (meta, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((meta.len, meta.truncated), (100, true));
    assert_eq!(from, a_addr);
    let (meta, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!((meta.len, meta.truncated), (5, false));
    assert_eq!(b.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    // To an address with no socket: an error, not a silent drop.
    let err = a
        .send_to(b"x", &UnixAddr::from_pathname(dir.path("nobody")).unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // A connected pair works with plain send/recv.
    let (p, q) = UnixSocket::pair_datagram().unwrap();
    p.send(b"one").unwrap();
    p.send(b"two").unwrap();
    assert_eq!(q.recv(&mut buf).unwrap(), 3);
    assert_eq!(q.recv(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"two");
}

/// Sends a pipe's write end over `a` and checks it works at `b`'s end.
fn pass_pipe_once(a: &UnixSocket, b: &UnixSocket, i: usize) {
    let (r, w) = ply_sys::pipe().unwrap();
    a.send_with_fds(&[IoSlice::new(&i.to_le_bytes())], &[w.as_fd()])
        .unwrap();
    drop(w);
    let mut buf = [0; 8];
    let mut fds = Vec::new();
    let got = b.recv_with_fds(&mut buf, &mut fds, 1).unwrap();
    assert_eq!((got.len, got.fds_truncated, fds.len()), (8, false, 1));
    assert_eq!(usize::from_le_bytes(buf), i);
    let w2 = fds.pop().unwrap();
    assert_cloexec(&w2);
    ply_sys::write(w2.as_fd(), b"ok").unwrap();
    drop(w2);
    let mut out = [0; 4];
    assert_eq!(ply_sys::read(r.as_fd(), &mut out).unwrap(), 2);
    // Every write end is closed now (ours, and the one that travelled): end of file.
    assert_eq!(ply_sys::read(r.as_fd(), &mut out).unwrap(), 0);
}

fn assert_cloexec(fd: &OwnedFd) {
    // SAFETY: F_GETFD on an open fd reads its flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(
        flags & libc::FD_CLOEXEC != 0,
        "a received fd must be close-on-exec"
    );
}

#[test]
fn a_pipe_passed_ten_thousand_times_works_and_leaks_nothing() {
    let _serial = serial();
    let _w = util::watchdog("unix fd passing", Duration::from_secs(60));
    for pair in [UnixSocket::pair_stream, UnixSocket::pair_datagram] {
        let (a, b) = pair().unwrap();
        let before = fd_count();
        for i in 0..10_000 {
            pass_pipe_once(&a, &b, i);
        }
        assert_eq!(fd_count(), before, "fds leaked while passing");
    }
}

#[test]
fn fds_beyond_the_receivers_room_are_closed_not_leaked() {
    let _serial = serial();
    let (a, b) = UnixSocket::pair_stream().unwrap();
    let before = fd_count();
    for (sent, room) in [(3usize, 1usize), (2, 1), (10, 0), (ply_sys::SCM_MAX_FD, 4)] {
        let pipes: Vec<_> = (0..sent.div_ceil(2))
            .map(|_| ply_sys::pipe().unwrap())
            .collect();
        let fds: Vec<_> = pipes
            .iter()
            .flat_map(|(r, w)| [r.as_fd(), w.as_fd()])
            .take(sent)
            .collect();
        a.send_with_fds(&[IoSlice::new(b"m")], &fds).unwrap();
        drop(fds);
        drop(pipes);
        let mut got = Vec::new();
        let meta = b.recv_with_fds(&mut [0; 4], &mut got, room).unwrap();
        assert_eq!(meta.len, 1);
        assert!(meta.fds_truncated, "sent {sent} into room for {room}");
        assert_eq!(
            got.len(),
            room.min(sent),
            "sent {sent} into room for {room}"
        );
        got.iter().for_each(assert_cloexec);
        drop(got);
        assert_eq!(fd_count(), before, "sent {sent} into room for {room}");
    }
    // Bad input: no fds, or more than the kernel takes.
    let err = a.send_with_fds(&[IoSlice::new(b"m")], &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let (r, _w) = ply_sys::pipe().unwrap();
    let many = vec![r.as_fd(); ply_sys::SCM_MAX_FD + 1];
    let err = a.send_with_fds(&[IoSlice::new(b"m")], &many).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn std_conversions_keep_the_socket() {
    let _serial = serial();
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = UnixSocket::from(a);
    assert_eq!(
        a.recv(&mut [0; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    let a = std::os::unix::net::UnixStream::from(a);
    use std::io::{Read, Write};
    (&a).write_all(b"std").unwrap();
    let mut buf = [0; 3];
    (&b).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
    let d = UnixSocket::from(std::os::unix::net::UnixDatagram::unbound().unwrap());
    let _ = std::os::unix::net::UnixDatagram::from(d);
}

fn churn(dir: &Path, kind: &str) {
    for i in 0..10_000 {
        match kind {
            "listener" => {
                let path = dir.join(format!("l{i}.sock"));
                let l = UnixSocket::listener(&UnixAddr::from_pathname(&path).unwrap(), 1).unwrap();
                drop(l);
                std::fs::remove_file(&path).unwrap();
            }
            "datagram" => {
                let path = dir.join(format!("d{i}.sock"));
                drop(UnixSocket::datagram_bound(&UnixAddr::from_pathname(&path).unwrap()).unwrap());
                std::fs::remove_file(&path).unwrap();
            }
            "abstract" => {
                let name = format!("ply-churn-{}-{i}", std::process::id());
                drop(
                    UnixSocket::listener(
                        &UnixAddr::from_abstract_name(name.as_bytes()).unwrap(),
                        1,
                    )
                    .unwrap(),
                );
            }
            _ => drop(UnixSocket::pair_stream().unwrap()),
        }
    }
}

#[test]
fn ten_thousand_bind_close_cycles_of_each_kind_leave_the_fd_count_unchanged() {
    let _serial = serial();
    let _w = util::watchdog("unix churn", Duration::from_secs(120));
    let dir = TempDir::new();
    let before = fd_count();
    for kind in ["listener", "datagram", "abstract", "pair"] {
        churn(dir.root(), kind);
        assert_eq!(fd_count(), before, "{kind}");
    }
}

/// The buffer-size options go through the one option table shared with TCP and UDP:
/// what is set reads back (the kernel doubles it), and a size the kernel cannot take is
/// `InvalidInput`, not a truncated value; `SO_ERROR` starts clear.
#[test]
fn buffer_sizes_round_trip_and_bad_sizes_are_refused() {
    let _s = serial();
    let (a, _b) = UnixSocket::pair_stream().unwrap();
    a.set_recv_buffer_size(64 * 1024).unwrap();
    assert!(a.recv_buffer_size().unwrap() >= 64 * 1024);
    a.set_send_buffer_size(64 * 1024).unwrap();
    assert!(a.send_buffer_size().unwrap() >= 64 * 1024);
    for err in [
        a.set_recv_buffer_size(usize::MAX).unwrap_err(),
        a.set_send_buffer_size(i32::MAX as usize + 1).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert!(a.take_error().unwrap().is_none());
}

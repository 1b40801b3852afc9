//! The raw io_uring ring against the real kernel: setup and teardown, NOP and multishot
//! poll round trips, the wait timeout, the probe, and the errors for bad input.
//!
//! Where io_uring is refused (a seccomp filter in a container), each test checks that the
//! refusal is the clear error and stops there.

mod util;

use ply_sys::uring::{opcode, Cqe, Ring, Sqe, COMPLETION_TAG, MAX_ENTRIES};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use util::{fd_count, watchdog};

/// The tests count fds, so they run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A ring, or `None` (after checking the error is a clear refusal) where io_uring is
/// refused here.
fn ring(entries: u32) -> Option<Ring> {
    match Ring::new(entries) {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::PermissionDenied | io::ErrorKind::Unsupported
                ),
                "unexpected io_uring error: {e}"
            );
            assert!(e.to_string().contains("io_uring"), "{e}");
            eprintln!("io_uring refused here, test skipped: {e}");
            None
        }
    }
}

/// Waits (up to `limit`) until `want` CQEs have been reaped.
fn reap_n(ring: &Ring, want: usize, limit: Duration) -> Vec<Cqe> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < want {
        let now = Instant::now();
        assert!(now < deadline, "only {} of {want} CQEs: {got:?}", got.len());
        ring.submit_and_wait(1, Some(deadline - now)).unwrap();
        ring.reap(|c| got.push(c));
    }
    got
}

#[test]
fn many_rings_set_up_and_torn_down_leave_the_fd_count_unchanged() {
    let _s = serial();
    let _w = watchdog("ring churn", Duration::from_secs(60));
    let Some(first) = ring(8) else { return };
    drop(first);
    let before = fd_count();
    for i in 0..500u32 {
        let r = Ring::new(1 + i % 64).unwrap();
        assert!(r.sq_entries().is_power_of_two() && r.sq_entries() > i % 64);
        assert!(r.cq_entries() >= r.sq_entries());
        if i % 50 == 0 {
            // SAFETY: a NOP carries no pointers.
            unsafe { r.push(&Sqe::nop(u64::from(i))).unwrap() };
            assert_eq!(r.submit().unwrap(), 1);
        }
    }
    assert_eq!(fd_count(), before, "rings leaked fds");
}

#[test]
fn nop_round_trips_its_user_data() {
    let _s = serial();
    let _w = watchdog("nop", Duration::from_secs(20));
    let Some(r) = ring(4) else { return };
    // More than the SQ holds, so push has to submit by itself on the way.
    let n = 3 * r.sq_entries() as u64;
    for i in 0..n {
        let tag = if i % 2 == 0 { i } else { i | COMPLETION_TAG };
        // SAFETY: a NOP carries no pointers.
        unsafe { r.push(&Sqe::nop(tag)).unwrap() };
    }
    let got = reap_n(&r, n as usize, Duration::from_secs(5));
    let mut tags: Vec<u64> = got.iter().map(|c| c.user_data & !COMPLETION_TAG).collect();
    tags.sort_unstable();
    assert_eq!(tags, (0..n).collect::<Vec<_>>());
    for c in &got {
        assert_eq!(c.res, 0, "{c:?}");
        assert!(!c.more());
        assert_eq!(c.buffer_id(), None);
        assert_eq!(c.user_data & COMPLETION_TAG != 0, c.user_data % 2 == 1);
    }
    assert_eq!(r.reap(|c| panic!("extra CQE {c:?}")), 0);
    assert!(!r.has_completions());
    assert_eq!(r.dropped(), 0);
}

#[test]
fn multishot_poll_posts_a_cqe_with_more_for_each_write() {
    let _s = serial();
    let _w = watchdog("multishot poll", Duration::from_secs(20));
    let Some(r) = ring(8) else { return };
    let (rd, wr) = ply_sys::pipe().unwrap();
    let efd = ply_sys::eventfd().unwrap();
    let pollin = libc::POLLIN as u32;
    // SAFETY: poll SQEs carry no pointers.
    unsafe {
        r.push(&Sqe::poll_add(rd.as_raw_fd(), pollin, true, 1))
            .unwrap();
        r.push(&Sqe::poll_add(efd.as_raw_fd(), pollin, true, 2))
            .unwrap();
    }
    assert_eq!(r.submit().unwrap(), 2);
    let mut buf = [0u8; 64];
    for round in 0..5 {
        ply_sys::write(wr.as_fd(), b"x").unwrap();
        ply_sys::write(efd.as_fd(), &1u64.to_ne_bytes()).unwrap();
        let got = reap_n(&r, 2, Duration::from_secs(5));
        let mut seen: Vec<u64> = got.iter().map(|c| c.user_data).collect();
        seen.sort_unstable();
        assert_eq!(seen, [1, 2], "round {round}: {got:?}");
        for c in &got {
            assert!(c.more(), "round {round}: the poll stays armed: {c:?}");
            assert!(c.res as u32 & pollin != 0, "{c:?}");
        }
        // Drain both, so the next write is a new wake-up.
        assert_eq!(ply_sys::read(rd.as_fd(), &mut buf).unwrap(), 1);
        assert_eq!(ply_sys::read(efd.as_fd(), &mut buf[..8]).unwrap(), 8);
    }

    // Removing the pipe's poll: its own CQE says 0 and the poll ends with -ECANCELED,
    // without MORE.
    // SAFETY: a poll remove carries no pointers.
    unsafe { r.push(&Sqe::poll_remove(1, 10)).unwrap() };
    let got = reap_n(&r, 2, Duration::from_secs(5));
    let by = |ud: u64| *got.iter().find(|c| c.user_data == ud).expect("CQE");
    assert_eq!(by(10).res, 0);
    assert_eq!(by(1).res, -libc::ECANCELED);
    assert!(!by(1).more());
    ply_sys::write(wr.as_fd(), b"y").unwrap();
    // Cancel the eventfd's poll the other way, and check nothing more comes for the pipe.
    // SAFETY: a cancel carries no pointers.
    unsafe { r.push(&Sqe::async_cancel(2, 11)).unwrap() };
    let got = reap_n(&r, 2, Duration::from_secs(5));
    assert!(got.iter().all(|c| c.user_data != 1), "{got:?}");
    let by = |ud: u64| *got.iter().find(|c| c.user_data == ud).expect("CQE");
    assert_eq!(by(11).res, 0);
    assert_eq!(by(2).res, -libc::ECANCELED);
}

#[test]
fn submit_and_wait_honours_its_timeout() {
    let _s = serial();
    let _w = watchdog("wait timeout", Duration::from_secs(20));
    let Some(r) = ring(4) else { return };
    for limit in [
        Duration::ZERO,
        Duration::from_micros(300),
        Duration::from_millis(50),
    ] {
        let start = Instant::now();
        assert_eq!(r.submit_and_wait(1, Some(limit)).unwrap(), 0);
        let took = start.elapsed();
        assert!(took >= limit, "returned early: {took:?} < {limit:?}");
        assert!(
            took < limit + Duration::from_secs(1),
            "{took:?} for {limit:?}"
        );
        assert!(!r.has_completions());
    }
    // With a completion ready, a long wait returns at once.
    // SAFETY: a NOP carries no pointers.
    unsafe { r.push(&Sqe::nop(5)).unwrap() };
    let start = Instant::now();
    assert_eq!(
        r.submit_and_wait(1, Some(Duration::from_secs(10))).unwrap(),
        1
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(r.reap(|c| assert_eq!(c.user_data, 5)), 1);
}

#[test]
fn a_blocked_wait_does_not_stop_other_threads_pushing() {
    let _s = serial();
    let _w = watchdog("concurrent push", Duration::from_secs(20));
    if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        // valgrind runs one thread at a time and does not let another run while one is
        // inside io_uring_enter, so the push below could only happen after the wait's
        // 10 s timeout: the property tested here cannot be observed under it.
        return;
    }
    let Some(r) = ring(8) else { return };
    let r = Arc::new(r);
    let waiter = {
        let r = Arc::clone(&r);
        std::thread::spawn(move || {
            let start = Instant::now();
            r.submit_and_wait(1, Some(Duration::from_secs(10))).unwrap();
            start.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: a NOP carries no pointers.
    unsafe { r.push(&Sqe::nop(9)).unwrap() };
    r.submit().unwrap();
    let took = waiter.join().unwrap();
    assert!(
        took < Duration::from_secs(5),
        "the waiter slept through the NOP: {took:?}"
    );
    assert_eq!(r.reap(|c| assert_eq!(c.user_data, 9)), 1);
}

#[test]
fn probe_reports_the_opcodes_ply_uses() {
    let _s = serial();
    let Some(r) = ring(2) else { return };
    let p = r.probe().unwrap();
    for op in [
        opcode::NOP,
        opcode::POLL_ADD,
        opcode::POLL_REMOVE,
        opcode::ASYNC_CANCEL,
    ] {
        assert!(p.supports(op), "opcode {op} missing: {p:?}");
    }
    assert!(p.last_op() >= opcode::ASYNC_CANCEL);
    assert!(!p.supports(255), "opcode 255 does not exist yet: {p:?}");
}

#[test]
fn bad_entry_counts_are_invalid_input() {
    let _s = serial();
    for entries in [0, MAX_ENTRIES + 1, u32::MAX] {
        let e = Ring::new(entries).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{entries}: {e}");
        assert!(e.to_string().contains("entries"), "{e}");
    }
}

#[test]
fn an_invalid_sqe_completes_with_an_error_not_a_crash() {
    let _s = serial();
    let _w = watchdog("invalid sqe", Duration::from_secs(20));
    let Some(r) = ring(4) else { return };
    // A poll on an fd that is not open, and an opcode the kernel does not know.
    let bad_op = Sqe {
        opcode: 250,
        user_data: 2,
        ..Sqe::default()
    };
    // SAFETY: neither SQE carries pointers.
    unsafe {
        r.push(&Sqe::poll_add(1 << 28, libc::POLLIN as u32, false, 1))
            .unwrap();
        r.push(&bad_op).unwrap();
    }
    let got = reap_n(&r, 2, Duration::from_secs(5));
    let by = |ud: u64| *got.iter().find(|c| c.user_data == ud).expect("CQE");
    assert_eq!(by(1).res, -libc::EBADF);
    assert_eq!(by(2).res, -libc::EINVAL);
}

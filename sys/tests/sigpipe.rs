//! Writing to a socket whose peer is gone returns an error; the process lives. SIGPIPE is
//! put back to its default action (terminate) first: the Rust runtime ignores it at start,
//! which would hide a missing MSG_NOSIGNAL. One test in this binary, since the signal
//! disposition is process-wide.

mod util;

use std::io::{ErrorKind, IoSlice};
use std::time::Duration;
use util::{tcp_pair, watchdog};

#[test]
fn a_write_to_a_closed_peer_is_an_error_not_a_signal() {
    let _w = watchdog("sigpipe", Duration::from_secs(30));
    // SAFETY: restoring the default action of SIGPIPE; no handler code is involved.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);

    let (client, server) = tcp_pair(false);
    drop(server);
    // The first write may be accepted (the kernel learns of the close from the RST it
    // provokes); keep writing until the error shows, with a bound.
    let mut seen = None;
    for i in 0..1000 {
        let res = if i % 2 == 0 {
            client.send(b"are you there?")
        } else {
            client.send_vectored(&[IoSlice::new(b"still "), IoSlice::new(b"there?")])
        };
        match res {
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => {
                seen = Some(e);
                break;
            }
        }
    }
    let err = seen.expect("writes to a closed peer kept succeeding");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{err}"
    );
    // Both write paths keep failing with an error, and we are still alive to see it.
    assert!(client.send(b"x").is_err());
    assert!(client.send_vectored(&[IoSlice::new(b"x")]).is_err());
}

//! `TcpStream::ready`, the vectored `try_*` calls and `poll_peek`, on both runtimes.

mod util;

use ply_sys::Interest;
use std::future::poll_fn;
use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::time::Duration;
use util::{pair, runtimes, watchdog, within};

#[test]
fn ready_reports_the_directions_that_are_ready() {
    let _w = watchdog("tcp ready", Duration::from_secs(30));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let got = within(
                Duration::from_secs(5),
                "writable",
                client.ready(Interest::BOTH),
            )
            .await
            .unwrap();
            assert_eq!(got, Interest::WRITABLE, "nothing to read yet");
            // Waiting for readability alone waits until data comes.
            let wait = ply_net::spawn(async move {
                let r = client.ready(Interest::READABLE).await.unwrap();
                (client, r)
            });
            ply_net::sleep(Duration::from_millis(20)).await;
            server.write_all(b"ping").await.unwrap();
            let (client, r) = within(Duration::from_secs(5), "readable", wait)
                .await
                .unwrap();
            assert_eq!(r, Interest::READABLE);
            let got = client.ready(Interest::BOTH).await.unwrap();
            assert_eq!(got, Interest::BOTH);
            // Neither direction is bad input.
            let err = client.ready(Interest::PRIORITY).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        });
    }
}

#[test]
fn vectored_try_calls_move_bytes_or_say_would_block() {
    let _w = watchdog("tcp try vectored", Duration::from_secs(30));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            let (mut a, mut b) = ([0u8; 3], [0u8; 8]);
            {
                let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
                assert_eq!(
                    server.try_read_vectored(&mut bufs).unwrap_err().kind(),
                    ErrorKind::WouldBlock
                );
            }
            client.writable().await.unwrap();
            let n = client
                .try_write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"defgh")])
                .unwrap();
            assert_eq!(n, 8);
            let n = loop {
                within(Duration::from_secs(5), "readable", server.readable())
                    .await
                    .unwrap();
                let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
                match server.try_read_vectored(&mut bufs) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(n, 8);
            assert_eq!((&a, &b[..5]), (b"abc", &b"defgh"[..]));
        });
    }
}

#[test]
fn poll_peek_leaves_the_bytes_for_the_next_read() {
    let _w = watchdog("tcp poll_peek", Duration::from_secs(30));
    for (_, rt) in runtimes() {
        rt.block_on(async {
            let (client, server) = pair().await;
            client.write_all(b"peek").await.unwrap();
            let mut buf = [0; 4];
            let n = within(
                Duration::from_secs(5),
                "peek",
                poll_fn(|cx| server.poll_peek(cx, &mut buf)),
            )
            .await
            .unwrap();
            assert_eq!(&buf[..n], &b"peek"[..n]);
            let mut again = [0; 4];
            server.read_exact(&mut again).await.unwrap();
            assert_eq!(&again, b"peek");
            drop(client);
            let n = poll_fn(|cx| server.poll_peek(cx, &mut buf)).await.unwrap();
            assert_eq!(n, 0, "end of stream");
        });
    }
}

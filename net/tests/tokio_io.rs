//! tokio's I/O traits on ply (the `tokio-io` feature): tokio's extension methods work on
//! `TcpStream`, `&TcpStream` and every half, and tokio-util's `Framed` with `LinesCodec`
//! carries a line chat between two clients through a server, all on ply runtimes of both
//! flavours. No tokio runtime is started.
#![cfg(feature = "tokio-io")]

mod util;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use ply_net::{TcpListener, TcpStream};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec, LinesCodecError};
use util::{pair, runtimes, watchdog, within};

const LIMIT: Duration = Duration::from_secs(10);

/// A connected pair over loopback: (client, server).
/// Sends `data` through `w` with tokio's `write_all`, half-closes with `shutdown`, and
/// reads everything back from `r` with `read_to_end` (which hands the stream tokio's
/// uninitialised spare capacity).
async fn through<W, R>(mut w: W, mut r: R, data: &[u8]) -> Vec<u8>
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let send = async {
        w.write_all(data).await.unwrap();
        w.flush().await.unwrap();
        w.shutdown().await.unwrap();
    };
    let recv = async {
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        got
    };
    within(
        LIMIT,
        "a tokio-trait transfer",
        futures::future::join(send, recv),
    )
    .await
    .1
}

#[test]
fn tokio_io_traits_work_on_the_stream_and_every_half() {
    let _w = watchdog("tokio io traits", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            // Large enough to cross many reads and writes.
            let data = util::pattern(15, 1 << 20);

            // The streams themselves.
            let (client, server) = pair().await;
            assert!(
                through(client, server, &data).await == data,
                "{flavor}: stream"
            );

            // Shared references.
            let (client, server) = pair().await;
            assert!(
                through(&client, &server, &data).await == data,
                "{flavor}: &stream"
            );

            // Borrowed halves, and a vectored write through tokio's trait.
            let (mut client, mut server) = pair().await;
            let (_, cw) = client.split();
            let (sr, _) = server.split();
            assert!(cw.is_write_vectored());
            assert!(
                through(cw, sr, &data).await == data,
                "{flavor}: borrowed halves"
            );

            // Owned halves, each in a task of its own.
            let (client, server) = pair().await;
            let (_cr, cw) = client.into_split();
            let (mut sr, _sw) = server.into_split();
            let expect = data.clone();
            let writer = ply_net::spawn(async move {
                let mut cw = cw;
                // Spelled out: the halves have inherent `write_all`s of their own.
                AsyncWriteExt::write_all(&mut cw, &expect).await?;
                let n = cw
                    .write_vectored(&[io::IoSlice::new(b"ta"), io::IoSlice::new(b"il")])
                    .await?;
                AsyncWriteExt::write_all(&mut cw, &b"tail"[n..]).await?;
                cw.shutdown().await
            });
            let mut got = Vec::new();
            within(LIMIT, "owned halves", sr.read_to_end(&mut got))
                .await
                .unwrap();
            within(LIMIT, "the writer", writer).await.unwrap().unwrap();
            assert_eq!(got.len(), data.len() + 4, "{flavor}: owned halves");
            assert!(got[..data.len()] == data[..], "{flavor}: owned halves");
            assert_eq!(&got[data.len()..], b"tail", "{flavor}: owned halves");

            // tokio's `read` with a small buffer: a peer's reset is an error, not a hang.
            let (client, mut server) = pair().await;
            client.set_zero_linger().unwrap();
            drop(client);
            let mut buf = [0; 8];
            let read = within(
                LIMIT,
                "a read after reset",
                AsyncReadExt::read(&mut server, &mut buf),
            )
            .await;
            assert!(
                matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
                "{flavor}: {read:?}"
            );
        });
    }
}

/// The Unix stream shares TCP's stream layer, so it and its halves have the same tokio
/// impls: a transfer through the stream, a shared reference and the owned halves; and an
/// owned write half shut down through `poll_shutdown` reunites with its read half into a
/// stream that still reads (the half-close was one-way, and the drop in `reunite` did not
/// shut anything down again).
#[test]
fn tokio_io_traits_work_on_unix_streams_and_their_halves() {
    let _w = watchdog("tokio io traits, unix", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let data = util::pattern(16, 1 << 20);

            let (a, b) = ply_net::UnixStream::pair().unwrap();
            assert!(through(a, b, &data).await == data, "{flavor}: unix stream");

            let (a, b) = ply_net::UnixStream::pair().unwrap();
            assert!(
                through(&a, &b, &data).await == data,
                "{flavor}: &unix stream"
            );

            let (a, b) = ply_net::UnixStream::pair().unwrap();
            let (ar, mut aw) = a.into_split();
            let (mut br, mut bw) = b.into_split();
            AsyncWriteExt::shutdown(&mut aw).await.unwrap();
            let mut got = Vec::new();
            within(LIMIT, "end of stream", br.read_to_end(&mut got))
                .await
                .unwrap();
            assert!(got.is_empty(), "{flavor}: {got:?}");
            // The other direction still works, after the halves are put back together.
            let a = ar.reunite(aw).expect("halves of one stream reunite");
            AsyncWriteExt::write_all(&mut bw, b"back").await.unwrap();
            let mut buf = [0; 4];
            within(LIMIT, "a read after reunite", a.read_exact(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf, b"back", "{flavor}");
        });
    }
}

/// The chat server: accepts `clients` connections, greets each with `welcome N`, then
/// sends every line any client says to all of them as `N: line`. Returns when every client
/// has gone.
async fn chat_server(listener: TcpListener, clients: usize) -> Result<(), LinesCodecError> {
    let (said, mut heard) = mpsc::unbounded::<(usize, String)>();
    let mut writers = Vec::new();
    for n in 0..clients {
        let (stream, _) = listener.accept().await?;
        let (reader, writer) = stream.into_split();
        let mut writer = FramedWrite::new(writer, LinesCodec::new());
        writer.send(format!("welcome {n}")).await?;
        writers.push(writer);
        let said = said.clone();
        drop(ply_net::spawn(async move {
            let mut lines = FramedRead::new(reader, LinesCodec::new());
            while let Some(line) = lines.next().await {
                // A bad line (or a reset) ends this client; the others chat on.
                let Ok(line) = line else { break };
                let _ = said.unbounded_send((n, line));
            }
        }));
    }
    drop(said);
    while let Some((from, line)) = heard.next().await {
        for writer in &mut writers {
            // A client that left mid-broadcast is no reason to stop the others.
            let _ = writer.send(format!("{from}: {line}")).await;
        }
    }
    Ok(())
}

/// The next line a chat client hears.
async fn hear(client: &mut Framed<TcpStream, LinesCodec>) -> String {
    within(LIMIT, "a chat line", client.next())
        .await
        .expect("the server closed")
        .expect("a line")
}

#[test]
fn framed_lines_carry_a_chat_between_two_clients() {
    let _w = watchdog("framed line chat", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = ply_net::spawn(chat_server(listener, 2));

            // Connect one at a time, so the greeting tells each its number.
            let mut alice = Framed::new(TcpStream::connect(addr).await.unwrap(), LinesCodec::new());
            assert_eq!(hear(&mut alice).await, "welcome 0", "{flavor}");
            let mut bob = Framed::new(TcpStream::connect(addr).await.unwrap(), LinesCodec::new());
            assert_eq!(hear(&mut bob).await, "welcome 1", "{flavor}");

            alice.send("hello, bob").await.unwrap();
            assert_eq!(hear(&mut alice).await, "0: hello, bob", "{flavor}");
            assert_eq!(hear(&mut bob).await, "0: hello, bob", "{flavor}");

            // Several lines in one write arrive as several frames, in order; a long line
            // crosses many reads.
            let long = "x".repeat(200_000);
            bob.feed("hi alice".to_owned()).await.unwrap();
            bob.feed("how are you?".to_owned()).await.unwrap();
            bob.feed(long.clone()).await.unwrap();
            SinkExt::<String>::flush(&mut bob).await.unwrap();
            for want in ["1: hi alice", "1: how are you?"] {
                assert_eq!(hear(&mut alice).await, want, "{flavor}");
                assert_eq!(hear(&mut bob).await, want, "{flavor}");
            }
            assert!(hear(&mut alice).await == format!("1: {long}"), "{flavor}");
            assert!(hear(&mut bob).await == format!("1: {long}"), "{flavor}");

            // Alice leaves; bob still gets his own lines back, then leaves too, and the
            // server finishes.
            drop(alice);
            bob.send("bye").await.unwrap();
            assert_eq!(hear(&mut bob).await, "1: bye", "{flavor}");
            drop(bob);
            within(LIMIT, "the chat server", server)
                .await
                .unwrap()
                .unwrap();
        });
    }
}

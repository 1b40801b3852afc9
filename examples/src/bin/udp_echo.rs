//! A UDP echo on the ply runtime: a server task sends every datagram back to whoever sent
//! it, and a client task sends numbered datagrams with a checksum, a window of them in
//! flight, and checks each answer.
//!
//! It shows a datagram socket going through the same layers as TCP (ply-sys's
//! `UdpSocket`, the reactor's readiness, the executor's tasks) and a clean Ctrl-C: SIGINT
//! is blocked on the main thread before the runtime starts its workers, so every thread
//! inherits the block and the signal reaches `ply_net::signal::ctrl_c()` through the
//! reactor. Press Ctrl-C to stop early; either way it prints what each layer did.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin udp_echo -- --datagrams 100000 --threads 2 --selector epoll
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ply_examples::{layer_table, thousands, Args};
use ply_net::UdpSocket;
use ply_sys::Backend;

const USAGE: &str = "\
usage: udp_echo [--datagrams N] [--size BYTES] [--window N] [--threads N] [--selector epoll|poll|select]

  --datagrams N     how many datagrams the client sends (default 100000)
  --size BYTES      payload bytes per datagram, 16..=1400 (default 64)
  --window N        datagrams in flight at once (default 32)
  --threads N       0 = current-thread runtime, N = N worker threads (default: cores)
  --selector NAME   epoll, poll or select (default: PLY_SELECTOR, else epoll)";

fn main() {
    let mut args = Args::parse(USAGE);
    let datagrams = ply_examples::count(&mut args, "--datagrams", 100_000, 1..=100_000_000);
    let size = ply_examples::count(&mut args, "--size", 64, 16..=1400);
    let window = ply_examples::count(&mut args, "--window", 32, 1..=1024);
    let threads = ply_examples::threads(&mut args);
    let selector: Option<Backend> = args.opt("--selector");
    args.finish();

    // Block SIGINT before any other thread exists: the runtime's workers inherit the
    // mask, so no thread takes Ctrl-C's default action and the signalfd sees it.
    ply_examples::block_sigint();

    let rt = ply_examples::start_runtime("udp_echo", threads, selector);
    let backend = rt.handle().reactor().backend();
    println!(
        "udp_echo: {} datagrams of {size} B, window {window} ({})",
        thousands(datagrams as u64),
        ply_examples::describe_runtime(threads, backend)
    );
    let started = Instant::now();
    let result = rt.block_on(async move {
        let interrupted = ply_net::signal::ctrl_c();
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let addr = server.local_addr()?;
        let echo = ply_net::spawn(serve(server));
        let run = ply_net::spawn(client(addr, datagrams, size, window));
        let outcome = futures::future::select(Box::pin(interrupted), run).await;
        echo.abort();
        match outcome {
            futures::future::Either::Left((signal, _)) => {
                signal?;
                println!("\nudp_echo: Ctrl-C, stopping");
                Ok(None)
            }
            futures::future::Either::Right((done, _)) => done
                .map_err(|e| io::Error::other(format!("client task: {e}")))?
                .map(Some),
        }
    });
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(Some(n)) => println!(
            "echoed {} datagrams in {secs:.2} s: {} round trips/s\n",
            thousands(n),
            thousands((n as f64 / secs) as u64)
        ),
        Ok(None) => println!(),
        Err(e) => {
            eprintln!("udp_echo: {e}");
            std::process::exit(1);
        }
    }
    println!("What each layer did:\n{}", layer_table(&rt.stats(), None));
}

/// Sends every datagram back to its sender, forever.
async fn serve(socket: Arc<UdpSocket>) -> io::Result<()> {
    let mut buf = vec![0; 2048];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        socket.send_to(&buf[..n], from).await?;
    }
}

/// Datagram `seq`: its number, then `size - 8` bytes derived from it.
fn fill(buf: &mut [u8], seq: u64) {
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf[8..].iter_mut().enumerate() {
        *b = (seq as usize).wrapping_mul(31).wrapping_add(i) as u8;
    }
}

/// Sends `count` datagrams, `window` at a time, and checks each answer; returns how many
/// came back.
async fn client(server: SocketAddr, count: usize, size: usize, window: usize) -> io::Result<u64> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(server).await?;
    let (mut out, mut back) = (vec![0; size], vec![0; 2048]);
    let mut want = vec![0; size];
    let (mut sent, mut got) = (0usize, 0usize);
    while got < count {
        while sent < count && sent - got < window {
            fill(&mut out, sent as u64);
            socket.send(&out).await?;
            sent += 1;
        }
        // Loopback loses nothing at this window; a lost datagram would stall here.
        let n = ply_net::timeout(Duration::from_secs(5), socket.recv(&mut back))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "an answer was lost"))??;
        let seq = u64::from_le_bytes(back[..8].try_into().expect("8 bytes"));
        fill(&mut want, seq);
        if back[..n] != want[..] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("datagram {seq} came back changed"),
            ));
        }
        got += 1;
    }
    Ok(got as u64)
}

//! A Unix-socket echo on the ply runtime that passes a file descriptor to its peer.
//!
//! The server listens on a socket file in a fresh temp directory. The client connects
//! and, in its first message, hands the server the write end of a pipe (`SCM_RIGHTS`);
//! the server writes a greeting into that pipe, which the client reads from its own end:
//! the fd crossed the socket and works at the receiver. Then the client sends
//! `--messages` messages of `--size` bytes and checks every echoed byte. Both sides print
//! who the other is (`SO_PEERCRED`). Ctrl-C stops it cleanly (SIGINT is blocked before
//! the runtime starts its workers and read through the reactor); either way it removes
//! its socket file and prints what each layer did.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin unix_echo -- --messages 10000 --size 10000 --threads 2
//! ```

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ply_examples::{layer_table, thousands, Args};
use ply_net::{UnixListener, UnixStream};
use ply_sys::Backend;

const USAGE: &str = "\
usage: unix_echo [--messages N] [--size BYTES] [--threads N] [--selector epoll|poll|select]

  --messages N      messages the client sends (default 10000)
  --size BYTES      bytes per message (default 10000)
  --threads N       0 = current-thread runtime, N = N worker threads (default: cores)
  --selector NAME   epoll, poll or select (default: PLY_SELECTOR, else epoll)";

fn main() {
    let mut args = Args::parse(USAGE);
    let messages = ply_examples::count(&mut args, "--messages", 10_000, 1..=100_000_000);
    let size = ply_examples::count(&mut args, "--size", 10_000, 1..=16 << 20);
    let threads = ply_examples::threads(&mut args);
    let selector: Option<Backend> = args.opt("--selector");
    args.finish();

    // Before any other thread exists, so every thread inherits it (see udp_echo).
    ply_examples::block_sigint();

    let dir = std::env::temp_dir().join(format!("ply-unix-echo-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("unix_echo: {}: {e}", dir.display());
        std::process::exit(1);
    }
    let path = dir.join("echo.sock");
    let rt = ply_examples::start_runtime("unix_echo", threads, selector);
    let backend = rt.handle().reactor().backend();
    println!(
        "unix_echo: {} messages of {size} B over {} ({})",
        thousands(messages as u64),
        path.display(),
        ply_examples::describe_runtime(threads, backend)
    );
    let started = Instant::now();
    let result = rt.block_on(run(path.clone(), messages, size));
    let _ = std::fs::remove_dir_all(&dir);
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(Some(bytes)) => println!(
            "echoed {} bytes in {secs:.2} s ({:.1} MB/s)\n",
            thousands(bytes),
            bytes as f64 / secs / 1e6
        ),
        Ok(None) => println!("\nunix_echo: Ctrl-C, stopping\n"),
        Err(e) => {
            eprintln!("unix_echo: {e}");
            std::process::exit(1);
        }
    }
    println!("What each layer did:\n{}", layer_table(&rt.stats(), None));
}

/// Serves and runs the client until it finishes (`Some(bytes)`) or Ctrl-C (`None`).
async fn run(path: PathBuf, messages: usize, size: usize) -> io::Result<Option<u64>> {
    let interrupted = ply_net::signal::ctrl_c();
    let listener = UnixListener::bind(&path)?;
    let server = ply_net::spawn(serve(listener));
    let client = ply_net::spawn(client(path, messages, size));
    let outcome = futures::future::select(Box::pin(interrupted), client).await;
    server.abort();
    match outcome {
        futures::future::Either::Left((signal, _)) => signal.map(|()| None),
        futures::future::Either::Right((done, _)) => done
            .map_err(|e| io::Error::other(format!("client task: {e}")))?
            .map(Some),
    }
}

/// Accepts connections, one task each: take the passed fd, greet through it, echo.
async fn serve(listener: UnixListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(ply_net::spawn(async move {
            if let Err(e) = connection(stream).await {
                eprintln!("unix_echo: server: {e}");
            }
        }));
    }
}

async fn connection(stream: UnixStream) -> io::Result<()> {
    let peer = stream.peer_cred()?;
    println!("server: client is pid {} uid {}", peer.pid, peer.uid);
    let mut hello = [0; 5];
    let mut fds = Vec::new();
    // One fd expected; any extra would be closed by recv_with_fds, never leaked.
    let got = stream.recv_with_fds(&mut hello, &mut fds, 1).await?;
    let Some(pipe) = fds.pop() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no fd in the first message",
        ));
    };
    let greeting = format!("greetings from the server, pid {}", std::process::id());
    ply_sys::write(pipe.as_fd(), greeting.as_bytes())?;
    drop(pipe); // the client's read end now sees end of file after the greeting
                // The rest of the first message, if the 5-byte read split it, is echoed as data.
    let mut buf = vec![0; 64 * 1024];
    buf[..got.len].copy_from_slice(&hello[..got.len]);
    stream.write_all(&buf[..got.len]).await?;
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(()),
            n => stream.write_all(&buf[..n]).await?,
        }
    }
}

/// Connects, passes a pipe, reads the greeting from it, then echoes `messages`.
async fn client(path: impl AsRef<Path>, messages: usize, size: usize) -> io::Result<u64> {
    let stream = UnixStream::connect(path).await?;
    let server = stream.peer_cred()?;
    println!("client: server is pid {} uid {}", server.pid, server.uid);
    let (read_end, write_end) = ply_sys::pipe()?;
    stream
        .send_with_fds(&[IoSlice::new(b"hello")], &[write_end.as_fd()])
        .await?;
    drop(write_end); // the server has its own copy now
    let pipe = ply_reactor::Async::new(std::fs::File::from(read_end))?;
    let mut greeting = Vec::new();
    futures::AsyncReadExt::read_to_end(&mut &pipe, &mut greeting).await?;
    println!(
        "client: through the passed pipe: {:?}",
        String::from_utf8_lossy(&greeting)
    );
    let mut echoed = [0; 5];
    stream.read_exact(&mut echoed).await?;
    if &echoed != b"hello" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the first message changed",
        ));
    }

    let (reader, writer) = stream.into_split();
    let sender = ply_net::spawn(async move {
        let mut msg = vec![0u8; size];
        for m in 0..messages {
            msg.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = (m + i) as u8);
            writer.write_all(&msg).await?;
        }
        io::Result::Ok(()) // dropping the write half shuts down writing
    });
    let mut got = vec![0u8; size];
    for m in 0..messages {
        reader.read_exact(&mut got).await?;
        if got.iter().enumerate().any(|(i, &b)| b != (m + i) as u8) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("message {m} changed"),
            ));
        }
    }
    sender
        .await
        .map_err(|e| io::Error::other(format!("sender: {e}")))??;
    Ok((messages * size) as u64)
}

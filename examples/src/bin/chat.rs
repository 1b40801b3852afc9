//! A broadcast chat server: every line a client sends goes to every other client.
//!
//! Many tasks share one piece of state. The room is a `Mutex<HashMap<id, Sender>>`: each
//! client has an outbound queue (a bounded `futures` channel) and two tasks, a reader that
//! splits its input into lines and puts each into the other clients' queues, and a writer
//! that empties its own queue into the socket. The lock is held only to push into the
//! queues, never across an `.await`, so a slow socket never holds up the room; a client
//! whose queue is full (it stopped reading) misses lines instead of growing the server's
//! memory. Lines longer than 4 KiB end the connection.
//!
//! `--selftest` starts the server and `--clients` clients in this process, waits until
//! all of them are in the room, has each send `--lines` lines, checks that every client
//! received every other client's lines, in order, and none of its own, then prints OK and
//! exits with status 0 (1 on any failure; everything is bounded by timeouts).
//!
//! Run the server (then connect with `nc 127.0.0.1 7001` from two terminals):
//!
//! ```text
//! cargo run --release -p ply-examples --bin chat -- --addr 127.0.0.1:7001 --seconds 300
//! ```
//!
//! or the self-test:
//!
//! ```text
//! cargo run --release -p ply-examples --bin chat -- --selftest --clients 8 --lines 50
//! ```

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::StreamExt;
use ply_examples::{thousands, Args};
use ply_net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};

const USAGE: &str = "\
usage: chat [--addr IP:PORT] [--seconds N] [--threads N]
       chat --selftest [--clients N] [--lines N] [--threads N]

  --addr IP:PORT   loopback address to listen on (default 127.0.0.1:7001)
  --seconds N      stop after N seconds (default: serve until killed)
  --threads N      0 = current-thread runtime, N = N workers (default: cores)
  --selftest       run the server and clients in-process and check every line arrives
  --clients N      self-test clients, 2 to 64 (default 8)
  --lines N        lines each self-test client sends, 1 to 64 (default 50)";

/// Lines a client's outbound queue holds before further lines to it are dropped.
const QUEUE: usize = 4096;
/// The longest line accepted, in bytes.
const MAX_LINE: usize = 4096;
/// The bound on every wait of the self-test.
const SELFTEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared state: who is in the room, and what the server counts.
#[derive(Default)]
struct Room {
    members: Mutex<HashMap<u64, mpsc::Sender<Arc<str>>>>,
    next_id: AtomicU64,
    joined: AtomicU64,
    relayed: AtomicU64,
    dropped: AtomicU64,
}

impl Room {
    /// Adds a client's queue; returns how many others were here.
    fn join(&self, id: u64, queue: mpsc::Sender<Arc<str>>) -> usize {
        let mut members = self.lock();
        members.insert(id, queue);
        self.joined.fetch_add(1, Relaxed);
        members.len() - 1
    }

    fn leave(&self, id: u64) {
        // Dropping the sender ends the client's writer once its queue is empty.
        self.lock().remove(&id);
    }

    /// Puts `line` into every queue but `from`'s. Never waits: a full queue loses the line.
    fn broadcast(&self, from: u64, line: &str) {
        let line: Arc<str> = Arc::from(line);
        let mut members = self.lock();
        for (&id, queue) in members.iter_mut() {
            if id == from {
                continue;
            }
            match queue.try_send(line.clone()) {
                Ok(()) => {
                    self.relayed.fetch_add(1, Relaxed);
                }
                // Full: that client stopped reading. Disconnected: its writer is gone and
                // its reader will remove it. Either way, the others go on.
                Err(_) => {
                    self.dropped.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::Sender<Arc<str>>>> {
        // A panic elsewhere while holding the lock leaves a usable map: recover it.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn main() {
    let mut args = Args::parse(USAGE);
    let selftest = args.switch("--selftest");
    let addr = ply_examples::loopback_addr(&mut args, "--addr", "127.0.0.1:7001");
    let seconds = ply_examples::seconds(&mut args, "--seconds", None);
    let threads = ply_examples::threads(&mut args);
    let clients = ply_examples::count(&mut args, "--clients", 8, 2..=64);
    let lines = ply_examples::count(&mut args, "--lines", 50, 1..=64);
    args.finish();

    let rt = ply_examples::start_runtime("chat", threads, None);
    let room = Arc::new(Room::default());
    let result = if selftest {
        rt.block_on(self_test(room.clone(), clients, lines))
    } else {
        rt.block_on(serve(addr, seconds, room.clone()))
    };
    if let Err(e) = result {
        eprintln!("chat: {e}");
        std::process::exit(1);
    }
    println!(
        "chat: {} clients joined; {} lines delivered to queues, {} dropped",
        room.joined.load(Relaxed),
        thousands(room.relayed.load(Relaxed)),
        thousands(room.dropped.load(Relaxed)),
    );
}

/// Binds and serves until `seconds` have passed (or forever).
async fn serve(addr: SocketAddr, seconds: Option<Duration>, room: Arc<Room>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!(
        "chat: listening on {local}; connect with `nc {} {}`",
        local.ip(),
        local.port()
    );
    match seconds {
        Some(limit) => {
            println!("chat: stopping after {} s", limit.as_secs());
            let _ = ply_net::timeout(limit, accept_loop(&listener, &room)).await;
        }
        None => accept_loop(&listener, &room).await,
    }
    Ok(())
}

/// Accepts forever, a task per client.
async fn accept_loop(listener: &TcpListener, room: &Arc<Room>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let room = room.clone();
                drop(ply_net::spawn(async move {
                    if let Err(e) = client(stream, &room).await {
                        if e.kind() != io::ErrorKind::ConnectionReset {
                            eprintln!("chat: client: {e}");
                        }
                    }
                }));
            }
            Err(e) => eprintln!("chat: accept: {e}"),
        }
    }
}

/// One client's session: join, relay its lines, leave.
async fn client(stream: TcpStream, room: &Room) -> io::Result<()> {
    let id = room.next_id.fetch_add(1, Relaxed) + 1;
    let (read, write) = stream.into_split();
    let (mut queue, outbox) = mpsc::channel(QUEUE);
    // The welcome goes into the queue before the client joins, so it comes first.
    let welcome = format!("* welcome, you are client {id}\n");
    let _ = queue.try_send(Arc::from(welcome.as_str()));
    let others = room.join(id, queue);
    drop(ply_net::spawn(writer(write, outbox)));
    let here = match others {
        1 => "1 other".to_owned(),
        n => format!("{n} others"),
    };
    room.broadcast(id, &format!("* client {id} joined ({here} here)\n"));

    let mut lines = Lines::new(read);
    let result = loop {
        match lines.next().await {
            Ok(Some(line)) => room.broadcast(id, &format!("{id}: {line}\n")),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    room.leave(id);
    room.broadcast(id, &format!("* client {id} left\n"));
    result
}

/// Empties a client's queue into its socket; ends when the client leaves (or the socket
/// fails), and then shuts down the write side (dropping `write`), so the client reads
/// end of stream.
async fn writer(write: OwnedWriteHalf, mut outbox: mpsc::Receiver<Arc<str>>) {
    while let Some(line) = outbox.next().await {
        if write.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Splits a byte stream into lines (`\n` or `\r\n`), at most [`MAX_LINE`] bytes each.
struct Lines {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no `\n`.
    scanned: usize,
}

impl Lines {
    fn new(read: OwnedReadHalf) -> Lines {
        Lines {
            read,
            buf: Vec::with_capacity(1024),
            scanned: 0,
        }
    }

    /// The next line without its end, or `None` at end of stream (a last line without a
    /// `\n` is dropped, as a half-sent line).
    async fn next(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + i;
                let line = self.buf[..end]
                    .strip_suffix(b"\r")
                    .unwrap_or(&self.buf[..end]);
                let line = String::from_utf8_lossy(line).into_owned();
                self.buf.drain(..=end);
                self.scanned = 0;
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line longer than {MAX_LINE} bytes"),
                ));
            }
            let mut chunk = [0u8; 4096];
            match self.read.read(&mut chunk).await? {
                0 => return Ok(None),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// The self-test: a server and `clients` clients in this process.
async fn self_test(room: Arc<Room>, clients: usize, lines: usize) -> io::Result<()> {
    let started = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("chat selftest: server on {addr}, {clients} clients, {lines} lines each");
    let server_room = room.clone();
    drop(ply_net::spawn(async move {
        accept_loop(&listener, &server_room).await
    }));

    // Everyone joins before anyone speaks, so nobody misses a line: a client is in the
    // room once it has read its welcome.
    let mut joined = Vec::with_capacity(clients);
    for _ in 0..clients {
        let stream = TcpStream::connect_timeout(addr, SELFTEST_TIMEOUT).await?;
        let (read, write) = stream.into_split();
        let mut input = Lines::new(read);
        let welcome = within(input.next()).await?.unwrap_or_default();
        let id = welcome
            .strip_prefix("* welcome, you are client ")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected welcome {welcome:?}")))?;
        joined.push((id, input, write));
    }
    let ids: Vec<u64> = joined.iter().map(|c| c.0).collect();
    println!("chat selftest: all {clients} clients are in the room: {ids:?}");

    let tasks: Vec<_> = joined
        .into_iter()
        .map(|(id, input, write)| {
            let others: Vec<u64> = ids.iter().copied().filter(|&o| o != id).collect();
            ply_net::spawn(talk(id, input, write, others, lines))
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e.to_string()),
            Err(e) => failures.push(format!("client task: {e}")),
        }
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("chat selftest: {f}");
        }
        return Err(io::Error::other(format!(
            "FAILED: {} of {clients} clients did not get every line",
            failures.len()
        )));
    }
    println!(
        "chat selftest: OK: each of {clients} clients received all {} lines of the other {}, \
         in order, and none of its own ({:.0} ms)",
        (clients - 1) * lines,
        clients - 1,
        started.elapsed().as_secs_f64() * 1e3,
    );
    Ok(())
}

/// One self-test client: sends `lines` lines while reading until every line of every
/// other client came; checks their order and that none of its own came back.
async fn talk(
    id: u64,
    mut input: Lines,
    write: OwnedWriteHalf,
    others: Vec<u64>,
    lines: usize,
) -> io::Result<()> {
    let sender = ply_net::spawn(async move {
        for k in 0..lines {
            write
                .write_all(format!("line {k} from {id}\n").as_bytes())
                .await?;
        }
        // Keep `write` open until the test ends: dropping it would half-close the socket,
        // and the server would see this client leave while others still talk to it.
        ply_net::sleep(SELFTEST_TIMEOUT).await;
        io::Result::Ok(())
    });
    // Next line number expected from each other client.
    let mut next: HashMap<u64, usize> = others.iter().map(|&o| (o, 0)).collect();
    let mut missing = others.len() * lines;
    while missing > 0 {
        let Some(line) = within(input.next()).await? else {
            return Err(io::Error::other(format!(
                "client {id}: the server closed with {missing} lines missing"
            )));
        };
        if line.starts_with("* ") {
            continue; // join and leave notices
        }
        let (from, k) = parse_chat_line(&line)
            .ok_or_else(|| io::Error::other(format!("client {id}: odd line {line:?}")))?;
        if from == id {
            return Err(io::Error::other(format!(
                "client {id}: got its own line back"
            )));
        }
        let expected = next
            .get_mut(&from)
            .ok_or_else(|| io::Error::other(format!("client {id}: line from stranger {from}")))?;
        if k != *expected {
            return Err(io::Error::other(format!(
                "client {id}: from {from}, line {k} where line {expected} was due"
            )));
        }
        *expected += 1;
        missing -= 1;
    }
    sender.abort();
    Ok(())
}

/// `"3: line 7 from 3"` as `(3, 7)`, if the prefix and the text agree.
fn parse_chat_line(line: &str) -> Option<(u64, usize)> {
    let (from, text) = line.split_once(": ")?;
    let from: u64 = from.parse().ok()?;
    let (k, sender) = text.strip_prefix("line ")?.split_once(" from ")?;
    (sender.parse::<u64>().ok()? == from).then_some(())?;
    Some((from, k.parse().ok()?))
}

/// Bounds one self-test wait by [`SELFTEST_TIMEOUT`].
async fn within<T>(f: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    ply_net::timeout(SELFTEST_TIMEOUT, f).await?
}

//! What the kernel reports, step by step, with nothing but `ply-sys`.
//!
//! For each selector backend (epoll, poll, select) this watches a pipe and a loopback TCP
//! connection and narrates every wait: the pipe becomes readable when written to, an
//! unread pipe stays silent (edge-triggered), the listener becomes readable when a client
//! connects, the client becomes writable, the server becomes readable when bytes arrive
//! and read-closed when the client half-closes, and the pipe hangs up when its writer is
//! closed. It ends with the selector's own counters. Every expected event comes on all
//! three backends: that is the `Selector` contract. epoll usually shows one difference the
//! contract allows, an extra `client writable`, explained at the end of the output.
//!
//! Every wait is bounded; if an expected event does not come within two seconds the demo
//! says which and exits with status 1. A normal run takes well under a second.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin sys_demo
//! ```

use ply_sys::{Backend, Event, Events, Interest, Selector, Socket, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

const PIPE: Token = Token(0);
const LISTENER: Token = Token(1);
const CLIENT: Token = Token(2);
const SERVER: Token = Token(3);

/// How long to wait for an event that must come.
const LIMIT: Duration = Duration::from_secs(2);
/// How long to wait when showing that nothing is reported.
const QUIET: Duration = Duration::from_millis(20);

fn main() {
    println!("ply-sys demo: one Selector contract, three kernel mechanisms.");
    for backend in Backend::ALL {
        if let Err(e) = demo(backend) {
            eprintln!("\nsys_demo: {backend}: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "\nEvery expected event came, on all three backends.\n\
         epoll may say `client writable` again: an epoll event carries every direction\n\
         ready when the fd's wait queue is woken, so a wake-up for one direction (a FIN\n\
         sent, data arriving) repeats the other. poll and select stop watching a direction\n\
         once it is reported, until `rearm`. The contract allows both: events are hints."
    );
}

/// Runs every step against one backend.
fn demo(backend: Backend) -> io::Result<()> {
    println!("\n=== {backend} ===");
    let selector = Selector::with_backend(backend)?;
    let mut watch = Watch {
        selector: &selector,
        events: Events::with_capacity(16),
    };

    // The pipe: nothing to read yet, so the first wait times out.
    let (pipe_r, pipe_w) = ply_sys::pipe()?;
    watch.register(
        "pipe read end",
        pipe_r.as_raw_fd(),
        PIPE,
        Interest::READABLE,
    )?;
    step("wait with nothing written");
    watch.expect_quiet()?;

    step("write \"hello\" into the pipe");
    ply_sys::write(pipe_w.as_fd(), b"hello")?;
    watch.expect(PIPE, "readable", Event::is_readable)?;

    step("wait again without reading: the data is still there");
    watch.expect_quiet()?;
    note("edge-triggered: readiness is reported when it arrives, not while it lasts");

    step("read the pipe until WouldBlock, then rearm it");
    let n = drain(|buf| ply_sys::read(pipe_r.as_fd(), buf))?;
    note(&format!("read {n} bytes, then WouldBlock"));
    selector.rearm(pipe_r.as_raw_fd(), PIPE, Interest::READABLE)?;

    // TCP over loopback: a listener, then a client connecting to it.
    let listener = Socket::tcp_listener("127.0.0.1:0".parse().unwrap(), 16)?;
    let addr = listener.local_addr()?;
    watch.register(
        "listener",
        listener.as_raw_fd(),
        LISTENER,
        Interest::READABLE,
    )?;
    step(&format!("a client connects to {addr}"));
    let client = Socket::tcp_connect_timeout(addr, LIMIT)?;
    watch.expect(LISTENER, "readable", Event::is_readable)?;

    step("accept until WouldBlock, then rearm the listener");
    let (server, peer) = listener.accept()?;
    note(&format!("accepted the connection from {peer}"));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
        Ok(_) => return Err(io::Error::other("a second connection appeared")),
    }
    selector.rearm(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
    watch.register("client", client.as_raw_fd(), CLIENT, Interest::BOTH)?;
    watch.register(
        "server side",
        server.as_raw_fd(),
        SERVER,
        Interest::READABLE,
    )?;
    step("wait on the new connection");
    watch.expect(CLIENT, "writable", Event::is_writable)?;
    note("a fresh connection has room in its send buffer");

    step("the client sends \"ping\"");
    (&client).write_all(b"ping")?;
    watch.expect(SERVER, "readable", Event::is_readable)?;
    let n = drain(|buf| server.recv(buf))?;
    note(&format!("server read {n} bytes, then WouldBlock; rearm it"));
    selector.rearm(server.as_raw_fd(), SERVER, Interest::READABLE)?;

    step("the client half-closes (shutdown of its write side)");
    client.shutdown(Shutdown::Write)?;
    watch.expect(SERVER, "read-closed", Event::is_read_closed)?;
    let n = (&server).read(&mut [0u8; 16])?;
    note(&format!("server read {n} bytes: end of stream"));

    step("the server still replies: only one direction is closed");
    (&server).write_all(b"pong")?;
    watch.expect(CLIENT, "readable", Event::is_readable)?;
    let n = drain(|buf| client.recv(buf))?;
    note(&format!("client read {n} bytes"));

    step("close the pipe's write end");
    drop(pipe_w);
    watch.expect(PIPE, "hang-up (read-closed)", Event::is_read_closed)?;
    let n = ply_sys::read(pipe_r.as_fd(), &mut [0u8; 16])?;
    note(&format!("read returns {n}: end of stream"));

    // Deregister before closing: the selector does not own the fds.
    for fd in [
        pipe_r.as_raw_fd(),
        listener.as_raw_fd(),
        client.as_raw_fd(),
        server.as_raw_fd(),
    ] {
        selector.deregister(fd)?;
    }
    println!("  stats: {:?}", selector.stats());
    Ok(())
}

/// A selector and its event buffer, narrating each wait.
struct Watch<'a> {
    selector: &'a Selector,
    events: Events,
}

impl Watch<'_> {
    fn register(&self, what: &str, fd: i32, token: Token, interest: Interest) -> io::Result<()> {
        self.selector.register(fd, token, interest)?;
        println!(
            "  register {what} (fd {fd}) as {} for {interest:?}",
            name(token)
        );
        Ok(())
    }

    /// Waits (up to [`LIMIT`], over as many waits as it takes) for an event on `token` that
    /// satisfies `check`, printing every event the kernel reports meanwhile.
    fn expect(&mut self, token: Token, what: &str, check: fn(&Event) -> bool) -> io::Result<()> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("no {what} event for {} within {LIMIT:?}", name(token)),
                ));
            }
            self.selector.select(&mut self.events, Some(left))?;
            let mut found = false;
            for event in &self.events {
                println!("    kernel: {:<9} {}", name(event.token()), describe(event));
                found |= event.token() == token && check(event);
            }
            if found {
                return Ok(());
            }
        }
    }

    /// One short wait that must report nothing.
    fn expect_quiet(&mut self) -> io::Result<()> {
        self.selector.select(&mut self.events, Some(QUIET))?;
        if let Some(event) = self.events.iter().next() {
            return Err(io::Error::other(format!(
                "expected no event, got {} {}",
                name(event.token()),
                describe(event)
            )));
        }
        println!("    kernel: nothing within {QUIET:?}");
        Ok(())
    }
}

fn step(what: &str) {
    println!("  - {what}");
}

fn note(what: &str) {
    println!("      ({what})");
}

fn name(token: Token) -> &'static str {
    match token {
        PIPE => "pipe",
        LISTENER => "listener",
        CLIENT => "client",
        SERVER => "server",
        _ => "unknown",
    }
}

/// An event's flags in words, e.g. `readable, read-closed`.
fn describe(event: &Event) -> String {
    let flags = [
        (event.is_readable(), "readable"),
        (event.is_writable(), "writable"),
        (event.is_priority(), "priority"),
        (event.is_read_closed(), "read-closed"),
        (event.is_write_closed(), "write-closed"),
        (event.is_error(), "error"),
    ];
    let on: Vec<&str> = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
    on.join(", ")
}

/// Reads with `read` until `WouldBlock` (the readiness contract); returns the bytes read.
fn drain(mut read: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<usize> {
    let mut buf = [0u8; 64];
    let mut total = 0;
    loop {
        match read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}

//! Two runtimes put together by hand from ply's layers, each narrated as it runs.
//!
//! **Part 1: ply-executor + ply-timer, no reactor.** A `LocalExecutor` with a parker
//! written here (an implementation of `ply_executor::park::Park`): when the executor has
//! nothing to run, the parker calls `Timer::turn`, which asks the timer for its next
//! deadline, lets the parker sleep the thread until then, and fires what is due, which
//! wakes the tasks whose time has come. The timer is built with ply-executor's
//! cooperative budget (`Builder::budget`), so an always-ready sleep cannot starve. No
//! file descriptor, no epoll: the executor and the timer meet only at `Waker` and at the
//! parker. Sleeps, an interval, a timeout that fires, one that does not, and a wake-up
//! from another thread run on it; every park is printed with what it found.
//!
//! **Part 2: ply-reactor under `futures::executor::block_on`, no ply executor.** A
//! loopback TCP round trip with `ply_reactor::Async` over `ply_sys` sockets: a
//! nonblocking connect that waits for writability, an accept that waits for readability,
//! then a ping and a pong. With no reactor entered, `Async::new` registers with the global
//! fallback reactor, whose own thread waits in the kernel; the round trip is bounded by
//! `ply_timer::timeout`, served by ply-timer's standalone thread. It prints the steps, the
//! reactor's counters and the threads that did the work.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ply-examples --bin custom_runtime
//! ```

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use ply_examples::Args;
use ply_executor::park::{Park, ThreadParker, Unpark};
use ply_executor::LocalExecutor;
use ply_reactor::{Async, Reactor};
use ply_sys::{Connect, Socket};
use ply_timer::{Timer, TimerHandle};

const USAGE: &str = "usage: custom_runtime   (no flags)";

fn main() {
    Args::parse(USAGE).finish();
    println!("custom_runtime: two runtimes assembled by hand from ply's layers");
    part_one();
    if let Err(e) = part_two() {
        eprintln!("custom_runtime: part 2: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Part 1: ply-executor + ply-timer, no reactor.
// ---------------------------------------------------------------------------------------

/// Prints a line stamped with the time since `start`.
fn say(start: Instant, what: &str) {
    println!("  {:>7.1} ms  {what}", start.elapsed().as_secs_f64() * 1e3);
}

/// What the parker did, shared with `main` to print at the end.
#[derive(Default)]
struct ParkLog {
    parks: Cell<u64>,
    /// Parks that ended before their deadline: an unpark came (maybe before the park).
    at_once: Cell<u64>,
    slept: Cell<Duration>,
    fired: Cell<u64>,
}

/// The parker of part 1: sleeps until the timer's next deadline, then fires the timer.
struct TimerParker {
    /// Blocks the thread; its unparker is what the executor and the timer call.
    thread: ThreadParker,
    timer: Timer,
    log: Rc<ParkLog>,
    start: Instant,
}

impl TimerParker {
    /// One park: sleep until the earlier of `limit` and the next deadline, then fire
    /// what is due. `Timer::turn` plans the timeout and fires; this parker only sleeps.
    fn wait(&mut self, limit: Option<Duration>) {
        let now = Instant::now();
        let (sleep, fired) = self.timer.turn(limit, |sleep| {
            match sleep {
                Some(d) => {
                    say(
                        self.start,
                        &format!(
                            "park: next deadline in {:.1} ms, sleeping until then",
                            d.as_secs_f64() * 1e3
                        ),
                    );
                    self.thread.park_timeout(d);
                }
                None => {
                    say(
                        self.start,
                        "park: no deadline at all, sleeping until unparked",
                    );
                    self.thread.park();
                }
            }
            sleep
        });
        let slept = now.elapsed();
        let log = &self.log;
        log.parks.set(log.parks.get() + 1);
        log.slept.set(log.slept.get() + slept);
        log.fired.set(log.fired.get() + fired as u64);
        let early = sleep.is_some_and(|d| slept + Duration::from_micros(200) < d);
        if early {
            log.at_once.set(log.at_once.get() + 1);
        }
        let why = if early {
            "unparked (a wake-up came)"
        } else {
            "woke"
        };
        say(
            self.start,
            &format!(
                "  {why} after {:.1} ms; the turn fired {fired} timer{}",
                slept.as_secs_f64() * 1e3,
                if fired == 1 { "" } else { "s" }
            ),
        );
    }
}

impl Park for TimerParker {
    type Unparker = <ThreadParker as Park>::Unparker;

    fn unparker(&self) -> Self::Unparker {
        self.thread.unparker()
    }

    fn park(&mut self) {
        self.wait(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.wait(Some(timeout));
    }
}

fn part_one() {
    println!("\nPart 1: ply-executor + ply-timer, no reactor");
    println!("  A LocalExecutor whose parker sleeps until the timer's next deadline, then");
    println!("  fires what is due (Timer::turn). Tasks: a 30 ms sleep, a 20 ms interval");
    println!("  ticking 4 times, a timeout that fires, one that does not, and a wake-up from");
    println!("  another thread.\n");

    let thread = ThreadParker::new();
    // The timer calls this when a task registers a deadline earlier than the one the
    // parker sleeps toward (or any deadline while it sleeps without one).
    let unparks = Arc::new(AtomicU64::new(0));
    let timer = {
        let (unparker, unparks) = (thread.unparker(), unparks.clone());
        Timer::builder()
            .unpark(Arc::new(move || {
                unparks.fetch_add(1, Relaxed);
                unparker.unpark();
            }))
            // Ready sleeps spend the executor's budget: a hand-built runtime has one only
            // if it says so.
            .budget(ply_executor::coop::poll_proceed)
            .build()
    };
    let handle: TimerHandle = timer.handle();
    let log = Rc::new(ParkLog::default());
    let start = Instant::now();
    let executor = LocalExecutor::with_parker(TimerParker {
        thread,
        timer,
        log: log.clone(),
        start,
    });

    // While the guard lives, `ply_timer::sleep` and friends use this timer rather than
    // the global standalone one.
    let _current = handle.enter();
    let tasks_done = executor.block_on(async move {
        let tea = ply_executor::spawn_local(async move {
            ply_timer::sleep(Duration::from_millis(30)).await;
            say(start, "[tea]       30 ms sleep done");
        });
        let ticker = ply_executor::spawn_local(async move {
            let mut interval = ply_timer::interval(Duration::from_millis(20));
            for n in 0..4 {
                interval.tick().await;
                say(start, &format!("[ticker]    tick {n}"));
            }
        });
        let impatient = ply_executor::spawn_local(async move {
            let slow = ply_timer::sleep(Duration::from_secs(3600));
            match ply_timer::timeout(Duration::from_millis(25), slow).await {
                Ok(()) => say(start, "[impatient] the hour passed?!"),
                Err(_) => say(
                    start,
                    "[impatient] gave up on an hour-long sleep after 25 ms",
                ),
            }
        });
        let patient = ply_executor::spawn_local(async move {
            let quick = ply_timer::sleep(Duration::from_millis(10));
            if ply_timer::timeout(Duration::from_millis(100), quick)
                .await
                .is_ok()
            {
                say(
                    start,
                    "[patient]   10 ms sleep finished inside its 100 ms timeout",
                );
            }
        });
        let remote = ply_executor::spawn_local(async move {
            let (tx, rx) = futures::channel::oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(45));
                let _ = tx.send("hello from another thread");
            });
            // No timer involved: the other thread's send wakes this task, and the waker
            // unparks the parker through its unparker.
            if let Ok(msg) = rx.await {
                say(start, &format!("[remote]    {msg:?} (woken by unpark)"));
            }
        });
        let mut done = 0;
        for task in [tea, ticker, impatient, patient, remote] {
            done += u32::from(task.await.is_ok());
        }
        done
    });

    let m = handle.metrics();
    let e = executor.metrics();
    println!(
        "\n  Part 1 did: {tasks_done} of 5 tasks finished in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "    parker    {} parks, {:.1} ms asleep in total, {} ended early by an unpark",
        log.parks.get(),
        log.slept.get().as_secs_f64() * 1e3,
        log.at_once.get()
    );
    println!(
        "    timer     {} armed, {} fired ({} by the parker's fire_due), {} cancelled, {} reset",
        m.inserted,
        m.fired,
        log.fired.get(),
        m.cancelled,
        m.reset,
    );
    println!(
        "              asked the parker to unpark {} times (a deadline earlier than its own)",
        unparks.load(Relaxed)
    );
    println!(
        "    executor  {} tasks spawned, {} polls, {} completed",
        e.spawned, e.polled, e.completed
    );
}

// ---------------------------------------------------------------------------------------
// Part 2: ply-reactor under futures::executor::block_on, no ply executor.
// ---------------------------------------------------------------------------------------

fn part_two() -> io::Result<()> {
    println!("\nPart 2: ply-reactor under futures::executor::block_on, no ply executor");
    println!("  A loopback TCP round trip with ply_reactor::Async, driven by the global");
    println!("  fallback reactor's thread; bounded by ply_timer::timeout (standalone timer).\n");

    let start = Instant::now();
    let reactor = Reactor::global()?;
    let before = reactor.stats();
    let outcome = futures::executor::block_on(ply_timer::timeout(
        Duration::from_secs(5),
        round_trip(start),
    ));
    match outcome {
        Ok(result) => result?,
        Err(_) => return Err(io::Error::other("the round trip took over 5 s")),
    }
    let after = reactor.stats();
    println!(
        "\n  Part 2 did: one round trip in {:.1} ms, on the {} reactor's own thread",
        start.elapsed().as_secs_f64() * 1e3,
        reactor.backend()
    );
    println!(
        "    reactor   {} kernel waits, {} events, {} wakers called, {} fds registered \
         and {} dropped",
        after.polls - before.polls,
        after.events - before.events,
        after.wakes - before.wakes,
        after.registrations - before.registrations,
        after.deregistrations - before.deregistrations,
    );
    if let Some(names) = thread_names() {
        println!("    threads   {names}");
    }
    Ok(())
}

/// Connects, accepts, and exchanges a ping and a pong, narrating each wait.
async fn round_trip(start: Instant) -> io::Result<()> {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let listener = Async::new(Socket::tcp_listener(addr, 16)?)?;
    let addr = listener.get_ref().local_addr()?;
    say(
        start,
        &format!("listening on {addr}; registered with the global reactor"),
    );

    let connect = async {
        let socket = Socket::tcp_for(&addr)?;
        let pending = socket.connect(&addr)?;
        let client = Async::new(socket)?;
        if let Connect::InProgress = pending {
            say(
                start,
                "connect: EINPROGRESS; waiting until the socket is writable",
            );
            client.writable().await?;
            if let Some(e) = client.get_ref().take_error()? {
                return Err(e);
            }
        }
        say(start, "connect: done");
        io::Result::Ok(client)
    };
    let accept = async {
        say(start, "accept: waiting until the listener is readable");
        let (socket, peer) = listener.read_with(|l| l.accept()).await?;
        say(start, &format!("accept: got {peer}"));
        Async::new(socket)
    };
    let (mut client, mut server) = futures::try_join!(connect, accept)?;

    client.write_all(b"ping").await?;
    say(start, "client: sent \"ping\"");
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).await?;
    say(
        start,
        &format!("server: read {:?}, replying", String::from_utf8_lossy(&buf)),
    );
    server.write_all(b"pong").await?;
    client.read_exact(&mut buf).await?;
    say(
        start,
        &format!("client: read {:?}", String::from_utf8_lossy(&buf)),
    );
    if &buf != b"pong" {
        return Err(io::Error::other("the reply was garbled"));
    }
    Ok(())
}

/// The names of this process's threads (Linux `/proc`), like `main, ply-reactor`.
fn thread_names() -> Option<String> {
    let pid = std::process::id().to_string();
    let mut names = vec!["main".to_owned()];
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        // The main thread's id is the process id; its name is the program's.
        if path.file_name().is_some_and(|tid| tid == pid.as_str()) {
            continue;
        }
        if let Ok(name) = std::fs::read_to_string(path.join("comm")) {
            names.push(name.trim().to_owned());
        }
    }
    names[1..].sort();
    Some(names.join(", "))
}

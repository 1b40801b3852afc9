//! Signals through the reactor, tested in child processes: the test binary runs itself
//! again with `PLY_SIGNAL_CHILD` naming a scenario, the child sends itself a signal, and
//! the parent checks that it exited 0 after saying so.
//!
//! The child starts with the signals blocked (set between fork and exec, so every thread
//! it ever has, the harness's included, inherits the mask): a process-directed signal
//! must find no thread that would take its default action. That is what a program does
//! in its first lines, or what the runtime does for its workers.

mod util;

use ply_net::signal::{ctrl_c, signal, SignalKind};
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use util::{watchdog, within};

const CHILD_ENV: &str = "PLY_SIGNAL_CHILD";

/// Sends `signo` to this whole process (kill(2), process-directed) after `delay`, from a
/// thread of its own, so the listener is already waiting in the reactor.
fn kill_self_after(signo: i32, delay: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: kill with our own pid and a signal every thread blocks.
        let rc = unsafe { libc::kill(libc::getpid(), signo) };
        assert_eq!(rc, 0);
    });
}

fn child_scenario(name: &str) {
    let _w = watchdog("signal child", Duration::from_secs(20));
    let rt = match name {
        "ctrl_c_multi" | "two_listeners_multi" => util::multi_thread(),
        _ => util::current_thread(),
    };
    match name {
        "ctrl_c_current" | "ctrl_c_multi" => rt.block_on(async {
            let interrupted = ctrl_c();
            kill_self_after(libc::SIGINT, Duration::from_millis(100));
            within(Duration::from_secs(10), "ctrl_c", interrupted)
                .await
                .unwrap();
        }),
        "two_listeners_current" | "two_listeners_multi" => rt.block_on(async {
            let mut first = signal(SignalKind::user_defined1()).unwrap();
            let mut second = signal(SignalKind::user_defined1()).unwrap();
            for round in 0..3 {
                kill_self_after(libc::SIGUSR1, Duration::from_millis(50));
                let a = ply_net::spawn(async move {
                    within(Duration::from_secs(10), "first listener", first.recv()).await;
                    first
                });
                within(Duration::from_secs(10), "second listener", second.recv())
                    .await
                    .expect("second listener");
                first = a.await.unwrap();
                println!("round {round}: both listeners saw SIGUSR1");
            }
        }),
        other => panic!("unknown scenario {other}"),
    }
    println!("child ok: {name}");
}

/// The child's entry point; in the parent (no `PLY_SIGNAL_CHILD`) it does nothing.
#[test]
fn child() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        child_scenario(&name);
    }
}

/// Runs `scenario` in a child with SIGINT and SIGUSR1 blocked from its start, and checks
/// it exits 0 having said so.
fn run_child(scenario: &str) {
    let set = ply_sys::SignalSet::of(&[libc::SIGINT, libc::SIGUSR1]).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // pthread_sigmask (async-signal-safe) on a set built before the fork. std resets the
    // child's mask before running it, so this block is what the child starts with.
    unsafe {
        cmd.pre_exec(move || ply_sys::block_signals(&set).map(drop));
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{scenario}: the child did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.success(),
        "{scenario}: child exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("child ok: {scenario}")),
        "{scenario}: no success line\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn ctrl_c_resolves_in_a_child_that_sends_itself_sigint_on_both_runtimes() {
    run_child("ctrl_c_current");
    run_child("ctrl_c_multi");
}

#[test]
fn two_listeners_for_one_signal_both_hear_it_on_both_runtimes() {
    run_child("two_listeners_current");
    run_child("two_listeners_multi");
}

#[test]
fn signals_that_cannot_be_caught_are_refused() {
    util::current_thread().block_on(async {
        for signo in [libc::SIGKILL, libc::SIGSTOP, 0, 200] {
            let err = signal(SignalKind::from_raw(signo)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "signal {signo}");
        }
    });
}

#[test]
fn listening_while_another_thread_does_not_block_the_signal_is_an_error() {
    // The harness's main thread does not block SIGUSR2, and neither do the workers of a
    // runtime built before the call: a listener could never hear it (the signal would
    // be delivered to one of them), so signal() says so instead of failing later.
    util::multi_thread().block_on(async {
        let err = signal(SignalKind::user_defined2()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(
            err.to_string().contains("is not blocked in thread"),
            "{err}"
        );
    });
}

//! `#[ply_net::main]` and `#[ply_net::test]`: the attributes build the runtime they say.

use std::time::Duration;

#[ply_net::test]
async fn a_test_runs_on_a_current_thread_runtime() {
    // No multi-threaded executor is current: spawned tasks run here, on the test thread.
    assert!(ply_executor::Handle::try_current().is_none());
    let me = std::thread::current().id();
    let ran_on = ply_net::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(ran_on, me);
    ply_net::sleep(Duration::from_millis(1)).await;
}

#[ply_net::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_test_can_ask_for_workers() {
    assert_eq!(ply_executor::Handle::current().num_workers(), 3);
    let v = ply_net::spawn(async { 40 + 2 }).await.unwrap();
    assert_eq!(v, 42);
}

#[ply_net::test]
async fn a_test_may_return_a_result() -> std::io::Result<()> {
    let listener = ply_net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = ply_net::TcpStream::connect(addr).await?;
    let (server, _) = listener.accept().await?;
    client.write_all(b"hi").await?;
    let mut buf = [0; 2];
    server.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"hi");
    Ok(())
}

#[ply_net::test(start_paused = true)]
async fn a_test_can_start_with_the_clock_paused() {
    let wall = std::time::Instant::now();
    let start = ply_net::time::now();
    assert!(ply_net::Handle::current().timer().is_paused());
    ply_net::sleep(Duration::from_secs(24 * 3600)).await;
    let elapsed = ply_net::time::now() - start;
    assert!(elapsed >= Duration::from_secs(24 * 3600), "{elapsed:?}");
    assert!(wall.elapsed() < Duration::from_secs(5), "a day, at once");
}

#[ply_net::test(start_paused = false)]
async fn start_paused_false_is_the_real_clock() {
    assert!(!ply_net::Handle::current().timer().is_paused());
    let a = std::time::Instant::now();
    let now = ply_net::time::now();
    assert!(a <= now);
}

#[ply_net::test(flavor = "current_thread", start_paused = true)]
async fn start_paused_goes_with_the_current_thread_flavor() {
    let start = ply_net::time::now();
    ply_net::time::advance(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ply_net::time::now() - start, Duration::from_secs(5));
}

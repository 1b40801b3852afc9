//! axum and hyper-util on ply: the `axum_hello` example's app, served in-process on ply
//! runtimes, answers curl (its routes, the JSON body, the 404, the streamed body, and
//! HTTP/2), and the `pooled_client` example's hyper-util client sends it 1,000 requests
//! over a pool of a few connections. No thread of the process is a tokio thread.

// The examples' own code, so the test checks exactly what they run; their `main`s are
// not used here.
#[allow(dead_code, reason = "the example's main and flag parsing")]
#[path = "../src/bin/axum_hello.rs"]
mod axum_hello;
#[allow(dead_code, reason = "the example's main and flag parsing")]
#[path = "../src/bin/pooled_client.rs"]
mod pooled_client;

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use ply_test_support::watchdog;

use axum_hello::{Counts, STREAM_CHUNKS};
use ply_net::{Runtime, TcpListener};
use pooled_client::PlyConnector;

const LIMIT: Duration = Duration::from_secs(20);

/// The two runtime flavours (two workers for the multi-threaded one: CI has two cores).
fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        (
            "current_thread",
            Runtime::new_current_thread().expect("a current-thread runtime"),
        ),
        (
            "multi_thread",
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()
                .expect("a multi-threaded runtime"),
        ),
    ]
}

/// Starts the example's server on a free loopback port of the current runtime.
async fn start_server() -> (SocketAddr, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let counts = Arc::new(Counts::default());
    drop(ply_net::spawn(axum_hello::serve(
        listener,
        axum_hello::app(),
        counts.clone(),
    )));
    (addr, counts)
}

/// The names of this process's threads that start with `tokio`.
fn tokio_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .filter(|name| name.starts_with("tokio"))
        .collect()
}

/// What curl got: its stdout, which `-w` may end with a status code.
struct Curl {
    out: String,
}

/// Runs curl with `args` (see [`ply_test_support::curl`]).
fn curl(args: &[&str]) -> Option<Curl> {
    ply_test_support::curl(args).map(|out| Curl { out })
}

#[test]
fn axum_on_ply_answers_curl() {
    let _w = watchdog("axum and curl", Duration::from_secs(90));
    for (flavor, rt) in runtimes() {
        let answers = rt.block_on(async {
            let (addr, counts) = start_server().await;
            // curl blocks: on the blocking pool, so the runtime serves meanwhile (on a
            // current-thread runtime only this thread runs the server).
            let job = ply_net::spawn_blocking(move || {
                let url = |path: &str| format!("http://{addr}{path}");
                Some([
                    curl(&["-w", "\n%{http_code}", &url("/")])?,
                    curl(&["-w", "\n%{http_code}", &url("/json")])?,
                    curl(&["-w", "\n%{http_code}", &url("/nowhere")])?,
                    // Headers too (-D -), to see the body was streamed (chunked).
                    curl(&["-D", "-", &url("/stream")])?,
                    curl(&[
                        "--http2-prior-knowledge",
                        "-w",
                        "\n%{http_version}",
                        &url("/json"),
                    ])?,
                ])
            });
            let answers = ply_net::timeout(LIMIT, job)
                .await
                .expect("curl answered in time")
                .expect("the curl job");
            (answers, counts.connections.load(Relaxed))
        });
        let (Some([root, json, missing, stream, http2]), accepted) = answers else {
            eprintln!("skipped: curl is not installed (CI installs it)");
            return;
        };
        assert_eq!(root.out, "Hello from axum on ply!\n\n200", "{flavor}");

        let (body, status) = json.out.rsplit_once('\n').expect("a status line");
        assert_eq!(status, "200", "{flavor}");
        let value: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(
            value,
            serde_json::json!({
                "message": "hello",
                "runtime": "ply",
                "layers": ["executor", "timer", "reactor"],
            }),
            "{flavor}"
        );

        assert_eq!(missing.out, "no such page\n\n404", "{flavor}");

        let (head, body) = stream
            .out
            .split_once("\r\n\r\n")
            .expect("headers, then a body");
        assert!(head.starts_with("HTTP/1.1 200"), "{flavor}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{flavor}: the body was not streamed: {head}"
        );
        let want: String = (0..STREAM_CHUNKS).map(axum_hello::stream_chunk).collect();
        assert_eq!(body, want, "{flavor}: the streamed body in full");

        let (body, version) = http2.out.rsplit_once('\n').expect("a version line");
        assert_eq!(version, "2", "{flavor}: HTTP/2 with prior knowledge");
        assert!(body.contains(r#""runtime":"ply""#), "{flavor}: {body}");

        assert_eq!(accepted, 5, "{flavor}: one connection per curl");
        assert_eq!(
            tokio_threads(),
            Vec::<String>::new(),
            "{flavor}: a tokio thread"
        );
    }
}

#[test]
fn a_pooled_hyper_util_client_on_ply_sends_1000_requests_over_few_connections() {
    const REQUESTS: usize = 1000;
    const CONCURRENCY: usize = 8;
    let _w = watchdog("pooled client", Duration::from_secs(90));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let (addr, counts) = start_server().await;
            let connector = PlyConnector::new();
            let client = pooled_client::client(connector.clone());
            let uri: hyper::Uri = format!("http://{addr}/json").parse().unwrap();
            let bytes = ply_net::timeout(
                LIMIT,
                pooled_client::get_many(&client, &uri, REQUESTS, CONCURRENCY),
            )
            .await
            .expect("1,000 requests answered in time")
            .expect("every request answered 200");
            let body =
                r#"{"message":"hello","runtime":"ply","layers":["executor","timer","reactor"]}"#;
            assert_eq!(
                bytes,
                (REQUESTS * body.len()) as u64,
                "{flavor}: every body"
            );

            // The pool reuses kept-alive connections: about one per request in flight
            // (8 to 15 here). hyper-util also dials when a request finds every connection
            // busy and keeps the spare, so allow for a loaded machine: at most 100, ten
            // requests per connection on average, far from one per request.
            let accepted = counts.connections.load(Relaxed);
            assert_eq!(
                accepted,
                connector.connects(),
                "{flavor}: accepts vs connects"
            );
            assert!(
                (1..=100).contains(&accepted),
                "{flavor}: {REQUESTS} requests took {accepted} connections"
            );
            eprintln!("{flavor}: {REQUESTS} requests over {accepted} connections");

            // A 404 through the client too, and no tokio thread anywhere.
            let res = ply_net::timeout(
                LIMIT,
                client.get(format!("http://{addr}/nowhere").parse().unwrap()),
            )
            .await
            .expect("an answer in time")
            .expect("a response");
            assert_eq!(res.status(), 404, "{flavor}");
        });
        assert_eq!(
            tokio_threads(),
            Vec::<String>::new(),
            "{flavor}: a tokio thread"
        );
    }
}

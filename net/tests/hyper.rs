//! hyper 1.x on ply (the `hyper` feature): a hyper HTTP/1 server on a ply runtime answers
//! curl and a hyper client that runs on ply too, on both runtime flavours.
#![cfg(feature = "hyper")]

mod util;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use ply_net::hyper::{HyperExecutor, HyperTimer};
use ply_net::{TcpListener, TcpStream};
use std::net::SocketAddr;
use std::time::Duration;
use util::{runtimes, watchdog, within};

const LIMIT: Duration = Duration::from_secs(10);

/// Answers "hello from ply: METHOD PATH", then the request's body.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let head = format!("hello from ply: {} {}\n", req.method(), req.uri().path());
    let body = req.into_body().collect().await?.to_bytes();
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(answer))))
}

/// A hyper server on the current runtime; its address.
async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(ply_net::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            drop(ply_net::spawn(async move {
                hyper::server::conn::http1::Builder::new()
                    .timer(HyperTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(stream, hyper::service::service_fn(hello))
                    .await
            }));
        }
    }));
    addr
}

/// Runs curl with `args` and `url` (see `util::curl`); `None` if curl is not installed.
fn curl(args: &[&str], url: &str) -> Option<String> {
    util::curl(&[args, &[url]].concat())
}

#[test]
fn a_hyper_server_on_ply_answers_curl() {
    let _w = watchdog("hyper and curl", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        let answers = rt.block_on(async {
            let addr = server().await;
            // curl blocks; on the blocking pool the runtime keeps serving meanwhile (on a
            // current-thread runtime, only this thread runs the server).
            let job = ply_net::spawn_blocking(move || {
                let url = format!("http://{addr}/");
                let get = curl(&[], &url)?;
                let post = curl(
                    &["--data-binary", "posted body"],
                    &format!("{url}submit?x=1"),
                )?;
                Some((get, post))
            });
            within(LIMIT * 2, "curl", job).await.unwrap()
        });
        let Some((get, post)) = answers else {
            eprintln!("skipped: curl is not installed (CI installs it)");
            return;
        };
        assert_eq!(get, "hello from ply: GET /\n", "{flavor}");
        assert_eq!(
            post, "hello from ply: POST /submit\nposted body",
            "{flavor}"
        );
    }
}

#[test]
fn a_hyper_client_on_ply_talks_to_a_hyper_server_on_ply() {
    let _w = watchdog("hyper client", Duration::from_secs(60));
    for (flavor, rt) in runtimes() {
        rt.block_on(async {
            let addr = server().await;
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
                .handshake::<_, Full<Bytes>>(stream)
                .await
                .unwrap();
            let conn = ply_net::spawn(conn);
            // Several requests on one kept-alive connection, one with a large body that
            // crosses many reads and writes.
            let big = util::pattern(9, 1 << 20);
            for (i, body) in [Vec::new(), b"small".to_vec(), big].into_iter().enumerate() {
                let req = Request::post(format!("/req/{i}"))
                    .header("host", addr.to_string())
                    .body(Full::new(Bytes::from(body.clone())))
                    .unwrap();
                // HTTP/1 sends one request at a time: wait until the connection task has
                // finished the previous exchange.
                within(LIMIT, "the connection ready", sender.ready())
                    .await
                    .unwrap();
                let res = within(LIMIT, "a response", sender.send_request(req))
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "{flavor}");
                let got = within(LIMIT, "a response body", res.into_body().collect())
                    .await
                    .unwrap()
                    .to_bytes();
                let head = format!("hello from ply: POST /req/{i}\n");
                assert!(got.starts_with(head.as_bytes()), "{flavor}: {got:?}");
                assert!(got[head.len()..] == body[..], "{flavor}: body #{i} differs");
            }
            // Closing the client ends the connection task cleanly.
            drop(sender);
            within(LIMIT, "the client connection", conn)
                .await
                .unwrap()
                .unwrap();
            // The executor glue spawns onto the current runtime.
            let (tx, rx) = futures::channel::oneshot::channel();
            hyper::rt::Executor::execute(&HyperExecutor::new(), async move {
                let _ = tx.send(7);
            });
            assert_eq!(within(LIMIT, "HyperExecutor", rx).await.unwrap(), 7);
        });
    }
}

#[test]
fn hyper_timer_sleeps_and_resets_on_ply() {
    let _w = watchdog("hyper timer", Duration::from_secs(30));
    let rt = util::current_thread();
    rt.block_on(async {
        use hyper::rt::Timer;
        let timer = HyperTimer::new();
        let start = std::time::Instant::now();
        timer.sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        // A reset moves the deadline of an existing sleep.
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let start = std::time::Instant::now();
        timer.reset(&mut sleep, start + Duration::from_millis(20));
        within(LIMIT, "the reset sleep", sleep).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        timer
            .sleep_until(std::time::Instant::now() + Duration::from_millis(5))
            .await;
    });
}

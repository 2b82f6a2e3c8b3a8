//! hyper 1.x on spindle: servers, clients, hyper-util's pooled client, HTTP/2, the header-read
//! timeout and graceful shutdown.

use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{Empty, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use interop_tests::{Protocol, TestServer, body_string};
use spindle::hyper::{SpindleConnector, SpindleExecutor, SpindleIo, SpindleTimer};
use spindle::net::{TcpListener, TcpStream};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[test]
fn keep_alive_round_trips_on_one_connection() {
    spindle::run(async {
        let server = TestServer::start(Protocol::Http1).await;
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
            .await
            .unwrap();
        let driver = spindle::spawn(conn);
        for i in 1..=100 {
            sender.ready().await.unwrap();
            let req = Request::get(format!("/req/{i}"))
                .header("host", "test")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            assert_eq!(response.status(), 200);
            // The server numbers the requests of each connection: all 100 arrive on the first.
            assert_eq!(body_string(response).await, format!("/req/{i} {i}"));
        }
        assert_eq!(
            server.accepted(),
            1,
            "keep-alive: one connection for 100 requests"
        );
        drop(sender);
        // Dropping the sender ends the client connection cleanly.
        driver.await.unwrap().unwrap();
    });
}

/// Sends `count` requests at once through `client` and checks every answer.
async fn concurrent_requests(
    client: &Client<SpindleConnector, Empty<Bytes>>,
    server: &TestServer,
    wave: usize,
    count: usize,
) {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let client = client.clone();
            let uri = server.uri(&format!("/w{wave}/{i}"));
            spindle::spawn(async move {
                let response = client.get(uri).await.unwrap();
                assert_eq!(response.status(), 200);
                body_string(response).await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let body = task.await.unwrap();
        let prefix = format!("/w{wave}/{i} ");
        assert!(body.starts_with(&prefix), "request {i} got {body:?}");
    }
}

/// Sends single requests until one is served on a pooled connection (no new connection), for at
/// most 20 s.
async fn wait_until_pooled(client: &Client<SpindleConnector, Empty<Bytes>>, server: &TestServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        spindle::time::sleep(Duration::from_millis(50)).await;
        let before = server.accepted();
        let response = client.get(server.uri("/probe")).await.unwrap();
        body_string(response).await;
        if server.accepted() == before {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection came back to the pool within 20 s"
        );
    }
}

#[test]
fn pooled_client_answers_200_concurrent_requests_and_reuses_connections() {
    spindle::run(async {
        let server = TestServer::start(Protocol::Http1).await;
        let client = Client::builder(SpindleExecutor::new())
            .timer(SpindleTimer::new())
            .pool_timer(SpindleTimer::new())
            .build(SpindleConnector::new());

        concurrent_requests(&client, &server, 1, 200).await;
        let first = server.accepted();
        assert!(
            (1..=200).contains(&first),
            "{first} connections for 200 requests"
        );

        // The pool returns a connection from a background task once its response is done;
        // wait until that has happened (a request is served without a new connection), with a
        // generous deadline: this is not a speed test, and CI machines are loaded.
        wait_until_pooled(&client, &server).await;
        let before_wave_2 = server.accepted();
        concurrent_requests(&client, &server, 2, 200).await;
        let total = server.accepted();
        // Wave 2 reuses the pooled connections and opens only what 200 concurrent requests need
        // beyond them (without reuse it would open 200 more).
        assert!(
            total - before_wave_2 < 200,
            "no reuse: {before_wave_2} connections before wave 2, {total} after it"
        );

        // One at a time, every request finds an idle pooled connection.
        wait_until_pooled(&client, &server).await;
        let before = server.accepted();
        for i in 0..20 {
            let response = client.get(server.uri(&format!("/seq/{i}"))).await.unwrap();
            assert!(
                body_string(response)
                    .await
                    .starts_with(&format!("/seq/{i} "))
            );
        }
        assert_eq!(
            server.accepted(),
            before,
            "sequential requests opened connections"
        );
    });
}

#[test]
fn http2_multiplexes_200_requests_on_one_connection() {
    spindle::run(async {
        let server = TestServer::start(Protocol::Auto).await;
        let client = Client::builder(SpindleExecutor::new())
            .timer(SpindleTimer::new())
            .http2_only(true)
            // HTTP/2 pings run on the executor and the timer.
            .http2_keep_alive_interval(Duration::from_secs(5))
            .build(SpindleConnector::new());
        concurrent_requests(&client, &server, 1, 200).await;
        assert_eq!(
            server.accepted(),
            1,
            "HTTP/2: all streams on one connection"
        );
    });
}

/// Serves one connection with hyper's HTTP/1 server and the given header-read timeout; returns
/// the connection's result and how long it lived.
async fn serve_one(
    listener: &TcpListener,
    header_read_timeout: Duration,
) -> (Result<(), hyper::Error>, Duration) {
    let (stream, _) = listener.accept().await.unwrap();
    let start = Instant::now();
    let service = hyper::service::service_fn(|_req| async {
        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("ok"))))
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(SpindleTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(SpindleIo::new(stream), service)
        .await;
    (result, start.elapsed())
}

#[test]
fn header_read_timeout_closes_a_slowloris_connection() {
    const TIMEOUT: Duration = Duration::from_millis(400);
    spindle::run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let server = {
            let listener = listener.clone();
            spindle::spawn(async move { serve_one(&listener, TIMEOUT).await })
        };

        // A partial request line, then headers that never end.
        let mut client = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        spindle::time::sleep(TIMEOUT / 4).await;
        client.write_all(b"X-Trickle: 1\r\n").await.unwrap();

        let mut rest = Vec::new();
        let read = spindle::time::timeout(Duration::from_secs(30), client.read_to_end(&mut rest))
            .await
            .expect("the server never closed the slowloris connection");
        let waited = start.elapsed();
        // Closed (EOF or reset), without a response, after the timeout and well within bounds.
        match read {
            Ok(_) => assert!(
                rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
                "{rest:?}"
            ),
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset),
        }
        assert!(
            waited >= TIMEOUT - Duration::from_millis(5),
            "closed early: {waited:?}"
        );
        assert!(waited < Duration::from_secs(20), "closed late: {waited:?}");

        let (result, lived) = server.await.unwrap();
        let err = result.expect_err("the connection should end with the timeout error");
        assert!(err.is_timeout(), "{err:?}");
        assert!(lived >= TIMEOUT - Duration::from_millis(5), "{lived:?}");

        // A client that finishes its headers in time is served normally.
        let server = {
            let listener = listener.clone();
            spindle::spawn(async move { serve_one(&listener, TIMEOUT).await })
        };
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("ok"), "{response}");
        server.await.unwrap().0.unwrap();
    });
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests_and_refuses_new_connections() {
    spindle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (started_tx, started_rx) = async_channel::bounded::<()>(1);
        let finished = Arc::new(AtomicUsize::new(0));

        let server = {
            let finished = finished.clone();
            spindle::spawn(async move {
                let graceful = hyper_util::server::graceful::GracefulShutdown::new();
                loop {
                    let accept = async { Some(listener.accept().await) };
                    let stopped = async {
                        let _ = stop_rx.recv().await;
                        None
                    };
                    let Some(accepted) = futures_lite::future::or(accept, stopped).await else {
                        break;
                    };
                    let (stream, _) = accepted.unwrap();
                    let started_tx = started_tx.clone();
                    let finished = finished.clone();
                    let service = hyper::service::service_fn(move |_req| {
                        let started_tx = started_tx.clone();
                        let finished = finished.clone();
                        async move {
                            let _ = started_tx.try_send(());
                            // A slow handler: still running when shutdown begins.
                            spindle::time::sleep(Duration::from_millis(300)).await;
                            finished.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                                "finished",
                            ))))
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(SpindleTimer::new())
                        .serve_connection(SpindleIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    spindle::spawn(async move {
                        let _ = conn.await;
                    });
                }
                // Stop accepting: the listener closes, new connections are refused.
                drop(listener);
                spindle::time::timeout(Duration::from_secs(20), graceful.shutdown())
                    .await
                    .expect("in-flight connections did not finish");
            })
        };

        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
            .await
            .unwrap();
        spindle::spawn(conn);
        let in_flight = spindle::spawn(async move {
            let req = Request::get("/slow")
                .header("host", "x")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            body_string(response).await
        });
        started_rx.recv().await.unwrap();
        stop_tx.send(()).await.unwrap();
        server.await.unwrap();

        assert_eq!(in_flight.await.unwrap(), "finished");
        assert_eq!(finished.load(Ordering::SeqCst), 1);
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn http_over_unix_sockets() {
    spindle::run(async {
        let path = std::env::temp_dir().join(format!(
            "spindle-interop-{}-{:?}.sock",
            std::process::id(),
            Instant::now()
        ));
        let listener = spindle::net::UnixListener::bind(&path).unwrap();
        let server = spindle::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service =
                hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(format!(
                        "unix {}",
                        req.uri().path()
                    )))))
                });
            hyper::server::conn::http1::Builder::new()
                .timer(SpindleTimer::new())
                .serve_connection(SpindleIo::new(stream), service)
                .await
        });
        let stream = spindle::net::UnixStream::connect(&path).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
            .await
            .unwrap();
        let driver = spindle::spawn(conn);
        for i in 0..10 {
            // The previous response is read; wait until the connection can take the next one.
            sender.ready().await.unwrap();
            let req = Request::get(format!("/{i}"))
                .header("host", "unix")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            assert_eq!(body_string(response).await, format!("unix /{i}"));
        }
        drop(sender);
        driver.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
    });
}

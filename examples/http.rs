//! An HTTP server on hyper 1.x and spindle, with graceful shutdown on Ctrl-C, and a load client.
//!
//! ```text
//! cargo run --release --features hyper --example http                      # serve on 127.0.0.1:3000
//! cargo run --release --features hyper --example http -- --addr 0.0.0.0:8080
//! cargo run --release --features hyper --example http -- --client 64       # load 127.0.0.1:3000
//! cargo run --release --features hyper --example http -- --client 64 --duration 10 --path /json
//! cargo run --release --features hyper --example http -- --demo            # both, then a graceful stop
//! ```
//!
//! Routes: `GET /` (plain text), `GET /json` (a JSON object), `GET /slow?ms=N` (answers after N
//! ms, to watch a graceful shutdown wait for it), `POST /echo` (the request body back); anything
//! else is 404, a wrong method 405.
//!
//! **Graceful shutdown**: on Ctrl-C the server stops accepting (the listener is closed, so new
//! connections are refused), tells every open connection to finish the request it is serving and
//! then close (idle keep-alive connections close at once), waits for them at most
//! `SHUTDOWN_GRACE` (10 s), and exits. A second Ctrl-C during the wait exits at once.
//!
//! **Client mode** (`--client N`): N connections, each sending one request after another
//! (keep-alive) for `--duration` seconds; prints requests per second and the p50/p99/max
//! latency. `docs/servers.md` walks through this file.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::server::graceful::GracefulShutdown;
use spindle::hyper::{SpindleIo, SpindleTimer};
use spindle::net::{TcpListener, TcpStream};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// How long a graceful shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to send its request headers (slowloris protection).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

// --- the service -----------------------------------------------------------------------------

/// Answers one request. Any `Future<Output = Result<Response<_>, _>>` per request will do;
/// hyper calls this for every request of every connection.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, world!\n"),
        (&Method::GET, "/json") => {
            let mut response = text(StatusCode::OK, r#"{"message":"Hello, World!"}"#);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        (&Method::GET, "/slow") => {
            let ms = query_u64(&req, "ms").unwrap_or(1000).min(60_000);
            spindle::time::sleep(Duration::from_millis(ms)).await;
            text(StatusCode::OK, &format!("slept {ms} ms\n"))
        }
        (&Method::POST, "/echo") => match req.into_body().collect().await {
            Ok(body) => Response::new(Full::new(body.to_bytes())),
            Err(err) => text(StatusCode::BAD_REQUEST, &format!("bad body: {err}\n")),
        },
        (_, "/" | "/json" | "/slow" | "/echo") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(response)
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = status;
    response
}

fn query_u64(req: &Request<Incoming>, key: &str) -> Option<u64> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k == key { v.parse().ok() } else { None }
    })
}

// --- the server ------------------------------------------------------------------------------

/// Accepts connections until `shutdown` resolves, then shuts down gracefully.
async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Whichever comes first: a new connection, or the shutdown signal.
        let next = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            (&mut shutdown).await;
            None
        });
        let (stream, peer) = match next.await {
            Some(Ok(accepted)) => accepted,
            // Out of file descriptors and the like: log, back off a little, keep serving.
            Some(Err(err)) => {
                eprintln!("accept failed: {err}");
                spindle::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            None => break,
        };
        stream.set_nodelay(true)?;
        let conn = hyper::server::conn::http1::Builder::new()
            // Without a timer hyper enforces no header-read timeout: slowloris protection.
            .timer(SpindleTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(SpindleIo::new(stream), hyper::service::service_fn(handle));
        // `watch` lets `graceful.shutdown()` ask this connection to finish and close.
        let conn = graceful.watch(conn);
        spindle::spawn(async move {
            if let Err(err) = conn.await {
                if !err.is_incomplete_message() {
                    eprintln!("connection from {peer}: {err}");
                }
            }
        });
    }

    // Stop accepting: closing the listener makes new connections fail at once.
    drop(listener);
    println!("shutting down: waiting for open connections (at most {SHUTDOWN_GRACE:?})");
    let started = Instant::now();
    let waiting = futures_lite::future::or(
        async {
            spindle::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
                .await
                .is_ok()
        },
        async {
            // A second Ctrl-C: do not wait any longer.
            match spindle::signal::ctrl_c().await {
                Ok(()) => false,
                Err(_) => std::future::pending().await,
            }
        },
    );
    if waiting.await {
        println!("all connections closed in {:.0?}; bye", started.elapsed());
    } else {
        println!("gave up waiting after {:.0?}; exiting", started.elapsed());
    }
    Ok(())
}

// --- the load client -------------------------------------------------------------------------

struct Report {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    /// Every request's latency, in microseconds.
    latencies: Vec<u32>,
}

/// `connections` keep-alive connections, each sending `GET path` back to back for `duration`.
async fn load(addr: SocketAddr, path: &str, connections: usize, duration: Duration) -> Report {
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| spindle::spawn(load_one(addr, path.to_owned(), deadline)))
        .collect();
    let mut report = Report {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for worker in workers {
        match worker.await {
            Ok(Ok(latencies)) => report.latencies.extend(latencies),
            Ok(Err(err)) => {
                report.errors += 1;
                eprintln!("client connection failed: {err}");
            }
            Err(err) => {
                report.errors += 1;
                eprintln!("client task failed: {err}");
            }
        }
    }
    report.elapsed = start.elapsed();
    report.requests = report.latencies.len();
    report
}

async fn load_one(addr: SocketAddr, path: String, deadline: Instant) -> io::Result<Vec<u32>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    let driver = spindle::spawn(conn);
    let host = addr.to_string();
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let req = Request::get(path.as_str())
            .header("host", host.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(io::Error::other)?;
        let sent = Instant::now();
        let response = sender.send_request(req).await.map_err(io::Error::other)?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?;
        if !status.is_success() {
            return Err(io::Error::other(format!("{path} answered {status}")));
        }
        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    drop(sender);
    let _ = driver.await;
    Ok(latencies)
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(u64::from(sorted[rank]))
}

fn print_report(mut report: Report, connections: usize) {
    report.latencies.sort_unstable();
    let secs = report.elapsed.as_secs_f64();
    println!(
        "{} requests over {connections} connections in {secs:.2} s: {:.0} req/s",
        report.requests,
        report.requests as f64 / secs
    );
    println!(
        "latency p50 {:.0?}, p99 {:.0?}, max {:.0?}; {} failed connection(s)",
        percentile(&report.latencies, 0.50),
        percentile(&report.latencies, 0.99),
        percentile(&report.latencies, 1.0),
        report.errors
    );
}

// --- the demo: server, load, and a graceful stop with a request in flight --------------------

async fn demo() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("demo: serving on http://{addr}");
    let (stop_tx, stop_rx) = spindle::sync::oneshot::channel::<()>();
    let server = spindle::spawn(serve(listener, async move {
        let _ = stop_rx.await;
    }));

    let connections = 16;
    println!("demo: {connections} connections loading GET / for 2 s");
    print_report(
        load(addr, "/", connections, Duration::from_secs(2)).await,
        connections,
    );

    // A slow request is in flight when the shutdown begins; it still gets its answer.
    let slow = spindle::spawn(async move {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        spindle::spawn(conn);
        let req = Request::get("/slow?ms=500")
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(io::Error::other)?;
        let response = sender.send_request(req).await.map_err(io::Error::other)?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?;
        Ok::<_, io::Error>(String::from_utf8_lossy(&body.to_bytes()).into_owned())
    });
    spindle::time::sleep(Duration::from_millis(100)).await;
    println!("demo: stopping the server with GET /slow?ms=500 in flight");
    let _ = stop_tx.send(());
    server
        .await
        .map_err(|e| io::Error::other(format!("server task: {e}")))??;
    let answer = slow
        .await
        .map_err(|e| io::Error::other(format!("slow request task: {e}")))??;
    println!(
        "demo: the in-flight request got its answer: {}",
        answer.trim()
    );
    match TcpStream::connect(addr).await {
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
            println!("demo: new connections are refused; done")
        }
        Err(err) => return Err(err),
        Ok(_) => {
            return Err(io::Error::other(
                "the listener still accepts after shutdown",
            ));
        }
    }
    Ok(())
}

// --- command line ----------------------------------------------------------------------------

enum Mode {
    Server,
    Client(usize),
    Demo,
}

struct Args {
    mode: Mode,
    addr: String,
    path: String,
    duration: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        mode: Mode::Server,
        addr: DEFAULT_ADDR.to_owned(),
        path: "/".to_owned(),
        duration: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--client" => {
                let n = value("--client")?;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("--client {n}: not a count"))?;
                if n == 0 {
                    return Err("--client 0: need at least one connection".into());
                }
                args.mode = Mode::Client(n);
            }
            "--demo" => args.mode = Mode::Demo,
            "--addr" => args.addr = value("--addr")?,
            "--path" => args.path = value("--path")?,
            "--duration" => {
                let s = value("--duration")?;
                let secs: f64 = s
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or(format!("--duration {s}: not a positive number of seconds"))?;
                args.duration = Duration::from_secs_f64(secs);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<()> {
    let args = parse_args().map_err(|msg| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{msg}\nusage: http [--addr ADDR] | --client N [--addr ADDR] [--path PATH] \
                 [--duration SECS] | --demo"
            ),
        )
    })?;
    match args.mode {
        Mode::Server => spindle::run(async move {
            let listener = TcpListener::bind(args.addr.as_str()).await?;
            println!(
                "listening on http://{} (Ctrl-C stops gracefully)",
                listener.local_addr()?
            );
            serve(listener, async {
                match spindle::signal::ctrl_c().await {
                    Ok(()) => println!("\nCtrl-C"),
                    Err(err) => {
                        eprintln!("cannot listen for Ctrl-C ({err}); serving until killed");
                        std::future::pending::<()>().await
                    }
                }
            })
            .await
        }),
        Mode::Client(connections) => {
            let addr: SocketAddr = args.addr.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("--addr {}: not an IP:port address", args.addr),
                )
            })?;
            let report = spindle::run(load(addr, &args.path, connections, args.duration));
            if report.requests == 0 {
                return Err(io::Error::other(format!(
                    "no request succeeded against http://{addr}{} (is the server running?)",
                    args.path
                )));
            }
            print_report(report, connections);
            Ok(())
        }
        Mode::Demo => spindle::run(demo()),
    }
}

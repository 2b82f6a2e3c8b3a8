//! HTTP benchmark: a hyper 1.x hello-world server on spindle vs on tokio, loaded by one client.
//!
//! Three servers run in this one process, started once, each on its own port, all serving the
//! same hyper `service_fn` (`200 OK`, `Hello, World!`, HTTP/1.1 keep-alive) with the same
//! `http1::Builder` settings, each with its runtime's hyper timer (so hyper's header-read timeout
//! is armed per request everywhere, as a production server should have it):
//!
//! * `spindle` — `Runtime` with W workers, one accept-loop task, a task per connection,
//!   `SpindleIo<TcpStream>` + `SpindleTimer`.
//! * `tokio-mt` — `new_multi_thread()` with W workers, one accept-loop task, a task per
//!   connection, hyper-util's `TokioIo` + `TokioTimer`: the common setup.
//! * `tokio-pc` — W threads, each a `current_thread` runtime with its own `SO_REUSEPORT` listener
//!   on one shared port (the kernel spreads connections across them): hyper's TechEmpower setup.
//!
//! W = `num_cpus::get()` (or `BENCH_WORKERS`), the same for all.
//!
//! **The load client** is the same for all three and is no async runtime: one thread
//! (`client`) drives 64 keep-alive connections (`BENCH_CONNECTIONS`) with non-blocking std
//! sockets and a level-triggered `polling` poller, sending the next request on a connection as
//! soon as the previous response is complete (one request in flight per connection, no
//! pipelining) and checking every response (status 200, body `Hello, World!`). Fairness on 2
//! cores: the client costs about two syscalls per request and competes for the same cores as
//! every server alike; one client thread keeps the servers saturated (it is several times
//! cheaper per request than a hyper server) while taking the smallest share of the machine. The
//! servers all get W workers even though the client also needs CPU: that is how each would be
//! deployed.
//!
//! **A run**: connect 64 fresh connections, warm up (`BENCH_WARMUP_MS`, 300 ms), measure
//! (`BENCH_MEASURE_MS`, 1000 ms), stop sending, drain the requests in flight, close. Reported
//! per run: responses completed in the window per second, p50 and p99 of their latencies (write
//! of the request to the last byte of the response), and the server's CPU time per request (the
//! `/proc/self/task/*/schedstat` run time of that server's threads, found by thread name, over the
//! window). Runs are interleaved (spindle, tokio-mt, tokio-pc, then the next round with the order
//! rotated) so that machine-load drift hits all alike; `BENCH_RUNS` rounds (default 15, at least
//! 15). The table reports the median of each metric and the 25th–75th percentile of req/s.
//!
//! **Syscalls per request**: after the timed rounds, one more run per server with
//! `perf stat -e raw_syscalls:sys_enter --per-thread` attached to this process; the server's
//! threads' count over the whole run (setup and drain included) divided by the responses of that
//! run. Skipped (n/a) when `perf` is not available or `BENCH_SYSCALLS=0`. Counting tracepoints
//! slows the run a little, which is why it is separate from the timed rounds.
//!
//! Usage: `cargo bench --bench http --features hyper`; `BENCH_QUICK=1` for a smoke run (3
//! rounds, short windows). The table goes to stdout, progress to stderr. See
//! docs/benchmarks.md for the numbers and their discussion.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const BODY: &[u8] = b"Hello, World!";
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const MIN_REPORTED_RUNS: usize = 15;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Config {
    workers: usize,
    connections: usize,
    runs: usize,
    warmup: Duration,
    measure: Duration,
    syscalls: bool,
}

fn env_usize(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|_| {
        panic!("{name}={value:?} is not a non-negative integer; unset it or set e.g. {name}=4")
    }))
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let runs = match (env_usize("BENCH_RUNS"), quick) {
            (Some(r), true) => r.max(1),
            (None, true) => 3,
            (Some(r), false) => r.max(MIN_REPORTED_RUNS),
            (None, false) => MIN_REPORTED_RUNS,
        };
        let workers = env_usize("BENCH_WORKERS")
            .unwrap_or_else(num_cpus::get)
            .max(1);
        Config {
            workers,
            connections: env_usize("BENCH_CONNECTIONS").unwrap_or(64).max(1),
            runs,
            warmup: Duration::from_millis(env_usize("BENCH_WARMUP_MS").unwrap_or(if quick {
                100
            } else {
                300
            }) as u64),
            measure: Duration::from_millis(env_usize("BENCH_MEASURE_MS").unwrap_or(if quick {
                300
            } else {
                1000
            }) as u64),
            syscalls: std::env::var("BENCH_SYSCALLS").map_or(true, |v| v != "0"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The service and the three servers
// ---------------------------------------------------------------------------------------------

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

/// The `http1::Builder` every server uses (with its runtime's timer).
fn http1(
    timer: impl hyper::rt::Timer + Send + Sync + 'static,
) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(timer);
    builder
}

struct Server {
    name: &'static str,
    /// Thread-name prefix of the server's threads (for CPU time and syscalls).
    threads: &'static str,
    addr: SocketAddr,
}

/// A spindle `TcpStream` that `SpindleIo` does not recognize: it takes the generic
/// `futures_io` path, which zeroes hyper's read buffer before every read (`spindle-zeroing`).
struct Generic(spindle::net::TcpStream);

impl futures_io::AsyncRead for Generic {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Generic {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_close(cx)
    }
}

fn start_spindle(workers: usize, zeroing: bool) -> (Server, spindle::runtime::Runtime) {
    use spindle::hyper::{SpindleIo, SpindleTimer};
    let rt = spindle::runtime::Builder::new()
        .worker_threads(workers)
        .compute_threads(1)
        .thread_name(if zeroing { "sz" } else { "sp" })
        .build()
        .unwrap();
    let listener = rt
        .block_on(spindle::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            stream.set_nodelay(true).unwrap();
            spindle::spawn(async move {
                let service = hyper::service::service_fn(hello);
                let _ = if zeroing {
                    http1(SpindleTimer::new())
                        .serve_connection(SpindleIo::new(Generic(stream)), service)
                        .await
                } else {
                    http1(SpindleTimer::new())
                        .serve_connection(SpindleIo::new(stream), service)
                        .await
                };
            });
        }
    });
    let server = if zeroing {
        Server {
            name: "spindle-zeroing",
            threads: "sz-",
            addr,
        }
    } else {
        Server {
            name: "spindle",
            threads: "sp-",
            addr,
        }
    };
    (server, rt)
}

async fn tokio_accept_loop(listener: tokio::net::TcpListener) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).unwrap();
        tokio::spawn(async move {
            let _ = http1(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
                .await;
        });
    }
}

fn start_tokio_mt(workers: usize) -> (Server, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .thread_name("tk-mt")
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(tokio_accept_loop(listener));
    (
        Server {
            name: "tokio-mt",
            threads: "tk-mt",
            addr,
        },
        rt,
    )
}

/// W threads, each a current-thread runtime accepting on its own SO_REUSEPORT listener.
fn start_tokio_per_core(workers: usize) -> Server {
    let reuseport_listener = |addr: SocketAddr| -> std::net::TcpListener {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .unwrap();
        socket.set_reuse_address(true).unwrap();
        socket.set_reuse_port(true).unwrap();
        socket.set_nonblocking(true).unwrap();
        socket.bind(&addr.into()).unwrap();
        socket.listen(1024).unwrap();
        socket.into()
    };
    let first = reuseport_listener("127.0.0.1:0".parse().unwrap());
    let addr = first.local_addr().unwrap();
    let mut listeners = vec![first];
    listeners.extend((1..workers).map(|_| reuseport_listener(addr)));
    for (i, listener) in listeners.into_iter().enumerate() {
        std::thread::Builder::new()
            .name(format!("tk-pc-{i}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    tokio_accept_loop(listener).await
                });
            })
            .unwrap();
    }
    Server {
        name: "tokio-pc",
        threads: "tk-pc-",
        addr,
    }
}

// ---------------------------------------------------------------------------------------------
// Thread CPU time
// ---------------------------------------------------------------------------------------------

/// Sum of the run time (ns, from schedstat) of this process's threads whose name starts with
/// `prefix`.
fn threads_cpu_ns(prefix: &str) -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        if let Ok(stat) = std::fs::read_to_string(path.join("schedstat")) {
            total += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

// ---------------------------------------------------------------------------------------------
// The load client
// ---------------------------------------------------------------------------------------------

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    sent_at: Option<Instant>,
}

/// Parses one complete response at the front of `buf`; returns its length.
fn complete_response(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).expect("response head is not UTF-8");
    assert!(
        head.starts_with("HTTP/1.1 200 "),
        "unexpected response: {head:?}"
    );
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .expect("response without content-length");
    if buf.len() < head_end + length {
        return None;
    }
    assert_eq!(&buf[head_end..head_end + length], BODY, "wrong body");
    Some(head_end + length)
}

#[derive(Clone, Copy, Default)]
struct RunResult {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us_per_req: f64,
    /// Every response of the run (warm-up and drain included), for syscall counts.
    total_responses: usize,
}

/// One run against `server`: connect, warm up, measure, drain, close.
fn run_client(cfg: &Config, server: &Server) -> io::Result<RunResult> {
    use polling::{Event, Events, PollMode, Poller};
    let poller = Poller::new()?;
    let mut conns = Vec::with_capacity(cfg.connections);
    for key in 0..cfg.connections {
        let stream = TcpStream::connect(server.addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        // SAFETY: `polling` needs the fd deleted before it is closed; every stream is deleted
        // from the poller below before `conns` is dropped.
        unsafe { poller.add_with_mode(&stream, Event::readable(key), PollMode::Level)? };
        conns.push(Conn {
            stream,
            buf: Vec::with_capacity(4096),
            sent_at: None,
        });
    }
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let measure_until = measure_from + cfg.measure;
    let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
    let mut total_responses = 0;
    let mut cpu_start = None;
    let mut cpu_end = None;
    for conn in &mut conns {
        conn.stream.write_all(REQUEST)?;
        conn.sent_at = Some(Instant::now());
    }
    let mut in_flight = conns.len();
    let mut events = Events::new();
    let mut chunk = [0u8; 4096];
    let drain_limit = measure_until + Duration::from_secs(10);
    while in_flight > 0 {
        let now = Instant::now();
        if cpu_start.is_none() && now >= measure_from {
            cpu_start = Some(threads_cpu_ns(server.threads));
        }
        if cpu_end.is_none() && now >= measure_until {
            cpu_end = Some(threads_cpu_ns(server.threads));
        }
        if now > drain_limit {
            return Err(io::Error::other(format!(
                "{}: {in_flight} responses never came",
                server.name
            )));
        }
        events.clear();
        poller.wait(&mut events, Some(Duration::from_millis(20)))?;
        for event in events.iter() {
            let conn = &mut conns[event.key];
            let n = match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(io::Error::other(format!(
                        "{} closed a connection",
                        server.name
                    )));
                }
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => return Err(err),
            };
            conn.buf.extend_from_slice(&chunk[..n]);
            while let Some(len) = complete_response(&conn.buf) {
                conn.buf.drain(..len);
                let done = Instant::now();
                let sent = conn.sent_at.take().expect("a response without a request");
                total_responses += 1;
                if sent >= measure_from && done <= measure_until {
                    latencies
                        .push(done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
                }
                if done < measure_until {
                    conn.stream.write_all(REQUEST)?;
                    conn.sent_at = Some(Instant::now());
                } else {
                    in_flight -= 1;
                }
            }
        }
    }
    for conn in &conns {
        poller.delete(&conn.stream)?;
    }
    drop(conns);
    let cpu_start = cpu_start.unwrap_or(0);
    let cpu_end = cpu_end.unwrap_or_else(|| threads_cpu_ns(server.threads));
    latencies.sort_unstable();
    let requests = latencies.len().max(1);
    Ok(RunResult {
        rps: latencies.len() as f64 / cfg.measure.as_secs_f64(),
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        cpu_us_per_req: (cpu_end.saturating_sub(cpu_start)) as f64 / 1000.0 / requests as f64,
        total_responses,
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    f64::from(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

// ---------------------------------------------------------------------------------------------
// Syscall counting with perf
// ---------------------------------------------------------------------------------------------

fn perf_available() -> bool {
    std::process::Command::new("perf")
        .args(["stat", "-e", "raw_syscalls:sys_enter", "--", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One run against `server` with perf counting syscalls per thread; returns syscalls per
/// request of the server's threads.
fn syscalls_per_request(cfg: &Config, server: &Server) -> io::Result<f64> {
    let out = std::env::temp_dir().join(format!(
        "spindle-http-bench-perf-{}-{}.csv",
        std::process::id(),
        server.name
    ));
    let mut perf = std::process::Command::new("perf")
        .args([
            "stat",
            "-e",
            "raw_syscalls:sys_enter",
            "--per-thread",
            "-x",
            ",",
            "-o",
        ])
        .arg(&out)
        .args(["-p", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Let perf attach to every thread before the first request.
    std::thread::sleep(Duration::from_millis(700));
    let result = run_client(cfg, server);
    // Let the servers finish closing the connections, then stop perf (SIGINT prints the counts).
    std::thread::sleep(Duration::from_millis(200));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status();
    perf.wait()?;
    let result = result?;
    let text = std::fs::read_to_string(&out)?;
    let _ = std::fs::remove_file(&out);
    // Lines: "<comm>-<tid>,<count>,,raw_syscalls:sys_enter,...".
    let mut count = 0u64;
    for line in text.lines() {
        let mut fields = line.split(',');
        let (Some(thread), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        if thread.trim_start().starts_with(server.threads) {
            count += value.trim().parse::<u64>().unwrap_or(0);
        }
    }
    if count == 0 {
        return Err(io::Error::other(
            "perf counted no syscalls for the server's threads",
        ));
    }
    Ok(count as f64 / result.total_responses.max(1) as f64)
}

// ---------------------------------------------------------------------------------------------
// Main: start the servers, interleave the runs, print the table
// ---------------------------------------------------------------------------------------------

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let cfg = Config::from_env();
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let (spindle_server, _spindle_rt) = start_spindle(cfg.workers, false);
    // BENCH_ZEROING=1 adds a spindle server whose reads take SpindleIo's generic path (zeroing
    // hyper's buffer before each read), to measure what reading into uninitialized memory saves.
    let zeroing = std::env::var("BENCH_ZEROING").is_ok_and(|v| v == "1");
    let zeroing_server = zeroing.then(|| start_spindle(cfg.workers, true));
    let (tokio_server, _tokio_rt) = start_tokio_mt(cfg.workers);
    let per_core_server = start_tokio_per_core(cfg.workers);
    // BENCH_ONLY=<name>[,<name>]: run only these servers (for profiling one of them).
    let only = std::env::var("BENCH_ONLY").ok();
    let (zeroing_server, _zeroing_rt) = zeroing_server.unzip();
    let servers: Vec<Server> = [
        Some(spindle_server),
        zeroing_server,
        Some(tokio_server),
        Some(per_core_server),
    ]
    .into_iter()
    .flatten()
    .filter(|s| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == s.name))
    })
    .collect();
    assert!(
        !servers.is_empty(),
        "BENCH_ONLY={only:?} names no server (spindle, spindle-zeroing, tokio-mt, tokio-pc)"
    );
    eprintln!(
        "http bench: {} workers per server, {} connections, {} rounds of {:?} (+{:?} warm-up) per server",
        cfg.workers, cfg.connections, cfg.runs, cfg.measure, cfg.warmup
    );

    // The client runs on its own thread, named so that no server's prefix matches it.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        let cfg = cfg.clone();
        std::thread::Builder::new()
            .name("client".into())
            .spawn(move || {
                let mut results: HashMap<&'static str, Vec<RunResult>> = HashMap::new();
                // One discarded warm-up round.
                for server in &servers {
                    run_client(&cfg, server).unwrap_or_else(|e| panic!("{}: {e}", server.name));
                }
                for round in 0..cfg.runs {
                    for i in 0..servers.len() {
                        let server = &servers[(i + round) % servers.len()];
                        let r = run_client(&cfg, server).unwrap_or_else(|e| panic!("{}: {e}", server.name));
                        eprintln!(
                            "round {:>2} {:<15} {:>8.0} req/s  p50 {:>5.0} µs  p99 {:>5.0} µs  cpu {:>5.1} µs/req",
                            round + 1, server.name, r.rps, r.p50_us, r.p99_us, r.cpu_us_per_req
                        );
                        results.entry(server.name).or_default().push(r);
                    }
                }
                let mut syscalls: HashMap<&'static str, f64> = HashMap::new();
                if cfg.syscalls && perf_available() {
                    for server in &servers {
                        match syscalls_per_request(&cfg, server) {
                            Ok(s) => {
                                eprintln!("syscalls {:<9} {s:.2} per request", server.name);
                                syscalls.insert(server.name, s);
                            }
                            Err(e) => eprintln!("syscalls {:<9} not measured: {e}", server.name),
                        }
                    }
                } else {
                    eprintln!("syscalls: not measured (perf unavailable or BENCH_SYSCALLS=0)");
                }
                stop.store(true, Ordering::SeqCst);
                (servers.iter().map(|s| s.name).collect::<Vec<_>>(), results, syscalls)
            })
            .unwrap()
    };
    let (names, results, syscalls) = client.join().expect("the client thread panicked");
    assert!(stop.load(Ordering::SeqCst));

    let summary: Vec<_> = names
        .iter()
        .map(|name| {
            let runs = &results[name];
            let mut rps: Vec<f64> = runs.iter().map(|r| r.rps).collect();
            let mut p50: Vec<f64> = runs.iter().map(|r| r.p50_us).collect();
            let mut p99: Vec<f64> = runs.iter().map(|r| r.p99_us).collect();
            let mut cpu: Vec<f64> = runs.iter().map(|r| r.cpu_us_per_req).collect();
            (
                *name,
                median(&mut rps),
                quantile(&mut rps, 0.25),
                quantile(&mut rps, 0.75),
                median(&mut p50),
                median(&mut p99),
                median(&mut cpu),
                syscalls.get(name).copied(),
            )
        })
        .collect();
    // Per-round ratios: spindle and a peer measured in the same round (seconds apart) share the
    // machine's load at that moment, so the median of the per-round ratios is steadier than the
    // ratio of the medians when other processes come and go.
    let spindle_runs = results.get("spindle");
    let ratios = |name: &str, metric: fn(&RunResult) -> f64| -> Option<(f64, f64, f64)> {
        let ours = spindle_runs?;
        let theirs = &results[name];
        let mut r: Vec<f64> = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| metric(a) / metric(b))
            .collect();
        Some((
            median(&mut r),
            quantile(&mut r, 0.25),
            quantile(&mut r, 0.75),
        ))
    };
    println!(
        "| server | req/s (median) | req/s p25–p75 | p50 latency | p99 latency | server CPU / req | syscalls / req | spindle ÷ this: req/s, per-round median (p25–p75) | spindle ÷ this: p99 | spindle ÷ this: CPU / req |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, rps, lo, hi, p50, p99, cpu, sys) in &summary {
        let show = |r: Option<(f64, f64, f64)>, iqr: bool| match r {
            Some((m, lo, hi)) if iqr => format!("{m:.2}× ({lo:.2}–{hi:.2})"),
            Some((m, _, _)) => format!("{m:.2}×"),
            None => "n/a".to_owned(),
        };
        println!(
            "| {name} | {rps:.0} | {lo:.0}–{hi:.0} | {p50:.0} µs | {p99:.0} µs | {cpu:.1} µs | {} | {} | {} | {} |",
            sys.map_or("n/a".to_owned(), |s| format!("{s:.2}")),
            show(ratios(name, |r| r.rps), true),
            show(ratios(name, |r| r.p99_us), false),
            show(ratios(name, |r| r.cpu_us_per_req), false),
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n1-minute load average at the start / end: {} / {}",
        load_at_start.split_whitespace().next().unwrap_or("?"),
        load.split_whitespace().next().unwrap_or("?")
    );
    println!(
        "\n{} workers per server, {} connections, {} interleaved rounds of {} ms; medians.",
        cfg.workers,
        cfg.connections,
        cfg.runs,
        cfg.measure.as_millis()
    );
}

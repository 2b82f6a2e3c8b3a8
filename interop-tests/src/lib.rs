//! Shared helpers for the interop tests in `tests/`: a hyper test server on spindle that counts
//! the connections it accepts and numbers the requests of each connection.
//!
//! The tests are the point of this package; see its `Cargo.toml` for why it exists.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use spindle::hyper::{SpindleExecutor, SpindleIo, SpindleTimer};
use spindle::net::TcpListener;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which protocol the test server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// hyper's HTTP/1 connection, with `SpindleTimer` and the given header-read timeout.
    Http1,
    /// hyper-util's `auto` builder (HTTP/1 or HTTP/2 by preface), with `SpindleExecutor`.
    Auto,
}

/// A hyper server running on the current spindle runtime. Its accept loop is aborted on drop.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    accept_loop: spindle::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server answering every request with `"<path> <n>"`, where `n` counts the
    /// requests of that connection from 1.
    pub async fn start(protocol: Protocol) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let accept_loop = spindle::spawn(async move {
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(conn) => conn,
                    Err(err) => panic!("accept failed: {err}"),
                };
                stream.set_nodelay(true).unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                spindle::spawn(serve(protocol, SpindleIo::new(stream)));
            }
        });
        TestServer {
            addr,
            accepted,
            accept_loop,
        }
    }

    /// How many connections the server has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// `http://<addr><path>`.
    pub fn uri(&self, path: &str) -> hyper::Uri {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn serve(protocol: Protocol, io: SpindleIo<spindle::net::TcpStream>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, Infallible>(numbered(&req, n)) }
    });
    match protocol {
        Protocol::Http1 => {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(SpindleTimer::new())
                .serve_connection(io, service)
                .await;
        }
        Protocol::Auto => {
            let _ = hyper_util::server::conn::auto::Builder::new(SpindleExecutor::new())
                .serve_connection(io, service)
                .await;
        }
    }
}

/// The test server's answer: `"<path> <n>"`.
pub fn numbered(req: &Request<Incoming>, n: usize) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from(format!("{} {n}", req.uri().path()))))
}

/// Collects a response body into a string.
pub async fn body_string(response: Response<Incoming>) -> String {
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

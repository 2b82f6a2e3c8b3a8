//! hyper 1.x on spindle (feature `hyper`): the four pieces hyper asks a runtime for.
//!
//! * [`SpindleExecutor`] — [`hyper::rt::Executor`]: spawns hyper's background futures (HTTP/2
//!   streams, client connection drivers, hyper-util's pool) as spindle tasks.
//! * [`SpindleTimer`] — [`hyper::rt::Timer`]: hyper's timeouts on [`crate::time::Sleep`]. Give it
//!   to a server builder (`.timer(SpindleTimer::new())`) or hyper turns its header-read timeout,
//!   its protection against clients that open a connection and never finish their request
//!   (slowloris), *off*.
//! * [`SpindleIo<T>`] — [`hyper::rt::Read`] + [`hyper::rt::Write`] for any
//!   [`futures_io::AsyncRead`] + [`futures_io::AsyncWrite`] stream, and the other way round.
//!   For spindle's own [`TcpStream`](crate::net::TcpStream) and
//!   [`UnixStream`](crate::net::UnixStream) it reads straight into hyper's uninitialized buffer.
//! * [`SpindleConnector`] — a [`tower_service::Service<Uri>`](tower_service::Service) that
//!   opens TCP connections, so hyper-util's pooled `legacy::Client` runs on spindle.
//!
//! A complete server (accept loop, per-connection task, graceful shutdown) is
//! `examples/http.rs`; `docs/servers.md` walks through it.
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use spindle::hyper::{SpindleIo, SpindleTimer};
//! use spindle::net::{TcpListener, TcpStream};
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
//! }
//!
//! spindle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     spindle::spawn(async move {
//!         loop {
//!             let (stream, _) = listener.accept().await.unwrap();
//!             spindle::spawn(async move {
//!                 let _ = hyper::server::conn::http1::Builder::new()
//!                     .timer(SpindleTimer::new())
//!                     .header_read_timeout(Duration::from_secs(10))
//!                     .serve_connection(SpindleIo::new(stream), hyper::service::service_fn(hello))
//!                     .await;
//!             });
//!         }
//!     });
//!
//!     // A hand-driven client connection (hyper-util's pooled client: see `SpindleConnector`).
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(SpindleIo::new(stream))
//!         .await
//!         .unwrap();
//!     spindle::spawn(conn);
//!     let request = Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//!     let response = sender.send_request(request).await.unwrap();
//!     assert_eq!(response.status(), 200);
//! });
//! ```

mod connector;
mod executor;
mod io;
mod timer;

pub use connector::{SpindleConnecting, SpindleConnector};
pub use executor::SpindleExecutor;
pub use io::SpindleIo;
pub use timer::SpindleTimer;

//! `SpindleConnector`: TCP connections for hyper-util's pooled `legacy::Client`.

use super::SpindleIo;
use crate::net::TcpStream;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Opens plain-TCP connections for hyper-util's pooled client:
/// `legacy::Client::builder(SpindleExecutor::new()).timer(SpindleTimer::new()).build(SpindleConnector::new())`.
///
/// A [`tower_service::Service<Uri>`](tower_service::Service) answering with a
/// [`SpindleIo<TcpStream>`](SpindleIo), which implements hyper-util's
/// [`Connection`](hyper_util::client::legacy::connect::Connection).
///
/// * Only `http://` URIs: an `https://` URI (or another scheme, or none) fails with an
///   `InvalidInput` error that says so; for TLS, wrap the stream this connector returns in a
///   futures-io TLS stream inside your own `Service<Uri>`.
/// * The port defaults to 80; IPv6 literals (`http://[::1]:8080/`) connect directly; a host name
///   is resolved with [`lookup_host`](crate::net::lookup_host), off the worker threads, and every
///   address it resolves to is tried in turn.
/// * `TCP_NODELAY` is set on every connection (unless [`set_nodelay(false)`](Self::set_nodelay)):
///   HTTP writes whole messages, so Nagle's algorithm would only add latency.
/// * [`set_connect_timeout`](Self::set_connect_timeout) bounds each connection attempt.
///
/// Cheap to clone.
///
/// # Examples
///
/// ```
/// use http_body_util::{BodyExt, Empty, Full};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use spindle::hyper::{SpindleConnector, SpindleExecutor, SpindleIo, SpindleTimer};
/// use spindle::net::TcpListener;
///
/// spindle::run(async {
///     // A one-connection server to talk to.
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     spindle::spawn(async move {
///         let (stream, _) = listener.accept().await.unwrap();
///         let service = hyper::service::service_fn(|_req| async {
///             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("pong"))))
///         });
///         let _ = hyper::server::conn::http1::Builder::new()
///             .serve_connection(SpindleIo::new(stream), service)
///             .await;
///     });
///
///     let client = Client::builder(SpindleExecutor::new())
///         .timer(SpindleTimer::new())
///         .build::<_, Empty<Bytes>>(SpindleConnector::new());
///     let response = client.get(format!("http://{addr}/ping").parse().unwrap()).await.unwrap();
///     let body = response.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, "pong");
///
///     // https needs a TLS connector: a clear error, not a hang.
///     let err = client.get("https://example.invalid/".parse().unwrap()).await.unwrap_err();
///     assert!(err.is_connect());
/// });
/// ```
#[derive(Clone)]
pub struct SpindleConnector {
    nodelay: bool,
    connect_timeout: Option<Duration>,
}

impl SpindleConnector {
    /// A connector with `TCP_NODELAY` on and no connect timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleConnector;
    ///
    /// let connector = SpindleConnector::new();
    /// assert!(connector.nodelay());
    /// assert_eq!(connector.connect_timeout(), None);
    /// ```
    pub fn new() -> SpindleConnector {
        SpindleConnector {
            nodelay: true,
            connect_timeout: None,
        }
    }

    /// Whether new connections get `TCP_NODELAY` (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleConnector;
    ///
    /// let mut connector = SpindleConnector::new();
    /// connector.set_nodelay(false);
    /// assert!(!connector.nodelay());
    /// ```
    pub fn set_nodelay(&mut self, nodelay: bool) -> &mut SpindleConnector {
        self.nodelay = nodelay;
        self
    }

    /// Whether new connections get `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(spindle::hyper::SpindleConnector::new().nodelay());
    /// ```
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// Bounds each connection attempt (all resolved addresses together); `None` (the default)
    /// waits as long as the OS does. A timed-out attempt fails with `io::ErrorKind::TimedOut`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleConnector;
    /// use std::time::Duration;
    ///
    /// let mut connector = SpindleConnector::new();
    /// connector.set_connect_timeout(Some(Duration::from_secs(3)));
    /// assert_eq!(connector.connect_timeout(), Some(Duration::from_secs(3)));
    /// ```
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) -> &mut SpindleConnector {
        self.connect_timeout = timeout;
        self
    }

    /// The connect timeout, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(spindle::hyper::SpindleConnector::new().connect_timeout(), None);
    /// ```
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    async fn connect(self, uri: ::hyper::Uri) -> io::Result<SpindleIo<TcpStream>> {
        let (host, port) = destination(&uri)?;
        let connecting = async {
            // A host name is resolved off the worker threads (`lookup_host`); each address is
            // tried in turn and the last error is kept.
            let mut last_err = None;
            for addr in crate::net::lookup_host((host.as_str(), port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(err) => last_err = Some(err),
                }
            }
            Err(last_err.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address")
            }))
        };
        let stream = match self.connect_timeout {
            None => connecting.await,
            Some(limit) => crate::time::timeout(limit, connecting)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting to {uri} timed out after {limit:?}"),
                    ))
                }),
        }
        .map_err(|err| io::Error::new(err.kind(), format!("connecting to {uri}: {err}")))?;
        if self.nodelay {
            stream.set_nodelay(true)?;
        }
        Ok(SpindleIo::new(stream))
    }
}

/// The host (IPv6 brackets removed) and port to connect to for `uri`, or an `InvalidInput`
/// error naming what is wrong with it.
fn destination(uri: &::hyper::Uri) -> io::Result<(String, u16)> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(format!(
                "SpindleConnector speaks plain TCP and cannot open {uri}: https needs a TLS \
                 connector (wrap this one's streams in a TLS stream in your own Service<Uri>)"
            )));
        }
        Some(other) => {
            return Err(invalid(format!(
                "SpindleConnector cannot open {uri}: unsupported scheme {other:?} (only http)"
            )));
        }
        None => {
            return Err(invalid(format!(
                "SpindleConnector cannot open {uri:?}: the URI has no scheme; use an absolute \
                 URI such as http://host:port/path"
            )));
        }
    }
    let host = match uri.host() {
        Some(host) if !host.is_empty() => host,
        _ => {
            return Err(invalid(format!(
                "SpindleConnector cannot open {uri}: the URI has no host"
            )));
        }
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host.to_owned(), uri.port_u16().unwrap_or(80)))
}

impl Default for SpindleConnector {
    /// The same as [`SpindleConnector::new`].
    fn default() -> SpindleConnector {
        SpindleConnector::new()
    }
}

impl fmt::Debug for SpindleConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpindleConnector")
            .field("nodelay", &self.nodelay)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl tower_service::Service<::hyper::Uri> for SpindleConnector {
    type Response = SpindleIo<TcpStream>;
    type Error = io::Error;
    type Future = SpindleConnecting;

    /// Always ready: every call opens its own connection.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: ::hyper::Uri) -> SpindleConnecting {
        SpindleConnecting {
            inner: Box::pin(self.clone().connect(uri)),
        }
    }
}

/// The future of one [`SpindleConnector`] connection attempt.
///
/// # Examples
///
/// ```
/// use spindle::hyper::SpindleConnector;
/// use tower_service::Service;
///
/// spindle::run(async {
///     let listener = spindle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let uri = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
///     let io = SpindleConnector::new().call(uri).await.unwrap();
///     assert!(io.inner().nodelay().unwrap());
/// });
/// ```
pub struct SpindleConnecting {
    inner: Pin<Box<dyn Future<Output = io::Result<SpindleIo<TcpStream>>> + Send>>,
}

impl Future for SpindleConnecting {
    type Output = io::Result<SpindleIo<TcpStream>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for SpindleConnecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpindleConnecting").finish_non_exhaustive()
    }
}

impl Connection for SpindleIo<TcpStream> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(unix)]
impl Connection for SpindleIo<crate::net::UnixStream> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_service::Service;

    fn err_of(uri: &str) -> io::Error {
        destination(&uri.parse().unwrap()).unwrap_err()
    }

    #[test]
    fn destinations() {
        let d = |uri: &str| destination(&uri.parse().unwrap()).unwrap();
        assert_eq!(d("http://example.com/x"), ("example.com".into(), 80));
        assert_eq!(d("http://127.0.0.1:8080"), ("127.0.0.1".into(), 8080));
        assert_eq!(d("http://[::1]:9/"), ("::1".into(), 9));
        let https = err_of("https://example.com/");
        assert_eq!(https.kind(), io::ErrorKind::InvalidInput);
        assert!(https.to_string().contains("TLS"), "{https}");
        assert!(err_of("ftp://example.com/").to_string().contains("\"ftp\""));
        assert!(err_of("/just/a/path").to_string().contains("no scheme"));
    }

    #[test]
    fn refused_connections_name_the_uri() {
        crate::run(async {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let uri: ::hyper::Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
            let err = SpindleConnector::new().call(uri).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            assert!(
                err.to_string().contains(&format!("127.0.0.1:{port}")),
                "{err}"
            );
        });
    }

    #[test]
    fn connects_by_host_name_and_ipv6_literal() {
        crate::run(async {
            let listener = crate::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut connector = SpindleConnector::new();
            connector.set_nodelay(false);
            let io = connector
                .call(format!("http://localhost:{port}/").parse().unwrap())
                .await
                .unwrap();
            assert!(!io.inner().nodelay().unwrap());
            assert_eq!(io.inner().peer_addr().unwrap().port(), port);
            let _ = io.connected();

            if let Ok(v6) = crate::net::TcpListener::bind("[::1]:0").await {
                let port = v6.local_addr().unwrap().port();
                let io = SpindleConnector::new()
                    .call(format!("http://[::1]:{port}/").parse().unwrap())
                    .await
                    .unwrap();
                assert!(io.inner().peer_addr().unwrap().is_ipv6());
            }
        });
    }
}

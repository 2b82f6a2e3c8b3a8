//! A keep-alive request/response loop over one TCP connection, for counting syscalls per request.
//!
//! ```text
//! cargo build --release --example keepalive
//! strace -f -c -o /tmp/keepalive.strace target/release/examples/keepalive 10000
//! ```
//!
//! A server task and a client task run on one spindle runtime and talk over 127.0.0.1. The
//! client sends `requests` requests of 64 bytes one at a time on a single connection and waits
//! for each 128-byte response, as an HTTP/1.1 keep-alive client does; both sides read into an
//! 8 KiB buffer (as hyper does), so every read is a *short* read. Each response is checked byte
//! for byte. `strace -c`'s table divided by the request count gives syscalls per request;
//! `docs/benchmarks.md` has the numbers.
//!
//! Arguments: `[requests] [worker threads] [spindle|tokio]` (defaults: 10 000, the number of
//! CPUs, spindle). `tokio` runs the same loop on tokio's multi-thread runtime (`tokio::net`,
//! same buffers) for comparison.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream};
use std::io;
use std::time::Instant;

const REQUEST_LEN: usize = 64;
const RESPONSE_LEN: usize = 128;
const READ_BUF: usize = 8 * 1024;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let requests: usize = parse(args.first().map(String::as_str).unwrap_or("10000"))?;
    match args.get(2).map(String::as_str) {
        None | Some("spindle") => {}
        Some("tokio") => {
            return tokio_loop::run(requests, args.get(1).map(|w| parse(w)).transpose()?);
        }
        Some(other) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown runtime {other:?}: use spindle or tokio"),
            ));
        }
    }
    let mut builder = spindle::runtime::Builder::new();
    if let Some(workers) = args.get(1) {
        builder = builder.worker_threads(parse(workers)?);
    }
    let rt = builder.build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = spindle::spawn(async move {
            let (stream, _) = listener.accept().await?;
            serve(stream).await
        });
        let start = Instant::now();
        let client = spindle::spawn(client(addr, requests));
        client
            .await
            .map_err(|e| io::Error::other(format!("client task failed: {e}")))??;
        let elapsed = start.elapsed().as_secs_f64();
        server
            .await
            .map_err(|e| io::Error::other(format!("server task failed: {e}")))??;
        println!(
            "{requests} requests on one connection in {elapsed:.3} s: {:.0} requests/s",
            requests as f64 / elapsed
        );
        Ok(())
    })
}

fn parse<T: std::str::FromStr>(text: &str) -> io::Result<T> {
    text.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid number {text:?}; arguments: [requests] [worker threads] [spindle|tokio]"
            ),
        )
    })
}

/// Answers each complete 64-byte request with a 128-byte response until the client closes.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_BUF];
    let mut pending = 0usize;
    let mut response = [0u8; RESPONSE_LEN];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        pending += n;
        while pending >= REQUEST_LEN {
            pending -= REQUEST_LEN;
            // The response echoes the request's first byte so the client can check it.
            response.fill(buf[0]);
            stream.write_all(&response).await?;
        }
    }
}

async fn client(addr: std::net::SocketAddr, requests: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_BUF];
    for i in 0..requests {
        let tag = (i % 251) as u8;
        stream.write_all(&[tag; REQUEST_LEN]).await?;
        let mut got = 0;
        while got < RESPONSE_LEN {
            let n = stream.read(&mut buf[got..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("server closed during request {i}"),
                ));
            }
            got += n;
        }
        if got != RESPONSE_LEN || buf[..RESPONSE_LEN].iter().any(|&b| b != tag) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response {i} is wrong"),
            ));
        }
    }
    stream.close().await
}

/// The same loop on tokio, for comparing syscalls per request.
mod tokio_loop {
    use super::{READ_BUF, REQUEST_LEN, RESPONSE_LEN};
    use std::io;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub(super) fn run(requests: usize, workers: Option<usize>) -> io::Result<()> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all();
        if let Some(workers) = workers {
            builder.worker_threads(workers);
        }
        builder.build()?.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let mut buf = vec![0u8; READ_BUF];
                let mut pending = 0usize;
                let mut response = [0u8; RESPONSE_LEN];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return io::Result::Ok(());
                    }
                    pending += n;
                    while pending >= REQUEST_LEN {
                        pending -= REQUEST_LEN;
                        response.fill(buf[0]);
                        stream.write_all(&response).await?;
                    }
                }
            });
            let start = std::time::Instant::now();
            tokio::spawn(client(addr, requests))
                .await
                .map_err(io::Error::other)??;
            let elapsed = start.elapsed().as_secs_f64();
            server.await.map_err(io::Error::other)??;
            println!(
                "tokio: {requests} requests on one connection in {elapsed:.3} s: {:.0} requests/s",
                requests as f64 / elapsed
            );
            Ok(())
        })
    }

    async fn client(addr: std::net::SocketAddr, requests: usize) -> io::Result<()> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; READ_BUF];
        for i in 0..requests {
            let tag = (i % 251) as u8;
            stream.write_all(&[tag; REQUEST_LEN]).await?;
            let mut got = 0;
            while got < RESPONSE_LEN {
                let n = stream.read(&mut buf[got..]).await?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                got += n;
            }
            if buf[..RESPONSE_LEN].iter().any(|&b| b != tag) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong response"));
            }
        }
        stream.shutdown().await
    }
}

//! A TCP echo server and a load-generating client.
//!
//! ```text
//! cargo run --release --example echo -- server [addr]
//! cargo run --release --example echo -- client [addr] [connections] [messages]
//! cargo run --release --example echo                # both in one process, then exit
//! ```
//!
//! The client opens `connections` connections; each sends `messages` 64-byte messages one at a
//! time and waits for each echo (checking it byte for byte), then the client prints the rate.
//! The default address is 127.0.0.1:7878; without arguments the server listens on a free port.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream};
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

const DEFAULT_ADDR: &str = "127.0.0.1:7878";
const MESSAGE_LEN: usize = 64;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("server") => {
            let addr = arg(1).unwrap_or(DEFAULT_ADDR).to_owned();
            spindle::run(async move {
                let listener = TcpListener::bind(addr.as_str()).await?;
                println!("echo server listening on {}", listener.local_addr()?);
                serve(listener, None).await
            })
        }
        Some("client") => {
            let addr: SocketAddr = parse(arg(1).unwrap_or(DEFAULT_ADDR), "address")?;
            let connections = parse(arg(2).unwrap_or("50"), "connections")?;
            let messages = parse(arg(3).unwrap_or("2000"), "messages")?;
            spindle::run(run_clients(addr, connections, messages))
        }
        None => spindle::run(async {
            let (connections, messages) = (50, 2000);
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            println!("echo server listening on {addr} (self-demo)");
            let server = spindle::spawn(serve(listener, Some(connections)));
            run_clients(addr, connections, messages).await?;
            server
                .await
                .map_err(|e| io::Error::other(format!("server task failed: {e}")))?
        }),
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "unknown mode {other:?}; use `server [addr]`, \
                 `client [addr] [connections] [messages]`, or no arguments"
            ),
        )),
    }
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> io::Result<T> {
    text.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid {what}: {text:?}"),
        )
    })
}

/// Accepts connections (forever, or `limit` of them) and echoes each on its own task. With a
/// limit, waits for those connections to finish.
async fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<()> {
    let mut handlers = Vec::new();
    let mut accepted = 0;
    while limit.is_none_or(|limit| accepted < limit) {
        let (stream, _) = listener.accept().await?;
        accepted += 1;
        let handler = spindle::spawn(async move {
            if let Err(err) = echo(stream).await {
                eprintln!("connection error: {err}");
            }
        });
        if limit.is_some() {
            handlers.push(handler);
        }
    }
    for handler in handlers {
        let _ = handler.await;
    }
    Ok(())
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn run_clients(addr: SocketAddr, connections: usize, messages: usize) -> io::Result<()> {
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|id| spindle::spawn(client(addr, id, messages)))
        .collect();
    for client in clients {
        client
            .await
            .map_err(|e| io::Error::other(format!("client task failed: {e}")))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = connections * messages;
    println!(
        "{total} messages over {connections} connections in {elapsed:.3} s: {:.0} messages/s",
        total as f64 / elapsed
    );
    Ok(())
}

async fn client(addr: SocketAddr, id: usize, messages: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut message = [0u8; MESSAGE_LEN];
    let mut reply = [0u8; MESSAGE_LEN];
    for i in 0..messages {
        for (j, byte) in message.iter_mut().enumerate() {
            *byte = (id + i + j) as u8;
        }
        stream.write_all(&message).await?;
        stream.read_exact(&mut reply).await?;
        if reply != message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("connection {id}: echo {i} differs"),
            ));
        }
    }
    stream.close().await
}

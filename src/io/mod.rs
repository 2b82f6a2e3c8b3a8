//! Async I/O: the runtime-neutral `futures-io` traits, the extension methods that make them
//! pleasant (`read_exact`, `write_all`, `read_line`, ...), buffering, `copy`, `split`, and
//! in-memory readers and writers — so spindle programs need no other I/O crate.
//!
//! spindle's sockets (and files, pipes, ...) implement [`AsyncRead`] and [`AsyncWrite`] from
//! `futures-io`, the traits the wider ecosystem (smol, async-std, hyper adapters, codecs)
//! shares. Everything here is re-exported from `futures-lite`'s `io` module, chosen over
//! `futures-util`'s because it covers the same everyday surface (the four extension traits,
//! `BufReader`/`BufWriter`, `copy`, `split`, `Cursor`, `empty`/`sink`/`repeat`, `take`,
//! `chain`, `lines`, `bytes`) in a small, fast-compiling crate with no proc macros, and it is
//! already in spindle's dependency tree. spindle adds [`copy_bidirectional`].
//!
//! Bring the extension traits into scope with `use spindle::io::{AsyncReadExt, AsyncWriteExt}`
//! (or `AsyncBufReadExt` for lines).
//!
//! In memory:
//!
//! ```
//! use spindle::io::{self, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Cursor};
//!
//! spindle::run(async {
//!     // Read lines from any AsyncRead through a buffer.
//!     let mut reader = BufReader::new(Cursor::new(b"alpha\nbeta\n".to_vec()));
//!     let (mut line, mut seen) = (String::new(), Vec::new());
//!     while reader.read_line(&mut line).await? > 0 {
//!         seen.push(line.trim_end().to_owned());
//!         line.clear();
//!     }
//!     assert_eq!(seen, ["alpha", "beta"]);
//!
//!     // copy between any reader and writer; `take` limits a reader.
//!     let mut out = Vec::new();
//!     let n = io::copy(Cursor::new(b"hello world").take(5), &mut out).await?;
//!     assert_eq!((n, &out[..]), (5, &b"hello"[..]));
//!
//!     let mut sink = io::sink();
//!     sink.write_all(b"discarded").await?;
//!     Ok::<_, io::Error>(())
//! })
//! .unwrap();
//! ```
//!
//! Over a socket pair — a TCP client, and a server that echoes with `copy` over a `split`
//! stream:
//!
//! ```
//! use spindle::io::{self, AsyncReadExt, AsyncWriteExt};
//! use spindle::net::{TcpListener, TcpStream};
//!
//! spindle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = spindle::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let (reader, mut writer) = io::split(stream);
//!         io::copy(reader, &mut writer).await // echo until the client shuts down its side
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"ping").await?;
//!     client.shutdown(std::net::Shutdown::Write)?;
//!     let mut echoed = String::new();
//!     client.read_to_string(&mut echoed).await?;
//!     assert_eq!(echoed, "ping");
//!     assert_eq!(server.await.unwrap()?, 4);
//!     Ok::<_, io::Error>(())
//! })
//! .unwrap();
//! ```

pub use futures_lite::io::{
    AssertAsync, AsyncAsSync, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek,
    AsyncSeekExt, AsyncWrite, AsyncWriteExt, BlockOn, BoxedReader, BoxedWriter, BufReader,
    BufWriter, Bytes, Chain, Cursor, Empty, Error, ErrorKind, Lines, ReadHalf, Repeat, Result,
    SeekFrom, Sink, Split, Take, WriteHalf, copy, empty, repeat, sink, split,
};

/// Copies in both directions at once between two streams — `a`'s reads to `b` and `b`'s reads
/// to `a` — until each side has reached EOF; after each direction finishes, the writer of that
/// direction is closed (for a socket: its write side is shut down). Returns the bytes copied
/// `(a to b, b to a)`. The first error ends both directions. A proxy in one line.
///
/// ```
/// use spindle::io::{self, AsyncReadExt, AsyncWriteExt};
/// use spindle::net::{TcpListener, TcpStream};
///
/// spindle::run(async {
///     // client <-> proxy <-> upstream echo server
///     let upstream = TcpListener::bind("127.0.0.1:0").await?;
///     let upstream_addr = upstream.local_addr()?;
///     spindle::spawn(async move {
///         let (s, _) = upstream.accept().await?;
///         let (r, mut w) = io::split(s);
///         io::copy(r, &mut w).await
///     });
///     let proxy = TcpListener::bind("127.0.0.1:0").await?;
///     let proxy_addr = proxy.local_addr()?;
///     let proxied = spindle::spawn(async move {
///         let (mut inbound, _) = proxy.accept().await?;
///         let mut outbound = TcpStream::connect(upstream_addr).await?;
///         io::copy_bidirectional(&mut inbound, &mut outbound).await
///     });
///     let mut client = TcpStream::connect(proxy_addr).await?;
///     client.write_all(b"through the proxy").await?;
///     client.shutdown(std::net::Shutdown::Write)?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"through the proxy");
///     assert_eq!(proxied.await.unwrap()?, (17, 17));
///     Ok::<_, io::Error>(())
/// })
/// .unwrap();
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let (a_reader, mut a_writer) = split(a);
    let (b_reader, mut b_writer) = split(b);
    let a_to_b = async {
        let n = copy(a_reader, &mut b_writer).await?;
        b_writer.close().await?;
        Ok(n)
    };
    let b_to_a = async {
        let n = copy(b_reader, &mut a_writer).await?;
        a_writer.close().await?;
        Ok(n)
    };
    futures_lite::future::try_zip(a_to_b, b_to_a).await
}

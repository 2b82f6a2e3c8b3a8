//! Integration tests of `spindle::io` with spindle's own sockets.

use spindle::io::{
    self, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufWriter, Cursor,
    SeekFrom,
};
use spindle::net::{TcpListener, TcpStream, UnixListener, UnixStream};

fn temp_socket_path(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "spindle-io-{tag}-{}-{nanos}.sock",
        std::process::id()
    ))
}

#[spindle::test]
async fn copy_a_megabyte_through_a_unix_socket_with_buffered_ends() {
    let path = temp_socket_path("copy");
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let received = {
        let path = path.clone();
        async move {
            let listener = UnixListener::bind(&path)?;
            let server = spindle::spawn(async move {
                let (stream, _) = listener.accept().await?;
                let mut out = Vec::new();
                let n = io::copy(BufReader::new(stream), &mut out).await?;
                assert_eq!(n as usize, out.len());
                Ok::<_, io::Error>(out)
            });
            let stream = UnixStream::connect(&path).await?;
            let mut writer = BufWriter::with_capacity(8 * 1024, stream);
            io::copy(Cursor::new(payload), &mut writer).await?;
            writer.flush().await?;
            writer.close().await?; // shuts the write side down: the server sees EOF
            server.await.unwrap()
        }
    }
    .await
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(received.len(), expected.len());
    assert!(received == expected, "copied bytes differ");
}

#[spindle::test]
async fn split_halves_read_and_write_concurrently_and_lines_parse() {
    let result: io::Result<Vec<String>> = async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Server: upper-cases every line, reading and writing through split halves.
        let server = spindle::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let (reader, mut writer) = io::split(stream);
            let mut lines = BufReader::new(reader);
            let mut line = String::new();
            while lines.read_line(&mut line).await? > 0 {
                writer.write_all(line.to_uppercase().as_bytes()).await?;
                line.clear();
            }
            writer.close().await
        });
        let stream = TcpStream::connect(addr).await?;
        let (reader, mut writer) = io::split(stream);
        let sender = spindle::spawn(async move {
            for word in ["alpha", "beta", "gamma"] {
                writer.write_all(format!("{word}\n").as_bytes()).await?;
            }
            writer.close().await
        });
        let mut got = Vec::new();
        let mut reader = BufReader::new(reader);
        let mut line = String::new();
        while reader.read_line(&mut line).await? > 0 {
            got.push(line.trim_end().to_owned());
            line.clear();
        }
        sender.await.unwrap()?;
        server.await.unwrap()?;
        Ok(got)
    }
    .await;
    assert_eq!(result.unwrap(), ["ALPHA", "BETA", "GAMMA"]);
}

#[spindle::test]
async fn copy_bidirectional_counts_both_directions() {
    let counts = async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // The far end: sends 3 bytes, reads everything until EOF, then closes.
        let far = spindle::spawn(async move {
            let (mut s, _) = listener.accept().await?;
            s.write_all(b"abc").await?;
            let mut all = Vec::new();
            s.read_to_end(&mut all).await?;
            s.close().await?;
            Ok::<_, io::Error>(all)
        });
        let mut a = TcpStream::connect(addr).await?;
        // The near end is an in-memory duplex: reads "hello world", writes into a Vec.
        let mut near = Duplex {
            input: Cursor::new(b"hello world".to_vec()),
            output: Vec::new(),
        };
        let counts = io::copy_bidirectional(&mut near, &mut a).await?;
        assert_eq!(near.output, b"abc");
        assert_eq!(far.await.unwrap()?, b"hello world");
        Ok::<_, io::Error>(counts)
    }
    .await
    .unwrap();
    assert_eq!(counts, (11, 3));
}

#[spindle::test]
async fn cursor_seek_and_take_chain() {
    let mut c = Cursor::new(b"0123456789".to_vec());
    c.seek(SeekFrom::Start(4)).await.unwrap();
    let mut buf = String::new();
    (&mut c).take(3).read_to_string(&mut buf).await.unwrap();
    assert_eq!(buf, "456");
    let mut joined = String::new();
    Cursor::new("ab")
        .chain(Cursor::new("cd"))
        .read_to_string(&mut joined)
        .await
        .unwrap();
    assert_eq!(joined, "abcd");
    let mut zeros = [1u8; 4];
    io::repeat(0).read_exact(&mut zeros).await.unwrap();
    assert_eq!(zeros, [0; 4]);
    let mut nothing = Vec::new();
    assert_eq!(io::empty().read_to_end(&mut nothing).await.unwrap(), 0);
}

/// An in-memory stream: reads from `input`, writes append to `output`.
struct Duplex {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl io::AsyncRead for Duplex {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl io::AsyncWrite for Duplex {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.output).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

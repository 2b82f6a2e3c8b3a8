//! tokio interop: tokio's I/O traits on spindle's sockets (`tokio-io`) and tokio-only types run
//! from spindle tasks (`spindle::compat::tokio`).

use spindle::net::{TcpListener, TcpStream, UnixStream};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// A connected pair of spindle TCP sockets.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn tokio_io_copy_between_two_spindle_sockets() {
    spindle::run(async {
        // writer -> a1 ... a2 -> tokio::io::copy -> b1 ... b2 -> reader
        let (mut a1, mut a2) = tcp_pair().await;
        let (mut b1, mut b2) = tcp_pair().await;
        let data = payload(1 << 20);
        let expected = data.clone();
        let writer = spindle::spawn(async move {
            a1.write_all(&data).await.unwrap();
            AsyncWriteExt::shutdown(&mut a1).await.unwrap();
        });
        let copier = spindle::spawn(async move {
            let copied = tokio::io::copy(&mut a2, &mut b1).await.unwrap();
            AsyncWriteExt::shutdown(&mut b1).await.unwrap();
            copied
        });
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b2, &mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(copier.await.unwrap(), 1 << 20);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the copied bytes differ");
    });
}

#[test]
fn tokio_buffered_lines_and_split_halves_on_spindle_streams() {
    spindle::run(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a, b) = (
            UnixStream::from_std(a).unwrap(),
            UnixStream::from_std(b).unwrap(),
        );
        // tokio::io::split over a spindle stream: one task writes, the other reads lines.
        let (reader, mut writer) = tokio::io::split(b);
        let echo = spindle::spawn(async move {
            let mut lines = tokio::io::BufReader::new(reader).lines();
            let mut n = 0;
            while let Some(line) = lines.next_line().await.unwrap() {
                writer
                    .write_all(format!("{}\n", line.len()).as_bytes())
                    .await
                    .unwrap();
                n += 1;
            }
            AsyncWriteExt::shutdown(&mut writer).await.unwrap();
            n
        });
        let mut a = tokio::io::BufStream::new(a);
        for word in ["a", "bb", "ccc"] {
            a.write_all(format!("{word}\n").as_bytes()).await.unwrap();
        }
        a.flush().await.unwrap();
        spindle::net::UnixStream::shutdown(a.get_ref(), std::net::Shutdown::Write).unwrap();
        let mut replies = String::new();
        a.read_to_string(&mut replies).await.unwrap();
        assert_eq!(replies, "1\n2\n3\n");
        assert_eq!(echo.await.unwrap(), 3);
    });
}

#[test]
fn spindle_io_over_a_generic_stream_speaks_tokio() {
    spindle::run(async {
        // SpindleIo<T> for a futures-io T that is not a spindle socket (the zeroing path).
        let mut io = spindle::hyper::SpindleIo::new(futures_lite::io::Cursor::new(payload(10_000)));
        let mut out = Vec::new();
        AsyncReadExt::read_to_end(&mut io, &mut out).await.unwrap();
        assert_eq!(out, payload(10_000));
        AsyncWriteExt::write_all(&mut io, b"tail").await.unwrap();
        assert_eq!(&io.inner().get_ref()[10_000..], b"tail");

        // And over a spindle socket (the uninitialized-buffer path).
        let (mut a, b) = tcp_pair().await;
        a.write_all(b"socket").await.unwrap();
        AsyncWriteExt::shutdown(&mut a).await.unwrap();
        let mut io = spindle::hyper::SpindleIo::new(b);
        let mut got = String::new();
        AsyncReadExt::read_to_string(&mut io, &mut got)
            .await
            .unwrap();
        assert_eq!(got, "socket");
    });
}

/// A spindle echo server (futures-io, no tokio anywhere); returns its address.
async fn spindle_echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    spindle::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            spindle::spawn(async move {
                let _ = futures_lite::io::copy(&stream, &mut &stream).await;
                let _ = stream.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn tokio_only_types_run_from_spindle_tasks_through_compat() {
    spindle::run(async {
        let addr = spindle_echo_server().await;
        // tokio::net, tokio::time and tokio's io-util, all needing a tokio reactor, in spindle
        // tasks running at the same time.
        let clients: Vec<_> = (0..8)
            .map(|i| {
                spindle::spawn(spindle::compat::tokio(async move {
                    let mut stream = tokio::net::TcpStream::connect(addr).await?;
                    let start = Instant::now();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    assert!(start.elapsed() >= Duration::from_millis(20));
                    let message = format!("hello from tokio client {i}");
                    stream.write_all(message.as_bytes()).await?;
                    stream.shutdown().await?;
                    let mut echoed = String::new();
                    stream.read_to_string(&mut echoed).await?;
                    assert!(
                        spindle::runtime::Handle::try_current().is_some(),
                        "not on spindle"
                    );
                    Ok::<_, std::io::Error>((message, echoed))
                }))
            })
            .collect();
        for client in clients {
            let (sent, echoed) = client.await.unwrap().unwrap();
            assert_eq!(sent, echoed);
        }
    });
}

#[test]
fn without_compat_tokio_types_fail_with_no_reactor() {
    spindle::run(async {
        let addr = spindle_echo_server().await;
        // The same tokio call without the wrapper panics (caught by the task's JoinHandle):
        // this is the failure `compat::tokio` exists for.
        let err = spindle::spawn(async move { tokio::net::TcpStream::connect(addr).await })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        let msg = err.to_string();
        assert!(msg.contains("reactor") || msg.contains("Tokio"), "{msg}");
    });
}

#[test]
fn tokio_traits_on_split_halves() {
    spindle::run(async {
        let (client, server) = tcp_pair().await;
        // An echo server from owned halves and tokio::io::copy.
        let (mut rd, mut wr) = server.into_split();
        let echo = spindle::spawn(async move {
            let n = tokio::io::copy(&mut rd, &mut wr).await.unwrap();
            AsyncWriteExt::shutdown(&mut wr).await.unwrap();
            n
        });
        let mut client = client;
        let (mut crd, mut cwr) = client.split();
        let data = payload(300_000);
        let (_, echoed) = futures_lite::future::zip(
            async {
                cwr.write_all(&data).await.unwrap();
                AsyncWriteExt::shutdown(&mut cwr).await.unwrap();
            },
            async {
                let mut echoed = Vec::new();
                crd.read_to_end(&mut echoed).await.unwrap();
                echoed
            },
        )
        .await;
        assert_eq!(echo.await.unwrap(), 300_000);
        assert!(echoed == data, "echo differs");
    });
}

//! `spindle::net` through the public API: byte-exact echo under load, UDP, Unix sockets, error
//! paths (refused, EOF, reset), shared sockets, and sockets that outlive their runtime.
//!
//! Every test body runs under a watchdog so that a lost wake-up fails the test instead of
//! hanging the suite.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use spindle::runtime::Runtime;
use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
const CHUNK: usize = 64 * 1024;

/// Runs `f` on its own thread and fails the test if it does not finish within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            thread.join().unwrap();
            value
        }
        // The thread panicked: surface its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it returns"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
    }
}

/// Deterministic, non-periodic test data: byte `pos` of stream `seed`.
fn fill_pattern(seed: u64, start: usize, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        let pos = (start + i) as u64;
        let mut x = (pos / 8) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        *byte = x.to_le_bytes()[(pos % 8) as usize];
    }
}

/// Writes `len` pattern bytes of stream `seed`, in chunks.
async fn write_pattern(
    mut w: impl futures_lite::AsyncWrite + Unpin,
    seed: u64,
    len: usize,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0;
    while sent < len {
        let n = CHUNK.min(len - sent);
        fill_pattern(seed, sent, &mut buf[..n]);
        w.write_all(&buf[..n]).await?;
        sent += n;
    }
    Ok(())
}

/// Reads exactly `len` bytes and checks that they are pattern `seed`; returns the first
/// mismatching offset, if any.
async fn check_pattern(
    mut r: impl futures_lite::AsyncRead + Unpin,
    seed: u64,
    len: usize,
) -> io::Result<Option<usize>> {
    let mut buf = vec![0u8; CHUNK];
    let mut expected = vec![0u8; CHUNK];
    let mut got = 0;
    while got < len {
        let want = CHUNK.min(len - got);
        let n = r.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("EOF after {got} bytes"),
            ));
        }
        fill_pattern(seed, got, &mut expected[..n]);
        if let Some(i) = (0..n).find(|&i| buf[i] != expected[i]) {
            return Ok(Some(got + i));
        }
        got += n;
    }
    Ok(None)
}

/// Echoes everything until EOF, then closes; returns the byte count.
async fn echo(mut stream: TcpStream) -> io::Result<usize> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// A connected pair through a fresh listener.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server)
}

#[test]
fn tcp_echo_one_mib_over_100_concurrent_connections() {
    const CONNS: usize = 100;
    within(Duration::from_secs(120), || {
        spindle::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spindle::spawn(async move {
                let mut handlers = Vec::new();
                for _ in 0..CONNS {
                    let (stream, _) = listener.accept().await.unwrap();
                    handlers.push(spindle::spawn(echo(stream)));
                }
                let mut echoed = Vec::new();
                for handler in handlers {
                    echoed.push(handler.await.unwrap().unwrap());
                }
                echoed
            });
            let clients: Vec<_> = (0..CONNS as u64)
                .map(|seed| {
                    spindle::spawn(async move {
                        let stream = TcpStream::connect(addr).await?;
                        let (writer, reader) = (&stream, &stream);
                        let (written, mismatch) = futures_lite::future::zip(
                            async move {
                                write_pattern(writer, seed, MIB).await?;
                                // Half-close: the server sees EOF, finishes and closes.
                                let mut writer = writer;
                                writer.close().await
                            },
                            check_pattern(reader, seed, MIB),
                        )
                        .await;
                        written?;
                        let mismatch = mismatch?;
                        let mut reader = reader;
                        let eof = reader.read(&mut [0u8; 16]).await?;
                        io::Result::Ok((mismatch, eof))
                    })
                })
                .collect();
            for (seed, client) in clients.into_iter().enumerate() {
                let (mismatch, eof) = client.await.unwrap().unwrap();
                assert_eq!(mismatch, None, "connection {seed}: first wrong byte");
                assert_eq!(eof, 0, "connection {seed}: EOF after the echo");
            }
            assert_eq!(server.await.unwrap(), vec![MIB; CONNS]);
        });
    });
}

#[test]
fn udp_send_to_recv_from_and_connected_send_recv() {
    within(Duration::from_secs(30), || {
        spindle::run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

            // b waits first, so the receive really has to be woken.
            let b = Arc::new(b);
            let receiver = {
                let b = b.clone();
                spindle::spawn(async move {
                    let mut buf = [0u8; 64];
                    let (n, from) = b.recv_from(&mut buf).await.unwrap();
                    (buf[..n].to_vec(), from)
                })
            };
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
            assert_eq!(receiver.await.unwrap(), (b"ping".to_vec(), a_addr));

            assert_eq!(
                b.send_to(b"pong!", ("127.0.0.1", a_addr.port()))
                    .await
                    .unwrap(),
                5
            );
            let mut buf = [0u8; 64];
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"pong!"[..], b_addr));

            a.connect(b_addr).await.unwrap();
            b.connect(a_addr).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), b_addr);
            assert_eq!(a.send(b"connected").await.unwrap(), 9);
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"connected");
            assert_eq!(b.send(&[7u8; 1000]).await.unwrap(), 1000);
            assert_eq!(
                a.recv(&mut buf).await.unwrap(),
                64,
                "datagram truncated to the buffer"
            );
            assert_eq!(buf, [7u8; 64]);
        });
    });
}

#[test]
fn udp_socket_shared_by_many_receivers_wakes_each() {
    const RECEIVERS: usize = 4;
    within(Duration::from_secs(30), || {
        spindle::run(async {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let addr = socket.local_addr().unwrap();
            let receivers: Vec<_> = (0..RECEIVERS)
                .map(|_| {
                    let socket = socket.clone();
                    spindle::spawn(async move {
                        let mut buf = [0u8; 8];
                        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                        buf[..n].to_vec()
                    })
                })
                .collect();
            // Let every receiver park on the socket first.
            std::thread::sleep(Duration::from_millis(50));
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for i in 0..RECEIVERS {
                sender
                    .send_to(format!("m{i}").as_bytes(), addr)
                    .await
                    .unwrap();
            }
            let mut got = BTreeSet::new();
            for receiver in receivers {
                got.insert(String::from_utf8(receiver.await.unwrap()).unwrap());
            }
            let expected: BTreeSet<String> = (0..RECEIVERS).map(|i| format!("m{i}")).collect();
            assert_eq!(got, expected);
        });
    });
}

#[test]
fn unix_stream_round_trip() {
    let path = std::env::temp_dir().join(format!("spindle-net-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server_path = path.clone();
    within(Duration::from_secs(30), move || {
        spindle::run(async move {
            let listener = UnixListener::bind(&server_path).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(server_path.as_path())
            );
            let server = spindle::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                stream.read_to_end(&mut request).await.unwrap();
                request.reverse();
                stream.write_all(&request).await.unwrap();
                stream.close().await.unwrap();
            });
            let mut client = UnixStream::connect(&server_path).await.unwrap();
            assert_eq!(
                client.peer_addr().unwrap().as_pathname(),
                Some(server_path.as_path())
            );
            assert!(client.local_addr().unwrap().is_unnamed());
            let mut data = vec![0u8; 300_000];
            fill_pattern(9, 0, &mut data);
            client.write_all(&data).await.unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let mut reply = Vec::new();
            client.read_to_end(&mut reply).await.unwrap();
            data.reverse();
            assert!(reply == data, "reply differs from the reversed request");
            server.await.unwrap();
        });
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn unix_connect_to_missing_path_fails_at_once() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let path =
                std::env::temp_dir().join(format!("spindle-missing-{}.sock", std::process::id()));
            let err = UnixStream::connect(&path).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
        });
    });
}

#[test]
fn connect_to_closed_port_is_refused() {
    within(Duration::from_secs(10), || {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        spindle::run(async move {
            let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            // Several addresses: each is tried, the last error is returned.
            let addrs: Vec<SocketAddr> = vec![
                format!("127.0.0.1:{port}").parse().unwrap(),
                format!("127.0.0.2:{port}").parse().unwrap(),
            ];
            let err = TcpStream::connect(&addrs[..]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        });
    });
}

#[test]
fn connect_tries_the_next_address_after_a_failure() {
    within(Duration::from_secs(10), || {
        let closed = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        spindle::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let open = listener.local_addr().unwrap();
            let stream = TcpStream::connect(&[closed, open][..]).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), open);
        });
    });
}

#[test]
fn read_after_peer_closes_is_eof() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (mut client, mut server) = tcp_pair().await;
            server.write_all(b"last words").await.unwrap();
            drop(server);
            let mut buf = Vec::new();
            assert_eq!(client.read_to_end(&mut buf).await.unwrap(), 10);
            assert_eq!(buf, b"last words");
            // EOF is sticky.
            assert_eq!(client.read(&mut [0u8; 4]).await.unwrap(), 0);
        });
    });
}

#[test]
fn pending_read_sees_eof_when_peer_closes_later() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (client, server) = tcp_pair().await;
            let reader = spindle::spawn(async move {
                let mut client = client;
                client.read(&mut [0u8; 4]).await
            });
            std::thread::sleep(Duration::from_millis(30));
            drop(server);
            assert_eq!(reader.await.unwrap().unwrap(), 0);
        });
    });
}

#[test]
fn write_after_peer_reset_fails() {
    within(Duration::from_secs(20), || {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        spindle::run(async move {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(b"never read").await.unwrap();
            let (peer, _) = std_listener.accept().unwrap();
            // Wait until the data is in the peer's receive buffer, then close without reading
            // it: the kernel answers with a reset.
            let mut one = [0u8; 1];
            assert_eq!(peer.peek(&mut one).unwrap(), 1);
            drop(peer);
            let chunk = vec![1u8; 1024];
            let mut result = Ok(());
            for _ in 0..2000 {
                result = client.write_all(&chunk).await;
                if result.is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let err = result.expect_err("writes kept succeeding after the peer reset");
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "unexpected error {err:?}"
            );
        });
    });
}

#[test]
fn shared_stream_read_and_written_by_two_tasks() {
    const LEN: usize = 4 * MIB;
    within(Duration::from_secs(60), || {
        spindle::run(async {
            let (client, server) = tcp_pair().await;
            let echo_task = spindle::spawn(echo(server));
            let client = Arc::new(client);
            let writer = {
                let client = client.clone();
                spindle::spawn(async move {
                    write_pattern(&*client, 42, LEN).await.unwrap();
                    client.shutdown(std::net::Shutdown::Write).unwrap();
                })
            };
            let reader = {
                let client = client.clone();
                spindle::spawn(async move { check_pattern(&*client, 42, LEN).await.unwrap() })
            };
            writer.await.unwrap();
            assert_eq!(reader.await.unwrap(), None);
            assert_eq!(echo_task.await.unwrap().unwrap(), LEN);
        });
    });
}

#[test]
fn many_acceptors_share_one_listener() {
    const ACCEPTORS: usize = 4;
    within(Duration::from_secs(30), || {
        spindle::run(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let acceptors: Vec<_> = (0..ACCEPTORS)
                .map(|_| {
                    let listener = listener.clone();
                    spindle::spawn(async move { listener.accept().await.unwrap().1 })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(50));
            let mut clients = Vec::new();
            let mut client_addrs = BTreeSet::new();
            for _ in 0..ACCEPTORS {
                let client = TcpStream::connect(addr).await.unwrap();
                client_addrs.insert(client.local_addr().unwrap());
                clients.push(client);
            }
            let mut accepted = BTreeSet::new();
            for acceptor in acceptors {
                accepted.insert(acceptor.await.unwrap());
            }
            assert_eq!(accepted, client_addrs);
        });
    });
}

#[test]
fn dropping_the_runtime_with_pending_io_and_sleeps_is_prompt() {
    within(Duration::from_secs(30), || {
        let rt = Runtime::new().unwrap();
        let (listener, client, server) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            (listener, client, server)
        });
        let accept = rt.spawn(async move { listener.accept().await.map(|_| ()) });
        let read = rt.spawn(async move {
            let mut client = client;
            client.read(&mut [0u8; 8]).await
        });
        let sleeps: Vec<_> = (0..8)
            .map(|i| rt.spawn(spindle::time::sleep(Duration::from_secs(3600 + i))))
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!accept.is_finished() && !read.is_finished());
        let start = Instant::now();
        drop(rt);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "dropping the runtime took {took:?}"
        );
        // Every task was cancelled: its future dropped, its handle resolved.
        for handle in sleeps {
            assert!(
                futures_lite::future::block_on(handle)
                    .unwrap_err()
                    .is_cancelled()
            );
        }
        assert!(
            futures_lite::future::block_on(accept)
                .unwrap_err()
                .is_cancelled()
        );
        assert!(
            futures_lite::future::block_on(read)
                .unwrap_err()
                .is_cancelled()
        );
        drop(server);
    });
}

#[test]
fn socket_used_after_its_runtime_is_dropped_errors() {
    within(Duration::from_secs(30), || {
        let rt_a = Runtime::new().unwrap();
        let (listener, client, server) = rt_a.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            (listener, client, server)
        });
        drop(rt_a);

        let rt_b = Runtime::new().unwrap();
        rt_b.block_on(async {
            let mut client = client;
            let err = client.read(&mut [0u8; 8]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::Other);
            assert!(err.to_string().contains("shut down"), "{err}");
            let err = client.write_all(b"x").await.unwrap_err();
            assert!(err.to_string().contains("shut down"), "{err}");
            let err = listener.accept().await.unwrap_err();
            assert!(err.to_string().contains("shut down"), "{err}");
            // Non-I/O queries still work: the socket itself is fine.
            assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
            // Sockets created in runtime B work normally.
            let (mut c2, mut s2) = tcp_pair().await;
            c2.write_all(b"fine").await.unwrap();
            let mut buf = [0u8; 4];
            s2.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"fine");
        });
    });
}

#[test]
fn outside_a_runtime_registration_is_an_error() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = TcpListener::from_std(std_listener).unwrap_err();
    assert!(err.to_string().contains("spindle runtime"), "{err}");
    let err = futures_lite::future::block_on(UdpSocket::bind("127.0.0.1:0")).unwrap_err();
    assert!(err.to_string().contains("spindle runtime"), "{err}");
}

#[test]
fn std_conversions_and_debug() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let mut client = TcpStream::from_std(std_client).unwrap();
            let (server, _) = listener.accept().await.unwrap();
            assert!(format!("{client:?}").contains(&addr.to_string()));
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            // Round trip through std and back keeps the connection.
            let std_server = server.into_std();
            let mut server = TcpStream::from_std(std_server).unwrap();
            client.write_all(b"abc").await.unwrap();
            let mut buf = [0u8; 3];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"abc");
        });
    });
}

#[test]
fn socket_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<TcpListener>();
    assert_send_sync::<TcpStream>();
    assert_send_sync::<UdpSocket>();
    assert_send_sync::<UnixListener>();
    assert_send_sync::<UnixStream>();
}

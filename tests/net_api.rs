//! The wave-2 `spindle::net` surface through the public API: EOF after drained reads, resets,
//! split halves, readiness and `try_*`, `TcpSocket` (reuseport), UDP options and multicast,
//! `UnixDatagram` and abstract names, `AsyncFd`, `lookup_host`, `incoming`.
//!
//! Every test body runs under a watchdog so that a lost wake-up fails the test instead of
//! hanging the suite.

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use spindle::net::{
    AsyncFd, TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

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
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it returns"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
    }
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Reads until EOF into one big buffer at a time (every read is short); returns the bytes.
async fn read_all_short(mut r: impl futures_lite::AsyncRead + Unpin) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

// ---------------------------------------------------------------------------------------------
// EOF and drained reads
// ---------------------------------------------------------------------------------------------

/// The data and the FIN are both queued before the server reads: the read that returns the
/// data is short, yet the following read must return EOF at once (not wait for an event that
/// already came).
#[test]
fn peer_shutdown_before_the_last_short_read_still_delivers_eof() {
    within(Duration::from_secs(60), || {
        spindle::run(async {
            for round in 0..200usize {
                let (mut client, server) = tcp_pair().await;
                let len = 1 + round * 37 % 3000;
                let payload: Vec<u8> = (0..len).map(|i| (i + round) as u8).collect();
                client.write_all(&payload).await.unwrap();
                client.shutdown(Shutdown::Write).unwrap();
                if round % 2 == 0 {
                    // Let both arrive before the first read.
                    std::thread::sleep(Duration::from_millis(1));
                }
                assert_eq!(
                    read_all_short(&server).await.unwrap(),
                    payload,
                    "round {round}"
                );
                // EOF is sticky.
                assert_eq!((&server).read(&mut [0u8; 8]).await.unwrap(), 0);
            }
        });
    });
}

/// The server reads everything (the read proves the socket drained and clears readiness);
/// the FIN comes later and must wake the pending read.
#[test]
fn fin_after_a_drained_read_wakes_the_reader() {
    within(Duration::from_secs(30), || {
        spindle::run(async {
            for _ in 0..20 {
                let (mut client, server) = tcp_pair().await;
                let reader = spindle::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let n = (&server).read(&mut buf).await.unwrap();
                    let eof = (&server).read(&mut buf).await.unwrap();
                    (n, eof)
                });
                client.write_all(b"request").await.unwrap();
                std::thread::sleep(Duration::from_millis(5));
                client.shutdown(Shutdown::Write).unwrap();
                assert_eq!(reader.await.unwrap(), (7, 0));
            }
        });
    });
}

/// A keep-alive exchange: many short reads in a row on one connection, each answered; every
/// read after a drained one must wait for (and get) the next request.
#[test]
fn keep_alive_request_response_loop() {
    const REQUESTS: usize = 2000;
    within(Duration::from_secs(60), || {
        spindle::run(async {
            let (mut client, server) = tcp_pair().await;
            let server = spindle::spawn(async move {
                let mut buf = [0u8; 8192];
                let mut served = 0;
                loop {
                    let n = (&server).read(&mut buf).await.unwrap();
                    if n == 0 {
                        return served;
                    }
                    assert_eq!(n, 8, "one request at a time");
                    (&server).write_all(&buf[..n]).await.unwrap();
                    served += 1;
                }
            });
            let mut reply = [0u8; 8];
            for i in 0..REQUESTS as u64 {
                client.write_all(&i.to_le_bytes()).await.unwrap();
                client.read_exact(&mut reply).await.unwrap();
                assert_eq!(u64::from_le_bytes(reply), i);
            }
            client.close().await.unwrap();
            assert_eq!(server.await.unwrap(), REQUESTS);
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Resets and close
// ---------------------------------------------------------------------------------------------

/// A client resets the connection (`SO_LINGER` 0 then close); the server sees the reset, and
/// closing or shutting down its side afterwards is `Ok` (tokio's behaviour), not
/// `NotConnected`.
#[test]
fn closing_a_reset_connection_is_ok() {
    within(Duration::from_secs(20), || {
        spindle::run(async {
            for _ in 0..10 {
                let (client, mut server) = tcp_pair().await;
                client.set_linger(Some(Duration::ZERO)).unwrap();
                drop(client);
                // The reset shows up as an error (or EOF) on the next read.
                let mut buf = [0u8; 16];
                match server.read(&mut buf).await {
                    Ok(0) => {}
                    Err(err) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
                    Ok(n) => panic!("read {n} bytes from a reset connection"),
                }
                server.shutdown(Shutdown::Write).unwrap();
                server.shutdown(Shutdown::Both).unwrap();
                server.close().await.unwrap();
                // And through the halves.
                let (_rd, mut wr) = server.into_split();
                wr.close().await.unwrap();
            }
        });
    });
}

#[test]
fn unix_close_after_peer_is_gone_is_ok() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            drop(a);
            assert_eq!(b.read(&mut [0u8; 4]).await.unwrap(), 0);
            b.close().await.unwrap();
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Split halves
// ---------------------------------------------------------------------------------------------

/// 1 MiB each way over 100 connections; the server side of each connection is split into owned
/// halves driven by two tasks (the reader forwards to the writer over a channel).
#[test]
fn split_halves_echo_one_mib_over_100_connections() {
    const CONNS: usize = 100;
    const LEN: usize = 1 << 20;
    within(Duration::from_secs(120), || {
        spindle::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spindle::spawn(async move {
                let mut tasks = Vec::new();
                let mut incoming = listener.incoming();
                for _ in 0..CONNS {
                    let stream = incoming.next().await.unwrap().unwrap();
                    let (mut rd, mut wr) = stream.into_split();
                    let (tx, rx) = async_channel::bounded::<Vec<u8>>(4);
                    tasks.push(spindle::spawn(async move {
                        let mut buf = vec![0u8; 32 * 1024];
                        loop {
                            let n = rd.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            tx.send(buf[..n].to_vec()).await.unwrap();
                        }
                    }));
                    tasks.push(spindle::spawn(async move {
                        while let Ok(chunk) = rx.recv().await {
                            wr.write_all(&chunk).await.unwrap();
                        }
                        // Dropping `wr` shuts the write direction down: the client sees EOF.
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..CONNS)
                .map(|c| {
                    spindle::spawn(async move {
                        let stream = TcpStream::connect(addr).await.unwrap();
                        let (mut rd, mut wr) = stream.into_split();
                        let data: Vec<u8> = (0..LEN).map(|i| (i * 7 + c) as u8).collect();
                        let expected = data.clone();
                        let writer = spindle::spawn(async move {
                            for chunk in data.chunks(50_000) {
                                wr.write_all(chunk).await.unwrap();
                            }
                            wr.close().await.unwrap();
                        });
                        let echoed = read_all_short(&mut rd).await.unwrap();
                        writer.await.unwrap();
                        assert!(echoed == expected, "connection {c}: echo differs");
                        echoed.len()
                    })
                })
                .collect();
            for client in clients {
                assert_eq!(client.await.unwrap(), LEN);
            }
            server.await.unwrap();
        });
    });
}

#[test]
fn reunite_matches_halves_and_rejects_strangers() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (a, b) = tcp_pair().await;
            let (a_rd, a_wr) = a.into_split();
            let (b_rd, b_wr) = b.into_split();
            let err = a_rd.reunite(b_wr).unwrap_err();
            assert_eq!(
                err.to_string(),
                "tried to reunite halves that are not from the same socket"
            );
            let spindle::net::tcp::ReuniteError(a_rd, b_wr) = err;
            // Reuniting does not shut the write direction down: the stream still works.
            let mut a = a_rd.reunite(a_wr).unwrap();
            let mut b = b_wr.reunite(b_rd).unwrap();
            a.write_all(b"still open").await.unwrap();
            let mut buf = [0u8; 10];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still open");

            let (ua, ub) = UnixStream::pair().unwrap();
            let (ua_rd, _ua_wr) = ua.into_split();
            let (_ub_rd, ub_wr) = ub.into_split();
            assert!(ua_rd.reunite(ub_wr).is_err());
        });
    });
}

#[test]
fn dropping_the_owned_write_half_sends_eof_but_forget_does_not() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (client, server) = tcp_pair().await;
            let (_rd, wr) = server.into_split();
            drop(wr);
            assert_eq!((&client).read(&mut [0u8; 4]).await.unwrap(), 0);

            let (client, server) = tcp_pair().await;
            let (rd, wr) = server.into_split();
            wr.forget();
            // The write direction is still open: the client's read waits.
            let pending = futures_lite::future::poll_once((&client).read(&mut [0u8; 4])).await;
            assert!(pending.is_none());
            drop(rd);
            // The last half closed the socket.
            assert_eq!((&client).read(&mut [0u8; 4]).await.unwrap(), 0);
        });
    });
}

#[test]
fn borrowed_split_reads_and_writes_concurrently() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let (mut a_rd, mut a_wr) = a.split();
            let (mut b_rd, mut b_wr) = b.split();
            let ((), (), x, y) = spindle::gather!(
                async { a_wr.write_all(b"from a").await.unwrap() },
                async { b_wr.write_all(b"from b").await.unwrap() },
                async {
                    let mut buf = [0u8; 6];
                    a_rd.read_exact(&mut buf).await.unwrap();
                    buf
                },
                async {
                    let mut buf = [0u8; 6];
                    b_rd.read_exact(&mut buf).await.unwrap();
                    buf
                },
            )
            .await;
            assert_eq!((&x, &y), (b"from b", b"from a"));
            assert_eq!(
                format!("{:?}", a_rd.peer_addr().unwrap()),
                format!("{:?}", b_wr.local_addr().unwrap())
            );
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Readiness and try_*
// ---------------------------------------------------------------------------------------------

#[test]
fn try_read_try_write_and_readiness() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (client, server) = tcp_pair().await;
            let mut buf = [0u8; 16];
            assert_eq!(
                server.try_read(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            // After that WouldBlock, readable() waits for the data.
            let waiter = futures_lite::future::poll_once(server.readable()).await;
            assert!(
                waiter.is_none(),
                "readiness must be cleared after WouldBlock"
            );
            client.writable().await.unwrap();
            assert_eq!(client.try_write(b"abc").unwrap(), 3);
            let n = loop {
                server.readable().await.unwrap();
                match server.try_read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(&buf[..n], b"abc");
            // Peek leaves the bytes in place.
            client
                .try_write_vectored(&[io::IoSlice::new(b"de"), io::IoSlice::new(b"f")])
                .unwrap();
            let n = server.peek(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &b"def"[..n]);
            let mut rest = [0u8; 3];
            (&server).read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"def");
            // Fill the send buffer with try_write until it refuses.
            let chunk = vec![0u8; 256 * 1024];
            let mut sent = 0;
            loop {
                match client.try_write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(sent > 0);
            // Blocked now; draining on the other side makes it writable again.
            let drain = spindle::spawn(async move {
                let mut total = 0;
                let mut buf = vec![0u8; 64 * 1024];
                while total < sent {
                    total += (&server).read(&mut buf).await.unwrap();
                }
                total
            });
            client.writable().await.unwrap();
            assert_eq!(drain.await.unwrap(), sent);
        });
    });
}

#[test]
fn stream_options_round_trip() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (client, _server) = tcp_pair().await;
            client.set_ttl(33).unwrap();
            assert_eq!(client.ttl().unwrap(), 33);
            client.set_linger(Some(Duration::from_secs(2))).unwrap();
            assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(2)));
            client.set_linger(None).unwrap();
            assert_eq!(client.linger().unwrap(), None);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.set_ttl(7).unwrap();
            assert_eq!(listener.ttl().unwrap(), 7);
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Listeners: incoming, TcpSocket, reuseport
// ---------------------------------------------------------------------------------------------

#[test]
fn incoming_accepts_n_connections() {
    const N: usize = 50;
    within(Duration::from_secs(20), || {
        spindle::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let clients = spindle::spawn(async move {
                let mut addrs = BTreeSet::new();
                let mut kept = Vec::new();
                for _ in 0..N {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    addrs.insert(stream.local_addr().unwrap());
                    kept.push(stream);
                }
                (addrs, kept)
            });
            let accepted: Vec<TcpStream> = listener
                .incoming()
                .take(N)
                .map(Result::unwrap)
                .collect()
                .await;
            let peers: BTreeSet<SocketAddr> =
                accepted.iter().map(|s| s.peer_addr().unwrap()).collect();
            let (client_addrs, _kept) = clients.await.unwrap();
            assert_eq!(peers, client_addrs);

            let dir = std::env::temp_dir().join(format!("spindle-incoming-{}", std::process::id()));
            let _ = std::fs::remove_file(&dir);
            let unix = UnixListener::bind(&dir).unwrap();
            let _a = UnixStream::connect(&dir).await.unwrap();
            let _b = UnixStream::connect(&dir).await.unwrap();
            let got: Vec<_> = unix.incoming().take(2).collect().await;
            assert!(got.iter().all(Result::is_ok));
            std::fs::remove_file(&dir).unwrap();
        });
    });
}

/// Two listeners bound to one port with `SO_REUSEPORT`; the kernel spreads 64 connections over
/// them (by a hash of the 4-tuple), so both accept some.
#[test]
fn two_listeners_share_a_port_with_reuseport() {
    const CONNS: usize = 64;
    within(Duration::from_secs(30), || {
        spindle::run(async {
            let first = TcpSocket::new_v4().unwrap();
            first.set_reuseport(true).unwrap();
            first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = first.local_addr().unwrap();
            let second = TcpSocket::new_v4().unwrap();
            second.set_reuseport(true).unwrap();
            second.bind(addr).unwrap();
            let listeners = [first.listen(1024).unwrap(), second.listen(1024).unwrap()];
            let (tx, rx) = async_channel::unbounded();
            let acceptors: Vec<_> = listeners
                .into_iter()
                .enumerate()
                .map(|(id, listener)| {
                    let tx = tx.clone();
                    spindle::spawn(async move {
                        loop {
                            let (_stream, peer) = listener.accept().await.unwrap();
                            tx.send((id, peer)).await.unwrap();
                        }
                    })
                })
                .collect();
            let mut clients = Vec::new();
            for _ in 0..CONNS {
                clients.push(TcpStream::connect(addr).await.unwrap());
            }
            let mut per_listener = [0usize; 2];
            let mut peers = BTreeSet::new();
            for _ in 0..CONNS {
                let (id, peer) = rx.recv().await.unwrap();
                per_listener[id] += 1;
                peers.insert(peer);
            }
            for acceptor in acceptors {
                acceptor.abort();
            }
            let expected: BTreeSet<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
            assert_eq!(peers, expected);
            assert!(
                per_listener[0] > 0 && per_listener[1] > 0,
                "both listeners must accept: {per_listener:?}"
            );
        });
    });
}

#[test]
fn tcp_socket_options_and_connect() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            assert!(socket.reuseaddr().unwrap());
            socket.set_nodelay(true).unwrap();
            socket.set_keepalive(true).unwrap();
            socket.set_recv_buffer_size(128 * 1024).unwrap();
            socket.set_send_buffer_size(128 * 1024).unwrap();
            assert!(socket.recv_buffer_size().unwrap() >= 128 * 1024);
            assert!(socket.send_buffer_size().unwrap() >= 128 * 1024);
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let local = socket.local_addr().unwrap();
            let mut stream = socket
                .connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            assert_eq!(stream.local_addr().unwrap(), local);
            assert!(stream.nodelay().unwrap());
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, local);
            stream.write_all(b"configured").await.unwrap();
            let mut buf = [0u8; 10];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"configured");

            // A refused connect through TcpSocket is an error, not a hang.
            let closed = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let err = TcpSocket::new_v4()
                .unwrap()
                .connect(closed)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        });
    });
}

// ---------------------------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------------------------

#[test]
fn udp_options_round_trip() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for on in [true, false] {
                socket.set_broadcast(on).unwrap();
                assert_eq!(socket.broadcast().unwrap(), on);
                socket.set_multicast_loop_v4(on).unwrap();
                assert_eq!(socket.multicast_loop_v4().unwrap(), on);
            }
            socket.set_ttl(17).unwrap();
            assert_eq!(socket.ttl().unwrap(), 17);
            socket.set_multicast_ttl_v4(3).unwrap();
            assert_eq!(socket.multicast_ttl_v4().unwrap(), 3);
            socket.set_tos(0x28).unwrap();
            assert_eq!(socket.tos().unwrap(), 0x28);
            assert!(socket.take_error().unwrap().is_none());
        });
    });
}

/// A datagram to a multicast group on the loopback interface reaches a member, and no longer
/// does after it left the group.
#[test]
fn udp_multicast_join_and_leave_on_loopback() {
    within(Duration::from_secs(20), || {
        spindle::run(async {
            let group = Ipv4Addr::new(239, 255, 42, 99);
            let member = UdpSocket::bind("0.0.0.0:0").await.unwrap();
            let port = member.local_addr().unwrap().port();
            member
                .join_multicast_v4(group, Ipv4Addr::LOCALHOST)
                .unwrap();
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // Route the group through the loopback interface.
            socket2::SockRef::from(&sender)
                .set_multicast_if_v4(&Ipv4Addr::LOCALHOST)
                .unwrap();
            sender.set_multicast_loop_v4(true).unwrap();
            sender
                .send_to(b"to the group", (group, port))
                .await
                .unwrap();
            let mut buf = [0u8; 32];
            let (n, from) =
                spindle::time::timeout(Duration::from_secs(5), member.recv_from(&mut buf))
                    .await
                    .expect("the multicast datagram did not arrive")
                    .unwrap();
            assert_eq!(&buf[..n], b"to the group");
            assert_eq!(from, sender.local_addr().unwrap());

            member
                .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
                .unwrap();
            sender.send_to(b"again", (group, port)).await.unwrap();
            let late =
                spindle::time::timeout(Duration::from_millis(200), member.recv_from(&mut buf))
                    .await;
            assert!(late.is_err(), "a datagram arrived after leaving the group");
        });
    });
}

#[test]
fn udp_try_peek_and_readiness() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(
                b.try_recv_from(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            a.writable().await.unwrap();
            assert_eq!(a.try_send_to(b"one", b.local_addr().unwrap()).unwrap(), 3);
            a.send_to(b"two", b.local_addr().unwrap()).await.unwrap();
            let (n, from) = b.peek_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()));
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"one");
            let (n, _) = loop {
                b.readable().await.unwrap();
                match b.try_recv_from(&mut buf) {
                    Ok(got) => break got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(&buf[..n], b"two");
            // Connected forms.
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());
            a.try_send(b"c").unwrap();
            assert_eq!(b.peek(&mut buf).await.unwrap(), 1);
            assert_eq!(b.recv(&mut buf).await.unwrap(), 1);
            assert_eq!(
                b.try_recv(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Unix datagrams and abstract names
// ---------------------------------------------------------------------------------------------

#[test]
fn unix_datagram_pair_and_paths() {
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let (a, b) = UnixDatagram::pair().unwrap();
            a.send(b"first").await.unwrap();
            a.try_send(b"second").unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(b.recv(&mut buf).await.unwrap(), 5);
            assert_eq!(&buf[..5], b"first");
            let (n, _) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"second");
            assert_eq!(
                b.try_recv(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );

            let path =
                std::env::temp_dir().join(format!("spindle-dgram-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let server = UnixDatagram::bind(&path).unwrap();
            let client_path =
                std::env::temp_dir().join(format!("spindle-dgram-c-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&client_path);
            let client = UnixDatagram::bind(&client_path).unwrap();
            client.send_to(b"ping", &path).await.unwrap();
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            assert_eq!(from.as_pathname(), Some(client_path.as_path()));
            server
                .send_to(b"pong", from.as_pathname().unwrap())
                .await
                .unwrap();
            assert_eq!(client.recv(&mut buf).await.unwrap(), 4);
            client.shutdown(Shutdown::Both).unwrap();
            std::fs::remove_file(&path).unwrap();
            std::fs::remove_file(&client_path).unwrap();
        });
    });
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_names_for_listeners_streams_and_datagrams() {
    use std::os::linux::net::SocketAddrExt;
    within(Duration::from_secs(10), || {
        spindle::run(async {
            let base = format!("spindle-test-{}", std::process::id());
            // Stream listener + connect.
            let stream_name = format!("\0{base}-stream");
            let listener = UnixListener::bind(&stream_name).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_abstract_name(),
                Some(format!("{base}-stream").as_bytes())
            );
            // No file appeared.
            assert!(!std::path::Path::new(&format!("{base}-stream")).exists());
            let mut client = UnixStream::connect(&stream_name).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"abstract").await.unwrap();
            let mut buf = [0u8; 8];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"abstract");
            // Binding the same abstract name twice fails like a path would.
            assert_eq!(
                UnixListener::bind(&stream_name).unwrap_err().kind(),
                io::ErrorKind::AddrInUse
            );

            // Datagrams: bind, send_to, recv_from (sender name), connect.
            let server_name = format!("\0{base}-dgram-s");
            let client_name = format!("\0{base}-dgram-c");
            let server = UnixDatagram::bind(&server_name).unwrap();
            let client = UnixDatagram::bind(&client_name).unwrap();
            client.send_to(b"hello", &server_name).await.unwrap();
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(
                from.as_abstract_name(),
                Some(format!("{base}-dgram-c").as_bytes())
            );
            server.connect(&client_name).unwrap();
            server.send(b"back").await.unwrap();
            assert_eq!(client.recv(&mut buf).await.unwrap(), 4);
            assert_eq!(server.try_send_to(b"x", &client_name).unwrap(), 1);
            // A name nobody bound: connection refused at once.
            let missing = format!("\0{base}-nobody");
            assert_eq!(
                UnixStream::connect(&missing).await.unwrap_err().kind(),
                io::ErrorKind::ConnectionRefused
            );
        });
    });
}

// ---------------------------------------------------------------------------------------------
// AsyncFd
// ---------------------------------------------------------------------------------------------

/// A non-blocking pipe: `(read end, write end)`.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `pipe2` writes two fds into `fds`, which has room for them.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Reads from an `AsyncFd` the way its docs prescribe (try_io clears after WouldBlock).
async fn read_fd(fd: &AsyncFd<std::fs::File>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        if let Ok(result) = guard.try_io(|inner| inner.get_ref().read(buf)) {
            return result;
        }
    }
}

#[test]
fn async_fd_over_a_pipe_reads_data_and_eof() {
    within(Duration::from_secs(20), || {
        spindle::run(async {
            let (rd, wr) = pipe();
            let reader = AsyncFd::new(std::fs::File::from(rd)).unwrap();
            let mut writer = std::fs::File::from(wr);
            let feeder = std::thread::spawn(move || {
                for i in 0..50u8 {
                    writer.write_all(&[i; 100]).unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Dropping the write end: the reader gets EOF (a hang-up event).
            });
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = read_fd(&reader, &mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            feeder.join().unwrap();
            let expected: Vec<u8> = (0..50u8).flat_map(|i| [i; 100]).collect();
            assert_eq!(got, expected);
            // into_inner deregisters; the fd is still usable.
            let file = reader.into_inner();
            assert_eq!((&file).read(&mut buf).unwrap(), 0);
        });
    });
}

#[test]
fn async_fd_clear_ready_waits_for_the_next_event() {
    within(Duration::from_secs(20), || {
        spindle::run(async {
            // SAFETY: plain eventfd creation; the fd is checked and then owned.
            let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            assert!(raw >= 0, "{}", io::Error::last_os_error());
            // SAFETY: `raw` is a fresh fd owned by nobody else.
            let fd =
                AsyncFd::new(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) })).unwrap();
            let mut counter = [0u8; 8];
            // New: optimistically ready; the read would block; clear.
            {
                let mut guard = fd.readable().await.unwrap();
                assert!(
                    guard
                        .try_io(|inner| inner.get_ref().read(&mut counter))
                        .is_err()
                );
            }
            // Cleared: readable() now waits.
            assert!(
                futures_lite::future::poll_once(fd.readable())
                    .await
                    .is_none()
            );
            let fd = std::sync::Arc::new(fd);
            let poster = {
                let fd = fd.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    fd.get_ref().write_all(&5u64.to_ne_bytes()).unwrap();
                })
            };
            let value = loop {
                let mut guard = fd.readable().await.unwrap();
                if let Ok(result) = guard.try_io(|inner| inner.get_ref().read(&mut counter)) {
                    result.unwrap();
                    break u64::from_ne_bytes(counter);
                }
            };
            poster.join().unwrap();
            assert_eq!(value, 5);
            // Writable guard and retain_ready.
            fd.writable().await.unwrap().retain_ready();
            fd.writable().await.unwrap().retain_ready();
        });
    });
}

#[test]
fn async_fd_errors_are_clear() {
    within(Duration::from_secs(10), || {
        let (rd, _wr) = pipe();
        let err = AsyncFd::new(rd).unwrap_err();
        assert!(err.to_string().contains("spindle runtime"), "{err}");
        spindle::run(async {
            let file = std::env::temp_dir().join(format!("spindle-asyncfd-{}", std::process::id()));
            let regular = std::fs::File::create(&file).unwrap();
            let err = AsyncFd::new(regular).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
            assert!(err.to_string().contains("cannot be polled"), "{err}");
            std::fs::remove_file(&file).unwrap();
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Name resolution
// ---------------------------------------------------------------------------------------------

#[test]
fn lookup_host_resolves_localhost_and_connect_takes_names() {
    within(Duration::from_secs(30), || {
        spindle::run(async {
            let addrs: Vec<SocketAddr> = spindle::net::lookup_host("localhost:80")
                .await
                .unwrap()
                .collect();
            assert!(!addrs.is_empty());
            assert!(
                addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80),
                "{addrs:?}"
            );
            let numeric: Vec<_> = spindle::net::lookup_host("[::1]:9")
                .await
                .unwrap()
                .collect();
            assert_eq!(numeric, ["[::1]:9".parse::<SocketAddr>().unwrap()]);
            let err = spindle::net::lookup_host("localhost").await.err().unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

            // connect/bind with a host name: resolved off the worker, then tried in order.
            let listener = TcpListener::bind("localhost:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let ip = listener.local_addr().unwrap().ip();
            let host = if ip.is_ipv4() { "127.0.0.1" } else { "::1" };
            let name = format!("localhost:{port}");
            let stream = TcpStream::connect(name.as_str()).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            let stream = TcpStream::connect((host, port)).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            let udp = UdpSocket::bind(String::from("localhost:0")).await.unwrap();
            assert!(udp.local_addr().unwrap().ip().is_loopback());
        });
    });
}

#[test]
fn lookup_host_outside_a_runtime_only_fails_for_names() {
    let numeric: Vec<_> = futures_lite::future::block_on(spindle::net::lookup_host("127.0.0.1:1"))
        .unwrap()
        .collect();
    assert_eq!(numeric.len(), 1);
    let err = futures_lite::future::block_on(spindle::net::lookup_host("localhost:1"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("needs a spindle runtime"), "{err}");
}

#[test]
fn new_socket_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<TcpSocket>();
    assert_send_sync::<UnixDatagram>();
    assert_send_sync::<spindle::net::tcp::OwnedReadHalf>();
    assert_send_sync::<spindle::net::tcp::OwnedWriteHalf>();
    assert_send_sync::<spindle::net::unix::OwnedReadHalf>();
    assert_send_sync::<spindle::net::unix::OwnedWriteHalf>();
    assert_send_sync::<AsyncFd<OwnedFd>>();
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&spindle::net::lookup_host("localhost:1"));
    assert_send(&TcpStream::connect("localhost:1"));
}

//! The stream read and write system calls, and what each one proves about its direction
//! ([`Progress`]), so the reactor can skip the `WouldBlock` attempt that would otherwise follow.
//!
//! * **TCP reads on Linux** use `recvmsg(2)` with the `TCP_INQ` option (Linux 4.18+, enabled by
//!   [`enable_inq`] on every TCP socket spindle creates or wraps; accepted sockets inherit it
//!   from their listener). The kernel then attaches, after each read, the number of bytes still
//!   queued, and reports 1 when no byte but a FIN is left. A count of 0 proves the socket
//!   drained *at the moment of the call*: anything that arrives later raises a new edge event,
//!   so clearing read readiness cannot lose data or an EOF. Where the option or the count is
//!   missing (older kernels, other systems) the read proves nothing and behaves as before.
//! * **Short writes** (fewer bytes than offered) on stream sockets prove the send buffer full:
//!   the kernel flags the socket (`SOCK_NOSPACE`) and raises a writable event once room frees
//!   up, so the next write may wait for that event instead of failing with `WouldBlock` first.
//! * A read of 0 bytes into a non-empty buffer is end-of-file: [`Progress::Closed`].

use crate::reactor::io::Progress;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;

/// Asks the kernel to report the bytes left after each TCP read (`TCP_INQ`). Best effort: a
/// kernel without the option just leaves reads unhinted.
pub(crate) fn enable_inq(socket: &impl AsFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let on: libc::c_int = 1;
        // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from `&on`, a live local; the fd
        // is borrowed from an open socket for the duration of the call.
        let _ = unsafe {
            libc::setsockopt(
                socket.as_fd().as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INQ,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = socket;
}

/// Whether `TCP_INQ` is on for `socket` (for tests).
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
pub(crate) fn inq_enabled(socket: &impl AsFd) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `getsockopt` writes at most `len` bytes into `value`, a live local.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INQ,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0 && value != 0
}

/// Reads from a TCP socket into `bufs`; on Linux also learns whether the socket is drained.
pub(crate) fn tcp_read_vectored<S>(
    socket: &S,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<(usize, Progress)>
where
    S: AsFd,
    for<'a> &'a S: Read,
{
    let wanted: usize = bufs.iter().map(|b| b.len()).sum();
    if wanted == 0 {
        // Nothing to learn from an empty read (and it must not be mistaken for EOF).
        return (&mut &*socket)
            .read_vectored(bufs)
            .map(|n| (n, Progress::Unknown));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let (n, inq) = recv_with_inq(socket, bufs)?;
        let progress = match (n, inq) {
            (0, _) => Progress::Closed,
            (_, Some(0)) => Progress::Drained,
            _ => Progress::Unknown,
        };
        Ok((n, progress))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let n = (&mut &*socket).read_vectored(bufs)?;
        Ok((
            n,
            if n == 0 {
                Progress::Closed
            } else {
                Progress::Unknown
            },
        ))
    }
}

/// [`tcp_read_vectored`] for one buffer.
#[cfg(test)]
pub(crate) fn tcp_read<S>(socket: &S, buf: &mut [u8]) -> io::Result<(usize, Progress)>
where
    S: AsFd,
    for<'a> &'a S: Read,
{
    tcp_read_vectored(socket, &mut [IoSliceMut::new(buf)])
}

/// A plain stream read: only end-of-file is learned.
pub(crate) fn stream_read_vectored<S>(
    socket: &S,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<(usize, Progress)>
where
    for<'a> &'a S: Read,
{
    let wanted: usize = bufs.iter().map(|b| b.len()).sum();
    let n = (&mut &*socket).read_vectored(bufs)?;
    let progress = if n == 0 && wanted > 0 {
        Progress::Closed
    } else {
        Progress::Unknown
    };
    Ok((n, progress))
}

/// [`tcp_read_vectored`] into one possibly uninitialized buffer (hyper's and tokio's read
/// buffers, `integrations/uninit.rs`). On success the first `n` bytes of `buf` are initialized;
/// nothing else in `buf` is written.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
pub(crate) fn tcp_read_uninit<S: AsFd>(
    socket: &S,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<(usize, Progress)> {
    if buf.is_empty() {
        return Ok((0, Progress::Unknown));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `iov` is one valid `iovec` describing `buf`, which is writable (uninitialized
        // bytes may be written) and outlives the call.
        let (n, inq) = unsafe { recvmsg_with_inq(socket, &mut iov, 1)? };
        let progress = match (n, inq) {
            (0, _) => Progress::Closed,
            (_, Some(0)) => Progress::Drained,
            _ => Progress::Unknown,
        };
        Ok((n, progress))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    stream_read_uninit(socket, buf)
}

/// [`stream_read_vectored`] into one possibly uninitialized buffer: socket2's `recv` takes
/// `&mut [MaybeUninit<u8>]` and initializes exactly the bytes it reports.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
pub(crate) fn stream_read_uninit<S: AsFd>(
    socket: &S,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<(usize, Progress)> {
    let wanted = buf.len();
    let n = socket2::SockRef::from(socket).recv(buf)?;
    let progress = if n == 0 && wanted > 0 {
        Progress::Closed
    } else {
        Progress::Unknown
    };
    Ok((n, progress))
}

/// A stream write: a short one proves the send buffer full.
pub(crate) fn stream_write_vectored<S>(
    socket: &S,
    bufs: &[IoSlice<'_>],
) -> io::Result<(usize, Progress)>
where
    for<'a> &'a S: Write,
{
    let offered: usize = bufs.iter().map(|b| b.len()).sum();
    let n = (&mut &*socket).write_vectored(bufs)?;
    Ok((n, write_progress(n, offered)))
}

/// [`stream_write_vectored`] for one buffer.
pub(crate) fn stream_write<S>(socket: &S, buf: &[u8]) -> io::Result<(usize, Progress)>
where
    for<'a> &'a S: Write,
{
    let n = (&mut &*socket).write(buf)?;
    Ok((n, write_progress(n, buf.len())))
}

fn write_progress(written: usize, offered: usize) -> Progress {
    if written < offered {
        Progress::Drained
    } else {
        Progress::Unknown
    }
}

/// Accepts a connection as a non-blocking, close-on-exec socket in one call (`accept4` where
/// the system has it; `accept` + `set_nonblocking` elsewhere).
pub(crate) fn accept_tcp(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, std::net::SocketAddr)> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    ))]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: `try_init` hands us storage and its length for the peer address; `accept4`
        // writes at most that many bytes and the new length. The returned fd is fresh and owned
        // by nobody else, so `OwnedFd` may take it.
        let (fd, peer) = unsafe {
            socket2::SockAddr::try_init(|storage, len| {
                let fd = libc::accept4(
                    listener.as_raw_fd(),
                    storage.cast(),
                    len,
                    libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                );
                if fd < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(std::os::fd::OwnedFd::from_raw_fd(fd))
                }
            })?
        };
        let peer = peer.as_socket().ok_or_else(|| {
            io::Error::other("accept returned a peer address that is not an IP address")
        })?;
        Ok((std::net::TcpStream::from(fd), peer))
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    )))]
    {
        let (stream, peer) = listener.accept()?;
        stream.set_nonblocking(true)?;
        Ok((stream, peer))
    }
}

/// `recvmsg` with room for the `TCP_CM_INQ` control message: the byte count and, when the
/// kernel attached one, the bytes left in the receive queue (1 if only a FIN is left).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn recv_with_inq(
    socket: &impl AsFd,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<(usize, Option<i32>)> {
    // SAFETY: `IoSliceMut` is guaranteed ABI-compatible with `iovec` on Unix, and each entry
    // describes an initialized, writable buffer that outlives the call.
    unsafe { recvmsg_with_inq(socket, bufs.as_mut_ptr().cast(), bufs.len()) }
}

/// The `recvmsg` of [`recv_with_inq`], over raw `iovec`s (which may point at uninitialized
/// memory: the kernel only stores the bytes it receives, and reports how many).
///
/// # Safety
///
/// `iov` must point at `iovlen` valid `iovec`s, each describing memory writable for the
/// duration of the call.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn recvmsg_with_inq(
    socket: &impl AsFd,
    iov: *mut libc::iovec,
    iovlen: usize,
) -> io::Result<(usize, Option<i32>)> {
    /// Room for one `cmsghdr` carrying an `int`, aligned for `cmsghdr`.
    #[repr(C, align(8))]
    struct Control([u8; 32]);
    const _: () = assert!(std::mem::align_of::<Control>() >= std::mem::align_of::<libc::cmsghdr>());

    let mut control = Control([0; 32]);
    // SAFETY: `CMSG_SPACE` is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    debug_assert!(space <= control.0.len());
    // SAFETY: an all-zero `msghdr` is a valid value (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = iovlen as _;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` points at the caller's `iov` (valid, writable, `msg_iovlen` entries, per
    // this function's contract) and at `control` (writable, `msg_controllen` bytes), all of
    // which outlive the call; the fd is borrowed from an open socket.
    let n = unsafe { libc::recvmsg(socket.as_fd().as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut inq = None;
    // SAFETY: the kernel filled `msg_control`/`msg_controllen` with well-formed control
    // messages inside `control`; the CMSG_* macros only walk within `msg_controllen`, and the
    // data of a `TCP_CM_INQ` message is one `int` (read unaligned to be safe).
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_TCP && (*cmsg).cmsg_type == libc::TCP_CM_INQ {
                inq = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<libc::c_int>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, inq))
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// Waits (blocking) until `socket` has something to read.
    fn wait_readable(socket: &TcpStream) {
        let mut probe = [0u8; 1];
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match socket.peek(&mut probe) {
                Ok(_) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "nothing arrived");
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn inq_proves_drained_partial_and_fin() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        enable_inq(&listener);
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        // Inherited from the listener.
        assert!(inq_enabled(&server));
        server.set_nonblocking(true).unwrap();

        client.write_all(b"hello").unwrap();
        wait_readable(&server);
        let mut small = [0u8; 3];
        // Part of the data: more is left.
        assert_eq!(
            tcp_read(&server, &mut small).unwrap(),
            (3, Progress::Unknown)
        );
        let mut big = [0u8; 64];
        // The rest, exactly: drained.
        assert_eq!(tcp_read(&server, &mut big).unwrap(), (2, Progress::Drained));
        assert_eq!(&big[..2], b"lo");

        // Data and FIN together: the short read must NOT count as drained.
        client.write_all(b"bye").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        wait_readable(&server);
        assert_eq!(tcp_read(&server, &mut big).unwrap(), (3, Progress::Unknown));
        assert_eq!(tcp_read(&server, &mut big).unwrap(), (0, Progress::Closed));
        // An empty buffer is never taken for EOF.
        assert_eq!(tcp_read(&server, &mut []).unwrap(), (0, Progress::Unknown));
    }

    #[test]
    fn short_write_is_drained() {
        assert_eq!(write_progress(3, 5), Progress::Drained);
        assert_eq!(write_progress(5, 5), Progress::Unknown);
        assert_eq!(write_progress(0, 0), Progress::Unknown);
    }
}

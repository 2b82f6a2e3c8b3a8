//! Reads from spindle's own sockets straight into uninitialized memory.
//!
//! hyper's and tokio's read buffers are `MaybeUninit<u8>`; `futures_io::AsyncRead` wants an
//! initialized `&mut [u8]`, so a generic adapter has to zero the buffer before every read. For
//! spindle's `TcpStream` and `UnixStream` the kernel can write into the uninitialized memory
//! directly (`recv` through socket2, which takes `&mut [MaybeUninit<u8>]` and initializes exactly
//! the bytes it reports), saving a memset of the whole buffer per read.
//!
//! Generic adapters (`SpindleIo<T>`) find out whether `T` is one of these sockets by type id.
//! Without specialization that is the only way to pick a faster path for some `T` while keeping
//! one blanket impl; `typeid::of` also works for non-`'static` `T` (it ignores lifetimes, which
//! these socket types do not have, so equal ids mean equal types).

use crate::net::TcpStream;
#[cfg(unix)]
use crate::net::UnixStream;
#[cfg(feature = "hyper")]
use std::any::TypeId;
use std::io;
use std::mem::MaybeUninit;
use std::task::{Context, Poll};

/// A socket that can receive into uninitialized memory.
pub(crate) trait UninitRead {
    /// Like `AsyncRead::poll_read`, but into `buf`'s uninitialized bytes. On `Ready(Ok(n))`
    /// the first `n` bytes of `buf` are initialized (and `n <= buf.len()`); nothing else in
    /// `buf` is written, so initialized bytes never become uninitialized.
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

impl UninitRead for TcpStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.poll_recv_uninit(cx, buf)
    }
}

#[cfg(unix)]
impl UninitRead for UnixStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.poll_recv_uninit(cx, buf)
    }
}

/// Checks the count a `futures_io` reader returned: more than it was given would make hyper's
/// (or tokio's) buffer claim bytes that were never written.
#[track_caller]
pub(crate) fn checked_count(n: usize, len: usize) -> usize {
    assert!(
        n <= len,
        "AsyncRead::poll_read returned {n} for a buffer of {len} bytes (a bug in that reader)"
    );
    n
}

#[cfg(feature = "hyper")]
/// `io` as a spindle socket, when `T` is `TcpStream` or `UnixStream`.
pub(crate) fn spindle_socket<T>(io: &T) -> Option<&dyn UninitRead> {
    let id = typeid::of::<T>();
    if id == TypeId::of::<TcpStream>() {
        // SAFETY: `T` is `TcpStream`: `typeid::of` equals `TypeId::of` for types without
        // lifetimes, and `TcpStream` has none, so the ids are equal only for that one type.
        // The pointer comes from a valid `&T`, so it is a valid `&TcpStream` for the same
        // lifetime.
        return Some(unsafe { &*(io as *const T).cast::<TcpStream>() });
    }
    #[cfg(unix)]
    if id == TypeId::of::<UnixStream>() {
        // SAFETY: as above, with `UnixStream`.
        return Some(unsafe { &*(io as *const T).cast::<UnixStream>() });
    }
    None
}

#[cfg(feature = "hyper")]
/// Whether `T` is one of spindle's sockets (for which vectored writes are one `writev`).
pub(crate) fn is_spindle_socket<T>() -> bool {
    let id = typeid::of::<T>();
    #[cfg(unix)]
    if id == TypeId::of::<UnixStream>() {
        return true;
    }
    id == TypeId::of::<TcpStream>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "hyper")]
    #[test]
    fn only_spindle_sockets_are_recognized() {
        assert!(is_spindle_socket::<TcpStream>());
        assert!(is_spindle_socket::<UnixStream>());
        assert!(!is_spindle_socket::<&TcpStream>());
        assert!(!is_spindle_socket::<std::net::TcpStream>());
        assert!(!is_spindle_socket::<Vec<u8>>());
        assert!(spindle_socket(&5u32).is_none());
        let slice: &[u8] = b"not a socket";
        assert!(spindle_socket(&slice).is_none());
    }

    #[test]
    fn reads_into_uninitialized_memory() {
        use futures_lite::AsyncWriteExt;
        crate::run(async {
            let (mut a, b) = {
                let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
                (
                    UnixStream::from_std(a).unwrap(),
                    UnixStream::from_std(b).unwrap(),
                )
            };
            a.write_all(b"uninit").await.unwrap();
            let socket: &dyn UninitRead = &b;
            let mut storage = [MaybeUninit::<u8>::uninit(); 16];
            let n = std::future::poll_fn(|cx| socket.poll_read_uninit(cx, &mut storage))
                .await
                .unwrap();
            assert_eq!(n, 6);
            // SAFETY: `poll_read_uninit` initialized the first `n` bytes.
            let got = unsafe { std::slice::from_raw_parts(storage.as_ptr().cast::<u8>(), n) };
            assert_eq!(got, b"uninit");
        });
    }
}

//! The readiness guards of [`AsyncFd`]: what `readable()` / `writable()` return, with
//! `clear_ready` (after `WouldBlock`), `retain_ready` and `try_io`.

use super::AsyncFd;
use crate::reactor::io::Direction;
use std::fmt;
use std::io;
use std::os::fd::AsFd;

/// Readiness of an [`AsyncFd`] observed by `readable()` / `writable()`. Dropping the guard
/// keeps the readiness; [`clear_ready`](Self::clear_ready) (after `WouldBlock`) forgets it.
///
/// # Examples
///
/// ```
/// use spindle::net::AsyncFd;
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// spindle::run(async move {
///     let fd = AsyncFd::new(a).unwrap();
///     let guard = fd.writable().await.unwrap();
///     assert_eq!(guard.get_inner().local_addr().unwrap().is_unnamed(), true);
/// });
/// ```
#[must_use = "a readiness guard should be used (try_io) or cleared after WouldBlock"]
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    pub(super) fd: &'a AsyncFd<T>,
    pub(super) dir: Direction,
    pub(super) tick: usize,
}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness this guard observed: the next `readable()`/`writable()` waits for
    /// a new event. Call it only after an operation returned `WouldBlock` (see the
    /// [`AsyncFd` docs](AsyncFd#edge-triggered-readiness)); if an event arrived since the guard was made, its readiness is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Read;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     // A new fd counts as ready; nothing was written, so the read would block.
    ///     let mut guard = fd.readable().await.unwrap();
    ///     let err = fd.get_ref().read(&mut [0u8; 1]).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     guard.clear_ready();
    /// });
    /// ```
    pub fn clear_ready(&mut self) {
        self.fd.io.clear_readiness(self.dir, self.tick);
    }

    /// Keeps the readiness (the same as dropping the guard): the next wait returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     fd.writable().await.unwrap().retain_ready();
    ///     fd.writable().await.unwrap().retain_ready(); // immediately ready again
    /// });
    /// ```
    pub fn retain_ready(self) {}

    /// Runs `f` (a non-blocking operation on the fd). If it returns `WouldBlock`, the
    /// readiness is cleared and `Err(TryIoError)` says "wait again"; any other result is
    /// returned in `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Read;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.readable().await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     assert!(guard.try_io(|inner| inner.get_ref().read(&mut buf)).is_err());
    /// });
    /// ```
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`] this guard belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let guard = fd.writable().await.unwrap();
    ///     assert!(std::ptr::eq(guard.get_ref(), &fd));
    /// });
    /// ```
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The object inside the [`AsyncFd`].
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let guard = fd.writable().await.unwrap();
    ///     assert!(guard.get_inner().peer_addr().is_ok());
    /// });
    /// ```
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("direction", &self.dir)
            .finish_non_exhaustive()
    }
}

/// [`AsyncFdReadyGuard`] for `readable_mut()` / `writable_mut()`: lends `&mut AsyncFd`.
///
/// # Examples
///
/// ```
/// use spindle::net::AsyncFd;
/// use std::io::Write;
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// spindle::run(async move {
///     let mut fd = AsyncFd::new(a).unwrap();
///     let mut guard = fd.writable_mut().await.unwrap();
///     assert_eq!(guard.get_inner_mut().write(b"m").unwrap(), 1);
/// });
/// ```
#[must_use = "a readiness guard should be used (try_io) or cleared after WouldBlock"]
pub struct AsyncFdReadyMutGuard<'a, T: AsFd> {
    pub(super) fd: &'a mut AsyncFd<T>,
    pub(super) dir: Direction,
    pub(super) tick: usize,
}

impl<T: AsFd> AsyncFdReadyMutGuard<'_, T> {
    /// Forgets the observed readiness (only after `WouldBlock`; see
    /// [`AsyncFdReadyGuard::clear_ready`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Read;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.readable_mut().await.unwrap();
    ///     assert!(guard.get_inner_mut().read(&mut [0u8; 1]).is_err()); // WouldBlock
    ///     guard.clear_ready();
    /// });
    /// ```
    pub fn clear_ready(&mut self) {
        self.fd.io.clear_readiness(self.dir, self.tick);
    }

    /// Keeps the readiness (the same as dropping the guard).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     fd.writable_mut().await.unwrap().retain_ready();
    /// });
    /// ```
    pub fn retain_ready(self) {}

    /// Runs `f` with `&mut AsyncFd`; `WouldBlock` clears the readiness and becomes
    /// `Err(TryIoError)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable_mut().await.unwrap();
    ///     let n = guard.try_io(|inner| inner.get_mut().write(b"ok")).unwrap().unwrap();
    ///     assert_eq!(n, 2);
    /// });
    /// ```
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`] this guard belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let guard = fd.writable_mut().await.unwrap();
    ///     assert!(guard.get_ref().get_ref().peer_addr().is_ok());
    /// });
    /// ```
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The [`AsyncFd`] this guard belongs to, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable_mut().await.unwrap();
    ///     assert!(guard.get_mut().get_mut().peer_addr().is_ok());
    /// });
    /// ```
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The object inside the [`AsyncFd`].
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let guard = fd.writable_mut().await.unwrap();
    ///     assert!(guard.get_inner().local_addr().is_ok());
    /// });
    /// ```
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The object inside the [`AsyncFd`], mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable_mut().await.unwrap();
    ///     guard.get_inner_mut().flush().unwrap();
    /// });
    /// ```
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("direction", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The error of [`AsyncFdReadyGuard::try_io`]: the operation returned `WouldBlock`, the
/// readiness was cleared, and the caller should wait for readiness again.
///
/// # Examples
///
/// ```
/// use spindle::net::{AsyncFd, TryIoError};
/// use std::io::Read;
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// spindle::run(async move {
///     let fd = AsyncFd::new(a).unwrap();
///     let mut guard = fd.readable().await.unwrap();
///     let err: TryIoError = guard.try_io(|i| i.get_ref().read(&mut [0u8; 1])).unwrap_err();
///     assert_eq!(format!("{err:?}"), "TryIoError(())");
/// });
/// ```
#[derive(Debug)]
pub struct TryIoError(());

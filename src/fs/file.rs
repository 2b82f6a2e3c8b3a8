//! `File`: an open file whose reads, writes and seeks run on the blocking-I/O lane, buffered
//! so that small operations do not each cost a trip (the state machine is in `state.rs`).

use super::state::{Inner, SharedFile, write_behind_on_drop};
use super::{OpenOptions, asyncify, with_path};
use crate::loom::sync::StdArc;
use crate::runtime::Handle;
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An open file, for async code: `std::fs::File` on the runtime's blocking-I/O lane, with
/// [`futures_io`]'s `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and `AsyncSeek` (use them
/// through the extension traits in [`spindle::io`](crate::io), or `futures`').
///
/// ```
/// use spindle::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// spindle::run(async {
///     let path = std::env::temp_dir().join(format!("spindle-file-doc-{}", std::process::id()));
///     let mut file = spindle::fs::File::create(&path).await?;
///     file.write_all(b"hello, lane").await?;
///     file.flush().await?; // the bytes reach the OS here (or on drop, in the background)
///
///     let mut file = spindle::fs::File::open(&path).await?;
///     file.seek(SeekFrom::Start(7)).await?;
///     let mut tail = String::new();
///     file.read_to_string(&mut tail).await?;
///     assert_eq!(tail, "lane");
///     spindle::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
///
/// # Buffering
///
/// Only one operation is in flight per file at a time, and each one is a trip to the lane
/// (a job on another thread), so the file buffers in both directions:
///
/// * **Reads** fetch at least the buffer size (128 KiB by default, see
///   [`set_buffer_size`](File::set_buffer_size)) per trip, or the caller's whole buffer if it
///   is larger, and serve smaller reads from memory. While reads stay sequential and each trip
///   comes back full, the next trip asks for twice as much (up to 512 KiB) and is started at
///   once, in the background, while the caller consumes the current chunk (only for seekable
///   files: a background read from a pipe or a terminal could wait for input nobody asked
///   for). Reading a 1 MiB file with 8 KiB reads costs 4 trips (128 + 256 + 512 KiB + the
///   rest), not 128, and the caller rarely waits for one. A short read at the end of a regular
///   file also reports end-of-file without another trip. A sequential reader holds up to two
///   buffers (1 MiB with the defaults).
/// * **Writes** are copied into the buffer and return at once. They reach the OS when the
///   buffer is full (that part leaves immediately, in the background), and on
///   [`flush`](futures_io::AsyncWrite::poll_flush) / `close`, a seek, a read, `sync_all`,
///   `sync_data`, `set_len`, `metadata`, `try_clone` or `into_std`. An error from a write made
///   in the background is returned by the next write, flush or seek.
/// * **Seeks** account for both: a seek (`SeekFrom::Current` included) moves from the logical
///   position, not the OS one; a seek that lands inside the read-ahead costs no trip; pending
///   writes are written before the seek, in the same trip.
///
/// The read-ahead means the OS file position runs ahead of this `File`'s: a `try_clone` or
/// `into_std` gives the read-ahead back first, but another handle to the same open file
/// (a `std` clone made elsewhere) sees the OS position, as with `std::io::BufReader`.
///
/// # Dropping a `File` with unwritten data
///
/// Like tokio's `File`, a `File` dropped without a flush still writes what it accepted: the
/// pending bytes are written **in the background** on the lane, and the file is closed when
/// that write is done. That write also survives runtime shutdown (the runtime waits for it like
/// for any running lane job); if the file is dropped outside any runtime, or after its runtime
/// shut down, the bytes are written right away on the dropping thread. What cannot be had on
/// drop is the write's **error**: nobody is left to report it to. Call `flush().await` (or
/// [`sync_all`](File::sync_all) for durability) when the outcome matters.
///
/// An operation in flight when the file is dropped (a read, a seek, a write) runs to its end,
/// then the file is closed.
///
/// # Receivers
///
/// The I/O traits take `&mut self`. The inherent methods that must first let the in-flight
/// operation finish and write what is pending (`sync_all`, `set_len`, `metadata`, ...) take
/// `&self`, like tokio's, and wait on an async lock for each other.
pub struct File {
    std: SharedFile,
    inner: async_lock::Mutex<Inner>,
}

impl File {
    /// Opens a file for reading ([`std::fs::File::open`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let err = spindle::fs::File::open("/no/such/file").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().starts_with("failed to open /no/such/file: "));
    /// });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        asyncify("spindle::fs::File::open", move || {
            std::fs::File::open(&path).map_err(|e| with_path("open", &path, e))
        })
        .await
        .map(File::from_std)
    }

    /// Opens a file for writing, creating it or truncating it ([`std::fs::File::create`]).
    ///
    /// ```
    /// use spindle::io::AsyncWriteExt;
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-create-{}", std::process::id()));
    ///     let mut file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.write_all(b"new").await.unwrap();
    ///     file.flush().await.unwrap();
    ///     assert_eq!(spindle::fs::read(&path).await.unwrap(), b"new");
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        asyncify("spindle::fs::File::create", move || {
            std::fs::File::create(&path).map_err(|e| with_path("create", &path, e))
        })
        .await
        .map(File::from_std)
    }

    /// Creates a new file for reading and writing; fails with `AlreadyExists` if the path
    /// exists ([`std::fs::File::create_new`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-create-new-{}", std::process::id()));
    ///     let _file = spindle::fs::File::create_new(&path).await.unwrap();
    ///     let err = spindle::fs::File::create_new(&path).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        asyncify("spindle::fs::File::create_new", move || {
            std::fs::File::create_new(&path).map_err(|e| with_path("create", &path, e))
        })
        .await
        .map(File::from_std)
    }

    /// A blank [`OpenOptions`], to choose the access mode (same as [`OpenOptions::new`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-options-{}", std::process::id()));
    ///     let file = spindle::fs::File::options().create(true).append(true).open(&path).await;
    ///     assert!(file.is_ok());
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Works anywhere; the operations then need a runtime.
    ///
    /// ```
    /// let std_file = std::fs::File::open("/proc/self/status").unwrap();
    /// let file = spindle::fs::File::from_std(std_file);
    /// spindle::run(async move { assert!(file.metadata().await.unwrap().is_file()) });
    /// ```
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: StdArc::new(std),
            inner: async_lock::Mutex::new(Inner::new()),
        }
    }

    /// The `std::fs::File`, after the in-flight operation finished, pending writes were
    /// written and the read-ahead was given back (so its position is this file's). A write
    /// error at that point is lost: flush first to see it.
    ///
    /// ```
    /// use std::io::Read;
    /// use spindle::io::AsyncReadExt;
    /// spindle::run(async {
    ///     let mut file = spindle::fs::File::open("/proc/self/status").await.unwrap();
    ///     let mut head = [0u8; 5];
    ///     file.read_exact(&mut head).await.unwrap(); // 128 KiB read ahead
    ///     let mut std_file = file.into_std().await;
    ///     let mut next = [0u8; 1];
    ///     std_file.read_exact(&mut next).unwrap(); // continues right after "Name:"
    ///     assert_eq!((&head, &next), (b"Name:", b"\t"));
    /// });
    /// ```
    pub async fn into_std(mut self) -> std::fs::File {
        let _ = poll_fn(|cx| self.inner.get_mut().poll_settle(cx, &self.std, true)).await;
        self.unwrap_std()
    }

    /// The `std::fs::File` if nothing is buffered or in flight (so the conversion loses
    /// nothing), otherwise the `File` back.
    ///
    /// ```
    /// spindle::run(async {
    ///     let file = spindle::fs::File::open("/proc/self/status").await.unwrap();
    ///     let std_file = file.try_into_std().unwrap();
    ///     assert!(std_file.metadata().unwrap().is_file());
    /// });
    /// ```
    // tokio's shape: the `File` comes back as it was; boxing it would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        if self.inner.get_mut().is_settled() && StdArc::strong_count(&self.std) == 1 {
            Ok(self.unwrap_std())
        } else {
            Err(self)
        }
    }

    fn unwrap_std(self) -> std::fs::File {
        let std = self.std.clone();
        drop(self); // settled, so its drop has nothing to write
        StdArc::try_unwrap(std).unwrap_or_else(|shared| {
            // A `&self` method's job whose future was dropped may still hold the file for a
            // moment: hand out a duplicate of the descriptor (same open file, same position).
            shared
                .try_clone()
                .expect("spindle::fs::File::into_std: could not duplicate the file descriptor")
        })
    }

    /// Writes what is pending, then flushes the file's data and metadata to the device
    /// ([`std::fs::File::sync_all`]).
    ///
    /// ```
    /// use spindle::io::AsyncWriteExt;
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-sync-{}", std::process::id()));
    ///     let mut file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.write_all(b"durable").await.unwrap();
    ///     file.sync_all().await.unwrap(); // written and on disk
    ///     assert_eq!(spindle::fs::read(&path).await.unwrap(), b"durable");
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn sync_all(&self) -> io::Result<()> {
        self.settled("spindle::fs::File::sync_all", false, |f| f.sync_all())
            .await
    }

    /// Like [`sync_all`](File::sync_all), without flushing metadata that is not needed to read
    /// the data back ([`std::fs::File::sync_data`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-sync-data-{}", std::process::id()));
    ///     let file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.sync_data().await.unwrap();
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn sync_data(&self) -> io::Result<()> {
        self.settled("spindle::fs::File::sync_data", false, |f| f.sync_data())
            .await
    }

    /// Truncates or extends the file to `size` bytes, after writing what is pending
    /// ([`std::fs::File::set_len`]). The position does not move.
    ///
    /// ```
    /// use spindle::io::AsyncWriteExt;
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-set-len-{}", std::process::id()));
    ///     let mut file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.write_all(b"0123456789").await.unwrap();
    ///     file.set_len(4).await.unwrap();
    ///     assert_eq!(file.metadata().await.unwrap().len(), 4);
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.settled("spindle::fs::File::set_len", true, move |f| f.set_len(size))
            .await
    }

    /// The file's metadata, after writing what is pending (so its length counts every byte
    /// written before the call).
    ///
    /// ```
    /// use spindle::io::AsyncWriteExt;
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-file-meta-{}", std::process::id()));
    ///     let mut file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.write_all(b"12345").await.unwrap(); // buffered...
    ///     assert_eq!(file.metadata().await.unwrap().len(), 5); // ...and counted
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.settled("spindle::fs::File::metadata", false, |f| f.metadata())
            .await
    }

    /// A new `File` for the same open file (shared position), after writing what is pending
    /// and giving back the read-ahead ([`std::fs::File::try_clone`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let file = spindle::fs::File::open("/proc/self/status").await.unwrap();
    ///     let other = file.try_clone().await.unwrap();
    ///     assert!(other.metadata().await.unwrap().is_file());
    /// });
    /// ```
    pub async fn try_clone(&self) -> io::Result<File> {
        self.settled("spindle::fs::File::try_clone", true, |f| f.try_clone())
            .await
            .map(File::from_std)
    }

    /// Changes the file's permissions ([`std::fs::File::set_permissions`]).
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// spindle::run(async {
    ///     let path = std::env::temp_dir().join(format!("spindle-file-chmod-{}", std::process::id()));
    ///     let file = spindle::fs::File::create(&path).await.unwrap();
    ///     file.set_permissions(std::fs::Permissions::from_mode(0o640)).await.unwrap();
    ///     assert_eq!(file.metadata().await.unwrap().permissions().mode() & 0o777, 0o640);
    ///     spindle::fs::remove_file(&path).await.unwrap();
    /// });
    /// ```
    pub async fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        let file = self.std.clone();
        asyncify("spindle::fs::File::set_permissions", move || {
            file.set_permissions(permissions)
        })
        .await
    }

    /// Sets how much one trip to the lane reads ahead (at least; it doubles, up to 512 KiB,
    /// while reads stay sequential), and how many written bytes accumulate before they leave
    /// (default 128 KiB). `0` turns buffering off: each read asks for
    /// exactly the caller's buffer and each write is its own trip, like tokio's `File`. Takes
    /// effect from the next trip.
    ///
    /// ```
    /// use spindle::io::AsyncReadExt;
    /// spindle::run(async {
    ///     let mut file = spindle::fs::File::open("/proc/self/status").await.unwrap();
    ///     file.set_buffer_size(1024 * 1024); // large sequential reads: fewer trips
    ///     let mut text = String::new();
    ///     file.read_to_string(&mut text).await.unwrap();
    ///     assert!(text.starts_with("Name:"));
    /// });
    /// ```
    pub fn set_buffer_size(&mut self, bytes: usize) {
        self.inner.get_mut().set_buffer_size(bytes);
    }

    /// Waits for the in-flight operation, writes what is pending (and, with `rewind`, gives
    /// back the read-ahead), then runs `op` on the lane, holding the lock throughout.
    async fn settled<T, F>(&self, what: &'static str, rewind: bool, op: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let mut inner = self.inner.lock().await;
        poll_fn(|cx| inner.poll_settle(cx, &self.std, rewind)).await?;
        let file = self.std.clone();
        let result = asyncify(what, move || op(&file)).await;
        drop(inner);
        result
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // An operation in flight is detached with its JoinHandle and runs to its end.
        if let Some(pending) = self.inner.get_mut().take_pending_write() {
            write_behind_on_drop(Handle::try_current(), self.std.clone(), pending);
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &*self.std)
            .finish_non_exhaustive()
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.inner.get_mut().poll_read(cx, &this.std, buf)
    }
}

impl futures_io::AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        this.inner.get_mut().poll_fill_buf(cx, &this.std)
    }

    fn consume(self: Pin<&mut Self>, amount: usize) {
        self.get_mut().inner.get_mut().consume(amount);
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.inner.get_mut().poll_write(cx, &this.std, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.inner.get_mut().poll_flush(cx, &this.std)
    }

    /// Flushes; the file is closed when the `File` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        this.inner.get_mut().poll_seek(cx, &this.std, pos)
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

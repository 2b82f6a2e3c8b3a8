//! `read_dir`: a directory listing as a stream, fetched from the blocking-I/O lane in batches.
//!
//! Each trip to the lane reads up to 64 entries (the first trip also opens the directory), and
//! records each entry's file type where the OS hands it out with the name (`d_type` on Linux),
//! so `DirEntry::file_type` usually costs no trip.

use super::{asyncify, current_handle, lost, with_path};
use crate::loom::sync::StdArc;
use crate::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{Future, poll_fn};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Entries read per trip to the lane.
const BATCH: usize = 64;

type Batch = (VecDeque<io::Result<DirEntry>>, Option<std::fs::ReadDir>);

/// Lists a directory: a [`ReadDir`] stream of its entries, in the order the OS returns them,
/// without `.` and `..` ([`std::fs::read_dir`]).
///
/// ```
/// use futures_lite::StreamExt;
///
/// spindle::run(async {
///     let dir = std::env::temp_dir().join(format!("spindle-read-dir-{}", std::process::id()));
///     spindle::fs::create_dir(&dir).await?;
///     for name in ["b", "a", "c"] {
///         spindle::fs::write(dir.join(name), name).await?;
///     }
///     let mut names: Vec<_> = spindle::fs::read_dir(&dir)
///         .await?
///         .map(|entry| entry.map(|e| e.file_name()))
///         .try_collect::<_, _, Vec<_>>()
///         .await?;
///     names.sort();
///     assert_eq!(names, ["a", "b", "c"]);
///     spindle::fs::remove_dir_all(&dir).await
/// })
/// .unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: StdArc<Path> = path.as_ref().into();
    let dir = path.clone();
    let (entries, rest) = asyncify("spindle::fs::read_dir", move || {
        let std = std::fs::read_dir(&dir).map_err(|e| with_path("read directory", &dir, e))?;
        Ok(next_batch(std, &dir))
    })
    .await?;
    Ok(ReadDir {
        path,
        state: State::Idle { entries, rest },
    })
}

/// Reads up to [`BATCH`] entries; the `ReadDir` comes back unless it is exhausted.
fn next_batch(mut std: std::fs::ReadDir, dir: &Path) -> Batch {
    let mut entries = VecDeque::with_capacity(BATCH);
    for _ in 0..BATCH {
        match std.next() {
            Some(Ok(entry)) => entries.push_back(Ok(DirEntry::new(entry))),
            Some(Err(e)) => entries.push_back(Err(with_path("read directory", dir, e))),
            None => return (entries, None),
        }
    }
    (entries, Some(std))
}

/// The entries of a directory, from [`read_dir`]: a [`futures_core::Stream`] of
/// `io::Result<DirEntry>`, or call [`next_entry`](ReadDir::next_entry) in a loop. Dropping it
/// closes the directory (after the batch in flight, if any, is read).
///
/// ```
/// use futures_lite::StreamExt;
/// spindle::run(async {
///     let mut dirs = 0;
///     let mut entries = spindle::fs::read_dir("/").await.unwrap();
///     while let Some(entry) = entries.next().await {
///         dirs += entry.unwrap().file_type().await.unwrap().is_dir() as usize;
///     }
///     assert!(dirs > 0);
/// });
/// ```
pub struct ReadDir {
    path: StdArc<Path>,
    state: State,
}

enum State {
    /// Entries fetched and not yet handed out; `rest` is `None` once the OS listing is done.
    Idle {
        entries: VecDeque<io::Result<DirEntry>>,
        rest: Option<std::fs::ReadDir>,
    },
    /// The next batch is being read on the lane.
    Busy(JoinHandle<Batch>),
}

impl ReadDir {
    /// The next entry, or `None` at the end of the directory.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
    ///     let mut saw_status = false;
    ///     while let Some(entry) = entries.next_entry().await.unwrap() {
    ///         saw_status |= entry.file_name() == "status";
    ///     }
    ///     assert!(saw_status);
    /// });
    /// ```
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry: `Ready(Ok(None))` at the end of the directory.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/").await.unwrap();
    ///     let first = poll_fn(|cx| entries.poll_next_entry(cx)).await.unwrap();
    ///     assert!(first.is_some());
    /// });
    /// ```
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle { entries, rest } => {
                    if let Some(entry) = entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    let Some(std) = rest.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let handle = match current_handle("spindle::fs::ReadDir") {
                        Ok(handle) => handle,
                        Err(e) => {
                            *rest = Some(std);
                            return Poll::Ready(Err(e));
                        }
                    };
                    let dir = self.path.clone();
                    self.state = State::Busy(handle.unblock(move || next_batch(std, &dir)));
                }
                State::Busy(job) => match ready!(Pin::new(job).poll(cx)) {
                    Ok((entries, rest)) => self.state = State::Idle { entries, rest },
                    Err(error) => {
                        self.state = State::Idle {
                            entries: VecDeque::new(),
                            rest: None,
                        };
                        return Poll::Ready(Err(lost(error)));
                    }
                },
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(ready!(self.get_mut().poll_next_entry(cx)).transpose())
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`]: its name and path at once, its metadata on the lane.
///
/// ```
/// spindle::run(async {
///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
///     while let Some(entry) = entries.next_entry().await.unwrap() {
///         if entry.file_name() == "cwd" {
///             assert_eq!(entry.path(), std::path::Path::new("/proc/self/cwd"));
///             assert!(entry.file_type().await.unwrap().is_symlink());
///         }
///     }
/// });
/// ```
pub struct DirEntry {
    std: StdArc<std::fs::DirEntry>,
    /// Known without a system call on most Linux file systems (`d_type`).
    file_type: Option<FileType>,
}

impl DirEntry {
    /// Runs on the lane, inside a batch.
    fn new(std: std::fs::DirEntry) -> DirEntry {
        let file_type = std.file_type().ok();
        DirEntry {
            std: StdArc::new(std),
            file_type,
        }
    }

    /// The directory's path joined with the entry's name.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
    ///     let entry = entries.next_entry().await.unwrap().unwrap();
    ///     assert!(entry.path().starts_with("/proc/self"));
    /// });
    /// ```
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without the directory.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
    ///     let entry = entries.next_entry().await.unwrap().unwrap();
    ///     assert!(!entry.file_name().is_empty());
    /// });
    /// ```
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symlink (like [`std::fs::DirEntry::metadata`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
    ///     while let Some(entry) = entries.next_entry().await.unwrap() {
    ///         if entry.file_name() == "status" {
    ///             assert!(entry.metadata().await.unwrap().is_file());
    ///         }
    ///     }
    /// });
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify("spindle::fs::DirEntry::metadata", move || {
            std.metadata()
                .map_err(|e| with_path("get metadata for", &std.path(), e))
        })
        .await
    }

    /// The entry's file type, not following a symlink; usually known from the listing itself,
    /// without a trip to the lane.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/proc/self").await.unwrap();
    ///     while let Some(entry) = entries.next_entry().await.unwrap() {
    ///         if entry.file_name() == "exe" {
    ///             assert!(entry.file_type().await.unwrap().is_symlink());
    ///         }
    ///     }
    /// });
    /// ```
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        let std = self.std.clone();
        asyncify("spindle::fs::DirEntry::file_type", move || {
            std.file_type()
                .map_err(|e| with_path("get file type of", &std.path(), e))
        })
        .await
    }

    /// The entry's inode number, from the listing (Unix).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut entries = spindle::fs::read_dir("/").await.unwrap();
    ///     let entry = entries.next_entry().await.unwrap().unwrap();
    ///     assert!(entry.ino() > 0);
    /// });
    /// ```
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}

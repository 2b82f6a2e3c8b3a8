//! Files and directories: `std::fs`, made async on the runtime's blocking-I/O lane.
//!
//! Every function here runs its `std::fs` counterpart on the lane behind
//! [`unblock`](crate::unblock) — an elastic thread pool separate from the compute pool, so file
//! I/O never waits behind a numeric kernel and never blocks an async worker. The semantics are
//! `std::fs`'s; the errors are the OS's, with the same [`io::ErrorKind`], and with the path in
//! the message:
//!
//! ```
//! spindle::run(async {
//!     let err = spindle::fs::read("/no/such/dir/file.txt").await.unwrap_err();
//!     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//!     assert_eq!(
//!         err.to_string(),
//!         "failed to read /no/such/dir/file.txt: No such file or directory (os error 2)"
//!     );
//!     // The OS error itself is the source, for `raw_os_error()`.
//!     let os = std::error::Error::source(&err).unwrap().downcast_ref::<std::io::Error>();
//!     assert_eq!(os.unwrap().raw_os_error(), Some(2));
//! });
//! ```
//!
//! A round trip, with a directory listing as a [`futures_core::Stream`]:
//!
//! ```
//! use spindle::fs;
//!
//! spindle::run(async {
//!     let dir = std::env::temp_dir().join(format!("spindle-fs-doc-{}", std::process::id()));
//!     fs::create_dir_all(&dir).await?;
//!     fs::write(dir.join("a.txt"), "alpha").await?;
//!     fs::rename(dir.join("a.txt"), dir.join("b.txt")).await?;
//!     assert_eq!(fs::read_to_string(dir.join("b.txt")).await?, "alpha");
//!     assert_eq!(fs::metadata(dir.join("b.txt")).await?.len(), 5);
//!
//!     let mut names = Vec::new();
//!     let mut entries = fs::read_dir(&dir).await?;
//!     while let Some(entry) = entries.next_entry().await? {
//!         names.push(entry.file_name());
//!     }
//!     assert_eq!(names, ["b.txt"]);
//!     fs::remove_dir_all(&dir).await
//! })
//! .unwrap();
//! ```
//!
//! [`File`] reads ahead and buffers writes, so small reads and writes do not each cost a trip
//! to the lane (see its docs for when buffered writes reach the OS). Each function's future
//! does nothing until polled; once its job has started on the lane, dropping the future does
//! not stop it (a started system call cannot be interrupted), like tokio.
//!
//! Outside a runtime these functions return an error that names the fix (they need a lane).

mod buf;
mod file;
mod open_options;
mod read_dir;
mod state;
#[cfg(all(test, not(loom)))]
mod tests;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir, read_dir};

use crate::runtime::Handle;
use crate::task::JoinError;
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Runs `f` on the current runtime's blocking-I/O lane and waits for it. `what` names the
/// caller in the error returned outside a runtime.
pub(crate) async fn asyncify<F, T>(what: &'static str, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    current_handle(what)?
        .unblock(f)
        .await
        .unwrap_or_else(|e| Err(lost(e)))
}

/// The runtime this thread is in, or the error file operations return outside one.
pub(crate) fn current_handle(what: &str) -> io::Result<Handle> {
    Handle::try_current().ok_or_else(|| {
        io::Error::other(format!(
            "{what} must run inside a spindle runtime (inside `spindle::run`, \
             `Runtime::block_on`, a spawned task, or under `Handle::enter`): it runs on the \
             runtime's blocking-I/O lane"
        ))
    })
}

/// A lane job that did not deliver: cancelled by runtime shutdown (an error), or panicked
/// (resumed: `std::fs` does not panic, so this is a bug worth seeing).
pub(crate) fn lost(error: JoinError) -> io::Error {
    match error.try_into_panic() {
        Ok(payload) => std::panic::resume_unwind(payload),
        Err(_) => io::Error::other(
            "the spindle runtime shut down before this file operation could run on its \
             blocking-I/O lane",
        ),
    }
}

/// An OS error with the operation and the path(s) in its message; the OS error is its source.
#[derive(Debug)]
struct PathError {
    message: String,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `error` with "failed to `op` `path`: " in front; the kind is kept.
pub(crate) fn with_path(op: &str, path: &Path, error: io::Error) -> io::Error {
    let message = format!("failed to {op} {}: {error}", path.display());
    io::Error::new(
        error.kind(),
        PathError {
            message,
            source: error,
        },
    )
}

/// `error` with "failed to `op` `from` to `to`: " in front; the kind is kept.
fn with_paths(op: &str, from: &Path, to: &Path, error: io::Error) -> io::Error {
    let message = format!(
        "failed to {op} {} to {}: {error}",
        from.display(),
        to.display()
    );
    io::Error::new(
        error.kind(),
        PathError {
            message,
            source: error,
        },
    )
}

/// One path, one `std::fs` call, on the lane.
async fn path_op<T, F>(what: &'static str, op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.to_owned();
    asyncify(what, move || f(&path).map_err(|e| with_path(op, &path, e))).await
}

/// Two paths, one `std::fs` call, on the lane.
async fn paths_op<T, F>(
    what: &'static str,
    op: &'static str,
    from: &Path,
    to: &Path,
    f: F,
) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (from, to): (PathBuf, PathBuf) = (from.to_owned(), to.to_owned());
    asyncify(what, move || {
        f(&from, &to).map_err(|e| with_paths(op, &from, &to, e))
    })
    .await
}

/// Reads a whole file into a `Vec` ([`std::fs::read`]) in one trip to the lane.
///
/// ```
/// spindle::run(async {
///     let bytes = spindle::fs::read("/proc/self/stat").await.unwrap();
///     assert!(!bytes.is_empty());
/// });
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    path_op("spindle::fs::read", "read", path.as_ref(), |p| {
        std::fs::read(p)
    })
    .await
}

/// Reads a whole UTF-8 file into a `String` ([`std::fs::read_to_string`]); invalid UTF-8 is an
/// `InvalidData` error.
///
/// ```
/// spindle::run(async {
///     let status = spindle::fs::read_to_string("/proc/self/status").await.unwrap();
///     assert!(status.starts_with("Name:"));
/// });
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    path_op("spindle::fs::read_to_string", "read", path.as_ref(), |p| {
        std::fs::read_to_string(p)
    })
    .await
}

/// Creates or truncates a file and writes `contents` to it ([`std::fs::write`]).
///
/// ```
/// spindle::run(async {
///     let path = std::env::temp_dir().join(format!("spindle-write-{}", std::process::id()));
///     spindle::fs::write(&path, b"bytes").await.unwrap();
///     assert_eq!(spindle::fs::read(&path).await.unwrap(), b"bytes");
///     spindle::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    path_op("spindle::fs::write", "write", path.as_ref(), move |p| {
        std::fs::write(p, contents)
    })
    .await
}

/// Copies a file's contents and permissions to another path, returning the bytes copied
/// ([`std::fs::copy`]; the kernel copies where it can).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("cp-a-{}", std::process::id())), dir.join(format!("cp-b-{}", std::process::id())));
///     spindle::fs::write(&a, "copy me").await.unwrap();
///     assert_eq!(spindle::fs::copy(&a, &b).await.unwrap(), 7);
///     assert_eq!(spindle::fs::read_to_string(&b).await.unwrap(), "copy me");
///     spindle::fs::remove_file(&a).await.unwrap();
///     spindle::fs::remove_file(&b).await.unwrap();
/// });
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    paths_op(
        "spindle::fs::copy",
        "copy",
        from.as_ref(),
        to.as_ref(),
        |f, t| std::fs::copy(f, t),
    )
    .await
}

/// Renames a file or directory, replacing `to` if it exists ([`std::fs::rename`]).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("mv-a-{}", std::process::id())), dir.join(format!("mv-b-{}", std::process::id())));
///     spindle::fs::write(&a, "x").await.unwrap();
///     spindle::fs::rename(&a, &b).await.unwrap();
///     assert!(!spindle::fs::try_exists(&a).await.unwrap());
///     spindle::fs::remove_file(&b).await.unwrap();
/// });
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    paths_op(
        "spindle::fs::rename",
        "rename",
        from.as_ref(),
        to.as_ref(),
        |f, t| std::fs::rename(f, t),
    )
    .await
}

/// Removes a file ([`std::fs::remove_file`]).
///
/// ```
/// spindle::run(async {
///     let err = spindle::fs::remove_file("/no/such/file").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// });
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    path_op(
        "spindle::fs::remove_file",
        "remove file",
        path.as_ref(),
        |p| std::fs::remove_file(p),
    )
    .await
}

/// Removes an empty directory ([`std::fs::remove_dir`]).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir().join(format!("spindle-rmdir-{}", std::process::id()));
///     spindle::fs::create_dir(&dir).await.unwrap();
///     spindle::fs::remove_dir(&dir).await.unwrap();
/// });
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    path_op(
        "spindle::fs::remove_dir",
        "remove directory",
        path.as_ref(),
        |p| std::fs::remove_dir(p),
    )
    .await
}

/// Removes a directory and everything in it ([`std::fs::remove_dir_all`]).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir().join(format!("spindle-rmtree-{}", std::process::id()));
///     spindle::fs::create_dir_all(dir.join("a/b")).await.unwrap();
///     spindle::fs::remove_dir_all(&dir).await.unwrap();
///     assert!(!spindle::fs::try_exists(&dir).await.unwrap());
/// });
/// ```
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    path_op(
        "spindle::fs::remove_dir_all",
        "remove directory",
        path.as_ref(),
        |p| std::fs::remove_dir_all(p),
    )
    .await
}

/// Creates a directory; its parent must exist ([`std::fs::create_dir`]).
///
/// ```
/// spindle::run(async {
///     let err = spindle::fs::create_dir("/no/such/parent/dir").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// });
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    path_op(
        "spindle::fs::create_dir",
        "create directory",
        path.as_ref(),
        |p| std::fs::create_dir(p),
    )
    .await
}

/// Creates a directory and every missing parent ([`std::fs::create_dir_all`]).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir().join(format!("spindle-mkdirs-{}", std::process::id()));
///     spindle::fs::create_dir_all(dir.join("x/y/z")).await.unwrap();
///     assert!(spindle::fs::metadata(dir.join("x/y/z")).await.unwrap().is_dir());
///     spindle::fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    path_op(
        "spindle::fs::create_dir_all",
        "create directory",
        path.as_ref(),
        |p| std::fs::create_dir_all(p),
    )
    .await
}

/// A path's metadata, following symlinks ([`std::fs::metadata`]).
///
/// ```
/// spindle::run(async {
///     assert!(spindle::fs::metadata("/").await.unwrap().is_dir());
/// });
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    path_op(
        "spindle::fs::metadata",
        "get metadata for",
        path.as_ref(),
        |p| std::fs::metadata(p),
    )
    .await
}

/// A path's metadata, not following a final symlink ([`std::fs::symlink_metadata`]).
///
/// ```
/// spindle::run(async {
///     let meta = spindle::fs::symlink_metadata("/proc/self").await.unwrap();
///     assert!(meta.file_type().is_symlink());
/// });
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    path_op(
        "spindle::fs::symlink_metadata",
        "get metadata for",
        path.as_ref(),
        |p| std::fs::symlink_metadata(p),
    )
    .await
}

/// The absolute path with every symlink and `.`/`..` resolved ([`std::fs::canonicalize`]).
///
/// ```
/// spindle::run(async {
///     let root = spindle::fs::canonicalize("/proc/../proc/./").await.unwrap();
///     assert_eq!(root, std::path::Path::new("/proc"));
/// });
/// ```
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    path_op(
        "spindle::fs::canonicalize",
        "canonicalize",
        path.as_ref(),
        |p| std::fs::canonicalize(p),
    )
    .await
}

/// Creates a hard link `link` pointing at the file `original` ([`std::fs::hard_link`]).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("ln-a-{}", std::process::id())), dir.join(format!("ln-b-{}", std::process::id())));
///     spindle::fs::write(&a, "shared").await.unwrap();
///     spindle::fs::hard_link(&a, &b).await.unwrap();
///     assert_eq!(spindle::fs::read_to_string(&b).await.unwrap(), "shared");
///     spindle::fs::remove_file(&a).await.unwrap();
///     spindle::fs::remove_file(&b).await.unwrap();
/// });
/// ```
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    paths_op(
        "spindle::fs::hard_link",
        "hard-link",
        link.as_ref(),
        original.as_ref(),
        |l, o| std::fs::hard_link(o, l),
    )
    .await
}

/// Creates a symbolic link `link` pointing at `original` (Unix; `std::os::unix::fs::symlink`).
///
/// ```
/// spindle::run(async {
///     let dir = std::env::temp_dir();
///     let link = dir.join(format!("spindle-symlink-{}", std::process::id()));
///     spindle::fs::symlink("/proc", &link).await.unwrap();
///     assert_eq!(spindle::fs::read_link(&link).await.unwrap(), std::path::Path::new("/proc"));
///     spindle::fs::remove_file(&link).await.unwrap();
/// });
/// ```
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    paths_op(
        "spindle::fs::symlink",
        "symlink",
        link.as_ref(),
        original.as_ref(),
        |l, o| std::os::unix::fs::symlink(o, l),
    )
    .await
}

/// The target of a symbolic link ([`std::fs::read_link`]).
///
/// ```
/// spindle::run(async {
///     let target = spindle::fs::read_link("/proc/self").await.unwrap();
///     assert_eq!(target, std::path::Path::new(&std::process::id().to_string()));
/// });
/// ```
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    path_op("spindle::fs::read_link", "read link", path.as_ref(), |p| {
        std::fs::read_link(p)
    })
    .await
}

/// Changes a path's permissions ([`std::fs::set_permissions`]).
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// spindle::run(async {
///     let path = std::env::temp_dir().join(format!("spindle-chmod-{}", std::process::id()));
///     spindle::fs::write(&path, "").await.unwrap();
///     spindle::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).await.unwrap();
///     let mode = spindle::fs::metadata(&path).await.unwrap().permissions().mode();
///     assert_eq!(mode & 0o777, 0o600);
///     spindle::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub async fn set_permissions(path: impl AsRef<Path>, permissions: Permissions) -> io::Result<()> {
    path_op(
        "spindle::fs::set_permissions",
        "set permissions on",
        path.as_ref(),
        move |p| std::fs::set_permissions(p, permissions),
    )
    .await
}

/// Whether a path exists: `Ok(false)` if it does not, an error if that cannot be determined
/// (e.g. a permission error on a parent) ([`std::fs::exists`]).
///
/// ```
/// spindle::run(async {
///     assert!(spindle::fs::try_exists("/").await.unwrap());
///     assert!(!spindle::fs::try_exists("/no/such/path").await.unwrap());
/// });
/// ```
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    path_op(
        "spindle::fs::try_exists",
        "check existence of",
        path.as_ref(),
        |p| p.try_exists(),
    )
    .await
}

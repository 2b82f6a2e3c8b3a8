//! `OpenOptions`: `std::fs::OpenOptions` whose `open` runs on the blocking-I/O lane.

use super::{File, asyncify, with_path};
use std::io;
use std::path::Path;

/// How to open a file: [`std::fs::OpenOptions`]'s builder, with an async
/// [`open`](OpenOptions::open) that returns a spindle [`File`].
///
/// ```
/// use spindle::io::AsyncWriteExt;
///
/// spindle::run(async {
///     let path = std::env::temp_dir().join(format!("spindle-log-{}", std::process::id()));
///     for line in ["one\n", "two\n"] {
///         let mut log = spindle::fs::OpenOptions::new()
///             .create(true)
///             .append(true)
///             .open(&path)
///             .await?;
///         log.write_all(line.as_bytes()).await?;
///         log.flush().await?;
///     }
///     assert_eq!(spindle::fs::read_to_string(&path).await?, "one\ntwo\n");
///     spindle::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off (as [`std::fs::OpenOptions::new`]); set at least `read`, `write` or
    /// `append`.
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.read(true);
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    ///
    /// ```
    /// spindle::run(async {
    ///     let file = spindle::fs::OpenOptions::new().read(true).open("/proc/self/status").await;
    ///     assert!(file.is_ok());
    /// });
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing (from the start of the file, overwriting; see also `append`).
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.write(true);
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file, whatever the position.
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.append(true);
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate an existing file to length 0 (needs `write`).
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.write(true).create(true);
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (atomically; `create` and
    /// `truncate` are then ignored).
    ///
    /// ```
    /// spindle::run(async {
    ///     let err = spindle::fs::OpenOptions::new()
    ///         .write(true)
    ///         .create_new(true)
    ///         .open("/proc/self/status")
    ///         .await
    ///         .unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// });
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits a new file gets, before the umask (Unix; default `0o666`).
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.write(true).create(true).mode(0o600);
    /// ```
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags, e.g. `O_NOFOLLOW` (Unix; the access-mode bits are ignored).
    ///
    /// ```
    /// let mut options = spindle::fs::OpenOptions::new();
    /// options.read(true).custom_flags(0);
    /// ```
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options, on the blocking-I/O lane. Errors carry the path.
    ///
    /// ```
    /// spindle::run(async {
    ///     let err = spindle::fs::OpenOptions::new().read(true).open("/no/such").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("/no/such"));
    /// });
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let (options, path) = (self.0.clone(), path.as_ref().to_owned());
        asyncify("spindle::fs::OpenOptions::open", move || {
            options.open(&path).map_err(|e| with_path("open", &path, e))
        })
        .await
        .map(File::from_std)
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}

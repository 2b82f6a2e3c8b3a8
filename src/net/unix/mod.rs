//! Unix-domain sockets: [`UnixListener`],
//! [`UnixStream`] and [`UnixDatagram`]
//! (re-exported from `spindle::net`), and here the types that go with them: the halves of a
//! split stream ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`], [`OwnedWriteHalf`],
//! [`ReuniteError`]) and the [`Incoming`] stream of accepted connections.
//!
//! **Abstract names (Linux).** Every function that takes a path (`UnixListener::bind`,
//! `UnixStream::connect`, `UnixDatagram::bind` / `connect` / `send_to`) treats a path that
//! starts with a NUL byte as a name in the abstract namespace: no file is created, the name
//! disappears with the last socket that uses it, and `local_addr().as_abstract_name()`
//! (`std::os::linux::net::SocketAddrExt`) reads it back.
//!
//! ```
//! # #[cfg(target_os = "linux")] {
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use spindle::net::{UnixListener, UnixStream};
//!
//! spindle::run(async {
//!     let name = format!("\0spindle-doc-{}", std::process::id());
//!     let listener = UnixListener::bind(&name).unwrap();
//!     let mut client = UnixStream::connect(&name).await.unwrap();
//!     let (mut server, _) = listener.accept().await.unwrap();
//!     client.write_all(b"abstract").await.unwrap();
//!     let mut buf = [0u8; 8];
//!     server.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"abstract");
//! });
//! # }
//! ```

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// Hidden doc-example setup: a connected pair `client` / `server` inside `spindle::run`.
macro_rules! unix_setup {
    () => {
        "# use spindle::net::UnixStream;\n\
         # spindle::run(async {\n\
         # let (client, server) = UnixStream::pair().unwrap();"
    };
}

pub(super) mod datagram;
pub(super) mod listener;
pub(super) mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use split_types::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub(crate) use split_types::{split, split_owned};
pub use stream::UnixStream;

mod split_types {
    use super::UnixStream;
    define_split!(UnixStream, std::os::unix::net::SocketAddr, unix_setup!());
}

/// `path` as a socket address: on Linux a path that starts with a NUL byte is an abstract name
/// (the rest of the bytes); anything else is a filesystem path.
pub(crate) fn socket_addr(path: &Path) -> io::Result<SocketAddr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        if let Some((&0, name)) = path.as_os_str().as_bytes().split_first() {
            return SocketAddr::from_abstract_name(name);
        }
    }
    SocketAddr::from_pathname(path)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::linux::net::SocketAddrExt;

    #[test]
    fn nul_prefix_is_an_abstract_name() {
        let addr = socket_addr(Path::new("\0spindle-name")).unwrap();
        assert_eq!(addr.as_abstract_name(), Some(&b"spindle-name"[..]));
        assert_eq!(addr.as_pathname(), None);
        let path = socket_addr(Path::new("/tmp/x.sock")).unwrap();
        assert_eq!(path.as_pathname(), Some(Path::new("/tmp/x.sock")));
        assert!(socket_addr(Path::new("/tmp/a\0b")).is_err());
    }
}

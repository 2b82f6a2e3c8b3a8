//! TCP: [`TcpListener`], [`TcpStream`] and
//! [`TcpSocket`] (re-exported from `spindle::net`), and here the types
//! that go with them: the halves of a split stream ([`ReadHalf`], [`WriteHalf`],
//! [`OwnedReadHalf`], [`OwnedWriteHalf`], [`ReuniteError`]) and the [`Incoming`] stream of
//! accepted connections.
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use spindle::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
//! use spindle::net::{TcpListener, TcpStream};
//!
//! spindle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
//!     let (server, _) = listener.accept().await.unwrap();
//!     let (rd, mut wr): (OwnedReadHalf, OwnedWriteHalf) = server.into_split();
//!     spindle::spawn(async move { wr.write_all(b"hi").await.unwrap() });
//!     let mut buf = [0u8; 2];
//!     (&client).read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"hi");
//!     assert_eq!(rd.peer_addr().unwrap(), client.local_addr().unwrap());
//! });
//! ```

/// Hidden doc-example setup: a connected pair `client` / `server` inside `spindle::run`.
macro_rules! tcp_setup {
    () => {
        "# use spindle::net::{TcpListener, TcpStream};\n\
         # spindle::run(async {\n\
         # let listener = TcpListener::bind(\"127.0.0.1:0\").await.unwrap();\n\
         # let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();\n\
         # let (server, _) = listener.accept().await.unwrap();"
    };
}

pub(super) mod listener;
pub(super) mod socket;
pub(super) mod stream;

pub use listener::Incoming;
pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split_types::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub(crate) use split_types::{split, split_owned};
pub use stream::TcpStream;

mod split_types {
    use super::TcpStream;
    define_split!(TcpStream, std::net::SocketAddr, tcp_setup!());
}

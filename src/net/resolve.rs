//! Turning address arguments into `SocketAddr`s without blocking a worker: [`lookup_host`], the
//! [`Target`] that `connect`/`bind`/`send_to` build from their `ToSocketAddrs` argument, and
//! [`resolve_blocking`], the one place where a host name is resolved off the worker thread.
//!
//! `std::net::ToSocketAddrs` resolves host names with a blocking `getaddrinfo` call. Of std's
//! impls only the string ones (`str`, `String`, `(&str, u16)`, `(String, u16)`, and references
//! to them) can name a host; all others are numeric. [`Target::new`] recognises those string
//! types by their type identity (`typeid`, which, unlike `std::any::TypeId`, works for borrowed
//! types), parses them as `std` would, and defers a host name to [`resolve_blocking`]. Any other
//! type is converted inline, which for every `std` type is pure parsing.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Resolves `host` — `"name:port"` (or a numeric `"ip:port"`), as tokio takes it, or any other
/// [`std::net::ToSocketAddrs`] value such as `("name", port)` — to its socket addresses.
///
/// A numeric address is parsed at once. A host name is looked up on the blocking-I/O lane
/// (see [`unblock`](crate::unblock)), so the worker running the calling task never blocks on
/// DNS, and slow lookups do not hold up the compute pool. The addresses come in the resolver's
/// order (an IPv6 and an IPv4 address for `localhost` on most systems). A name that does not
/// resolve is an `io::Error` from the system resolver; a string without a port is an
/// `InvalidInput` error, as in `std`. Must be awaited inside a spindle runtime when a lookup is
/// needed.
///
/// # Examples
///
/// ```
/// spindle::run(async {
///     let addrs: Vec<_> = spindle::net::lookup_host("localhost:80").await.unwrap().collect();
///     assert!(!addrs.is_empty());
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
///
///     // Numeric addresses and (host, port) pairs work too.
///     let one: Vec<_> = spindle::net::lookup_host("127.0.0.1:8080").await.unwrap().collect();
///     assert_eq!(one, ["127.0.0.1:8080".parse().unwrap()]);
///     let pair = spindle::net::lookup_host(("localhost", 443)).await.unwrap();
///     assert!(pair.into_iter().all(|a| a.port() == 443));
/// });
/// ```
pub fn lookup_host<A: ToSocketAddrs>(
    host: A,
) -> impl Future<Output = io::Result<impl Iterator<Item = SocketAddr> + Send + 'static>> + Send + 'static
{
    let target = Target::new(host);
    async move {
        let addrs = match target {
            Target::Ready(addrs) => addrs?,
            Target::Lookup { host, port } => resolve_blocking(host, port).await?,
        };
        Ok(addrs.into_iter())
    }
}

/// An address argument, converted when the operation is called (so the returned future does
/// not borrow it): either the addresses, or a host name still to be resolved.
#[derive(Debug)]
pub(crate) enum Target {
    Ready(io::Result<Vec<SocketAddr>>),
    Lookup { host: String, port: u16 },
}

impl Target {
    /// Converts `addr` without blocking on DNS (see the module doc).
    pub(crate) fn new<A: ToSocketAddrs>(addr: A) -> Target {
        match string_form(&addr) {
            Some(StringForm::HostPort(text)) => parse_host_port(text),
            Some(StringForm::Pair(host, port)) => host_and_port(host, port),
            None => Target::Ready(addr.to_socket_addrs().map(Iterator::collect)),
        }
    }

    /// The addresses, resolving a host name off the worker; an empty result is an error.
    pub(crate) async fn resolve(self) -> io::Result<Vec<SocketAddr>> {
        let addrs = match self {
            Target::Ready(addrs) => addrs?,
            Target::Lookup { host, port } => resolve_blocking(host, port).await?,
        };
        if addrs.is_empty() {
            Err(no_addresses())
        } else {
            Ok(addrs)
        }
    }
}

/// The error for an address argument that names no address at all.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Resolves `host` (a name, not a numeric address) with the system resolver on the runtime's
/// blocking-I/O lane (`spindle::unblock`): the one place spindle's networking blocks on DNS.
/// A slow resolver then holds a lane thread, never a worker or a compute thread.
async fn resolve_blocking(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let handle = crate::runtime::Handle::try_current().ok_or_else(|| {
        io::Error::other(format!(
            "resolving {host:?} needs a spindle runtime (inside `spindle::run`, \
             `Runtime::block_on`, a spawned task, or under `Handle::enter`)"
        ))
    })?;
    let job = handle.unblock(move || (host.as_str(), port).to_socket_addrs().map(Vec::from_iter));
    job.await
        .map_err(|err| io::Error::other(format!("the name lookup did not finish: {err}")))?
}

/// A string-typed address argument, borrowed from the argument for `'b`.
enum StringForm<'b> {
    /// `"host:port"`.
    HostPort(&'b str),
    /// `(host, port)`.
    Pair(&'b str, u16),
}

/// Returns `Some(&T)` if `A` is `T` up to lifetimes.
///
/// The lifetimes inside the returned `T` are the caller's choice, so callers instantiate `T`
/// with the lifetime `'b` of the borrow of `addr`, which every lifetime inside `A` outlives
/// (`A: 'b` because `&'b A` is well-formed).
fn downcast<A, T>(addr: &A) -> Option<&T> {
    if typeid::of::<A>() == typeid::of::<T>() {
        // SAFETY: `A` and `T` are the same type up to lifetimes (same layout and validity),
        // and the lifetimes inside `T` are at most the borrow's (see above), which every
        // lifetime inside `A` outlives, so reading an `A` as that `T` only shortens them.
        Some(unsafe { &*(addr as *const A).cast::<T>() })
    } else {
        None
    }
}

/// The string behind `addr` if it is one of `std`'s string `ToSocketAddrs` types.
fn string_form<'b, A>(addr: &'b A) -> Option<StringForm<'b>> {
    if let Some(s) = downcast::<A, &'b str>(addr) {
        return Some(StringForm::HostPort(s));
    }
    if let Some(s) = downcast::<A, String>(addr) {
        return Some(StringForm::HostPort(s));
    }
    if let Some(s) = downcast::<A, &'b String>(addr) {
        return Some(StringForm::HostPort(s));
    }
    if let Some(s) = downcast::<A, &'b &'b str>(addr) {
        return Some(StringForm::HostPort(s));
    }
    if let Some(&(host, port)) = downcast::<A, (&'b str, u16)>(addr) {
        return Some(StringForm::Pair(host, port));
    }
    if let Some((host, port)) = downcast::<A, (String, u16)>(addr) {
        return Some(StringForm::Pair(host, *port));
    }
    if let Some(&&(host, port)) = downcast::<A, &'b (&'b str, u16)>(addr) {
        return Some(StringForm::Pair(host, port));
    }
    None
}

/// `"host:port"` as `std` parses it: a socket address, or a host and a port.
fn parse_host_port(text: &str) -> Target {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Target::Ready(Ok(vec![addr]));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Target::Ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid socket address {text:?}: expected \"host:port\""),
        )));
    };
    match port.parse::<u16>() {
        Ok(port) => host_and_port(host, port),
        Err(_) => Target::Ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid port value in {text:?}"),
        ))),
    }
}

/// `(host, port)` as `std` takes it: a numeric IP is used as is, anything else is a name.
fn host_and_port(host: &str, port: u16) -> Target {
    match host.parse::<IpAddr>() {
        Ok(ip) => Target::Ready(Ok(vec![SocketAddr::new(ip, port)])),
        Err(_) => Target::Lookup {
            host: host.to_owned(),
            port,
        },
    }
}

#[cfg(test)]
// The borrows are the point: `&String`, `&&str` and `&(&str, u16)` are distinct argument types.
#[allow(clippy::needless_borrows_for_generic_args)]
mod tests {
    use super::*;

    fn lookup(target: Target) -> Option<(String, u16)> {
        match target {
            Target::Lookup { host, port } => Some((host, port)),
            Target::Ready(_) => None,
        }
    }

    fn ready(target: Target) -> Vec<SocketAddr> {
        match target {
            Target::Ready(addrs) => addrs.unwrap(),
            Target::Lookup { host, .. } => panic!("{host} should not need a lookup"),
        }
    }

    #[test]
    fn numeric_strings_are_parsed_inline() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(ready(Target::new("127.0.0.1:80")), [v4]);
        assert_eq!(ready(Target::new(String::from("[::1]:80"))), [v6]);
        assert_eq!(ready(Target::new(&String::from("127.0.0.1:80"))), [v4]);
        assert_eq!(ready(Target::new(&"127.0.0.1:80")), [v4]);
        assert_eq!(ready(Target::new(("::1", 80))), [v6]);
        assert_eq!(ready(Target::new((String::from("127.0.0.1"), 80))), [v4]);
        assert_eq!(ready(Target::new(&("127.0.0.1", 80))), [v4]);
        assert_eq!(ready(Target::new(v4)), [v4]);
        assert_eq!(ready(Target::new(&[v4, v6][..])), [v4, v6]);
    }

    #[test]
    fn host_names_are_deferred() {
        let owned = String::from("example.invalid:8080");
        // A borrow that is not 'static.
        let borrowed: &str = owned.as_str();
        assert_eq!(
            lookup(Target::new(borrowed)),
            Some(("example.invalid".into(), 8080))
        );
        assert_eq!(
            lookup(Target::new(owned.clone())),
            Some(("example.invalid".into(), 8080))
        );
        assert_eq!(
            lookup(Target::new(&owned)),
            Some(("example.invalid".into(), 8080))
        );
        assert_eq!(
            lookup(Target::new(("localhost", 1))),
            Some(("localhost".into(), 1))
        );
        assert_eq!(
            lookup(Target::new((String::from("localhost"), 2))),
            Some(("localhost".into(), 2))
        );
    }

    #[test]
    fn malformed_strings_are_clear_errors() {
        for (text, needle) in [
            ("localhost", "expected \"host:port\""),
            ("localhost:http", "invalid port value"),
            ("localhost:70000", "invalid port value"),
        ] {
            let Target::Ready(Err(err)) = Target::new(text) else {
                panic!("{text} should be rejected");
            };
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}

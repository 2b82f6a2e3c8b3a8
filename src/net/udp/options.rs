//! The socket options of [`UdpSocket`]: broadcast, TTL, type of service, multicast
//! membership, loop and TTL. Setters and getters are plain `setsockopt`/`getsockopt` calls.

use super::UdpSocket;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

impl UdpSocket {
    /// Sets `SO_BROADCAST`: allow sending to a broadcast address.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     socket.set_broadcast(true).unwrap();
    ///     assert_eq!(socket.broadcast().unwrap(), true);
    /// });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let _current: bool = socket.broadcast().unwrap();
    /// });
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`: whether IPv4 multicast datagrams this socket sends are looped back to local receivers (default on).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     socket.set_multicast_loop_v4(false).unwrap();
    ///     assert_eq!(socket.multicast_loop_v4().unwrap(), false);
    /// });
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let _current: bool = socket.multicast_loop_v4().unwrap();
    /// });
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`, the time-to-live of outgoing IPv4 multicast datagrams (default 1: the local network).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     socket.set_multicast_ttl_v4(4).unwrap();
    ///     assert_eq!(socket.multicast_ttl_v4().unwrap(), 4);
    /// });
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` value.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let _current: u32 = socket.multicast_ttl_v4().unwrap();
    /// });
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP` (IPv6 sockets only).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
    ///         v6.set_multicast_loop_v6(false).unwrap();
    ///         assert!(!v6.multicast_loop_v6().unwrap());
    ///     }
    /// });
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set (IPv6 sockets only).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     if let Ok(v6) = UdpSocket::bind("[::1]:0").await {
    ///         assert!(v6.multicast_loop_v6().unwrap());
    ///     }
    /// });
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets `IP_TTL`, the time-to-live of outgoing IPv4 datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     socket.set_ttl(64).unwrap();
    ///     assert_eq!(socket.ttl().unwrap(), 64);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The `IP_TTL` value.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let _current: u32 = socket.ttl().unwrap();
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IP_TOS`, the type-of-service (DSCP/ECN) byte of outgoing IPv4 datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     socket.set_tos(0x10).unwrap();
    ///     assert_eq!(socket.tos().unwrap(), 0x10);
    /// });
    /// ```
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_tos_v4(tos)
    }

    /// The `IP_TOS` value.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let _current: u32 = socket.tos().unwrap();
    /// });
    /// ```
    pub fn tos(&self) -> io::Result<u32> {
        socket2::SockRef::from(self.io.get_ref()).tos_v4()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: let the system choose).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    /// use std::net::Ipv4Addr;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     let group = Ipv4Addr::new(239, 255, 0, 1);
    ///     // A machine without a multicast-capable interface refuses; that is an `Err`.
    ///     if socket.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_ok() {
    ///         socket.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
    ///     }
    /// });
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    /// use std::net::Ipv4Addr;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     // Leaving a group never joined is an error.
    ///     let group = Ipv4Addr::new(239, 255, 0, 2);
    ///     assert!(socket.leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED).is_err());
    /// });
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with index `interface`
    /// (0: let the system choose). IPv6 sockets only.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    /// use std::net::Ipv6Addr;
    ///
    /// spindle::run(async {
    ///     if let Ok(socket) = UdpSocket::bind("[::]:0").await {
    ///         let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///         if socket.join_multicast_v6(&group, 0).is_ok() {
    ///             socket.leave_multicast_v6(&group, 0).unwrap();
    ///         }
    ///     }
    /// });
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    /// use std::net::Ipv6Addr;
    ///
    /// spindle::run(async {
    ///     if let Ok(socket) = UdpSocket::bind("[::]:0").await {
    ///         let group: Ipv6Addr = "ff02::1:4".parse().unwrap();
    ///         assert!(socket.leave_multicast_v6(&group, 0).is_err());
    ///     }
    /// });
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }
}

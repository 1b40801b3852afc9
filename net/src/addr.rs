//! Turning "what the user wrote" into socket addresses, without blocking a worker.
//!
//! An address that is already numeric (`"127.0.0.1:80"`, a `SocketAddr`) resolves at
//! once. A host name (`"localhost:80"`) needs `getaddrinfo(3)`, which blocks, so it runs
//! on ply-executor's blocking pool and the task awaits the answer.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Types that name one or more socket addresses: `SocketAddr`, `(IpAddr, u16)`,
/// `"host:port"` strings, `(&str, u16)`, slices of addresses. Host names are resolved on
/// the blocking pool.
///
/// Sealed: implemented here for the types above only.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// What a [`ToSocketAddrs`](super::ToSocketAddrs) value needs to become addresses.
    #[derive(Debug)]
    pub enum Lookup {
        /// Already numeric.
        Ready(Vec<SocketAddr>),
        /// A `host:port` string for `getaddrinfo`.
        Name(String),
        /// An error found without looking anything up.
        Failed(io::Error),
    }

    /// The sealed half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Sealed {
        /// Parses what can be parsed without blocking.
        fn lookup(&self) -> Lookup;
    }
}

use sealed::{Lookup, Sealed};

macro_rules! numeric {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn lookup(&self) -> Lookup {
                let $v = self;
                Lookup::Ready(vec![$e])
            }
        }
    )*};
}

numeric! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
}

impl ToSocketAddrs for &[SocketAddr] {}
impl Sealed for &[SocketAddr] {
    fn lookup(&self) -> Lookup {
        Lookup::Ready(self.to_vec())
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> Sealed for [SocketAddr; N] {
    fn lookup(&self) -> Lookup {
        Lookup::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn lookup(&self) -> Lookup {
        match self.parse::<SocketAddr>() {
            Ok(a) => Lookup::Ready(vec![a]),
            Err(_) if self.rsplit_once(':').is_none() => Lookup::Failed(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{self:?} is not host:port"),
            )),
            Err(_) => Lookup::Name(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn lookup(&self) -> Lookup {
        self.as_str().lookup()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn lookup(&self) -> Lookup {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Lookup::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Lookup::Name(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn lookup(&self) -> Lookup {
        (self.0.as_str(), self.1).lookup()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn lookup(&self) -> Lookup {
        (**self).lookup()
    }
}

/// Resolves `addr`, on the blocking pool if it names a host.
///
/// # Errors
///
/// `InvalidInput` for a malformed address; what `getaddrinfo` says for an unknown host;
/// an error if the lookup found no address.
pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    // Take what is needed out of `addr` before the first await, so the future does not
    // hold it (it may borrow a string that is not Send-safe to keep).
    let lookup = addr.lookup();
    drop(addr);
    let addrs: Vec<SocketAddr> = match lookup {
        Lookup::Ready(v) => v,
        Lookup::Failed(e) => return Err(e),
        Lookup::Name(name) => {
            let job = ply_executor::spawn_blocking(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect::<Vec<_>>)
            });
            job.await
                .map_err(|e| io::Error::other(format!("name lookup failed: {e}")))??
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn; returns the first success, or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(l: Lookup) -> Option<Vec<SocketAddr>> {
        match l {
            Lookup::Ready(v) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn numeric_addresses_need_no_lookup() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(ready(a.lookup()), Some(vec![a]));
        assert_eq!(ready("127.0.0.1:80".lookup()), Some(vec![a]));
        assert_eq!(ready(("127.0.0.1", 80).lookup()), Some(vec![a]));
        assert_eq!(ready((Ipv4Addr::LOCALHOST, 80).lookup()), Some(vec![a]));
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(ready("[::1]:443".lookup()), Some(vec![v6]));
        assert_eq!(ready(("::1", 443).lookup()), Some(vec![v6]));
    }

    #[test]
    fn names_go_to_the_resolver_and_garbage_is_an_error() {
        assert!(matches!("localhost:80".lookup(), Lookup::Name(n) if n == "localhost:80"));
        assert!(matches!(("localhost", 80).lookup(), Lookup::Name(n) if n == "localhost:80"));
        assert!(
            matches!("no-port".lookup(), Lookup::Failed(e) if e.kind() == io::ErrorKind::InvalidInput)
        );
    }
}

//! `std::net::SocketAddr` to and from the kernel's `sockaddr_in` / `sockaddr_in6`.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address in the kernel's layout, with its length: what bind, connect and
/// accept take and give.
#[derive(Clone, Copy)]
pub(crate) struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    /// A zeroed buffer large enough for any address, for the kernel to fill.
    pub(crate) fn empty() -> RawAddr {
        RawAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
            storage: unsafe { mem::zeroed() },
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }

    pub(crate) fn len_mut(&mut self) -> &mut libc::socklen_t {
        &mut self.len
    }

    /// The address family (`AF_INET`, `AF_INET6`, ...).
    pub(crate) fn family(&self) -> libc::sa_family_t {
        self.storage.ss_family
    }

    /// Converts what the kernel wrote into a `SocketAddr`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a family other than IPv4 or IPv6 (e.g. a Unix socket).
    pub(crate) fn to_std(self) -> io::Result<SocketAddr> {
        match i32::from(self.family()) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, and
                // sockaddr_storage is large and aligned enough for one.
                let sin = unsafe { &*(self.as_ptr().cast::<libc::sockaddr_in>()) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Ok(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6, and
                // sockaddr_storage is large and aligned enough for one.
                let sin6 = unsafe { &*(self.as_ptr().cast::<libc::sockaddr_in6>()) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            family => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("address family {family} is not IPv4 or IPv6"),
            )),
        }
    }
}

impl From<&SocketAddr> for RawAddr {
    fn from(addr: &SocketAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
                unsafe { raw.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
                raw.len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
                unsafe { raw.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
                raw.len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_kernel_layout() {
        let table: [SocketAddr; 5] = [
            "127.0.0.1:80".parse().unwrap(),
            "0.0.0.0:0".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "[::1]:8080".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 7, 3)),
        ];
        for addr in table {
            let raw = RawAddr::from(&addr);
            assert_eq!(raw.to_std().unwrap(), addr);
        }
    }

    #[test]
    fn an_unknown_family_is_an_error() {
        let raw = RawAddr::empty(); // family 0, AF_UNSPEC
        assert_eq!(
            raw.to_std().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}

//! IPv4 and IPv6 prefixes (CIDR notation) for split tunneling.
//!
//! A small type of our own rather than a dependency: the profile needs exactly parse, print,
//! mask and range-to-prefix conversion, and owning the error texts lets them say what a
//! person should fix ("host bits are set; did you mean 10.0.0.0/8?").

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 or IPv6 prefix such as `10.0.0.0/8` or `2001:db8::/32`.
///
/// The address is always the network address: host bits are zero. [`IpNet::from_str`]
/// rejects prefixes with host bits set, since `10.1.2.3/8` is almost always a typo;
/// [`IpNet::new_truncating`] masks them for importers whose source format allows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    addr: IpAddr,
    prefix_len: u8,
}

/// Why a text is not a valid prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpNetError {
    /// The address part is not an IPv4 or IPv6 address.
    #[error("'{0}' is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// The part after `/` is not a number.
    #[error("prefix length '{0}' is not a number")]
    BadPrefixLen(String),
    /// The prefix length is larger than the address.
    #[error("prefix length {len} is larger than {max}, the size of an {family} address")]
    PrefixTooLong {
        /// The given length.
        len: u32,
        /// 32 or 128.
        max: u8,
        /// "IPv4" or "IPv6".
        family: &'static str,
    },
    /// Bits below the prefix length are set.
    #[error("host bits are set; did you mean {0}?")]
    HostBitsSet(IpNet),
}

impl IpNet {
    /// A prefix from an address and a length, masking host bits.
    ///
    /// Fails only when the length exceeds the address size.
    pub fn new_truncating(addr: IpAddr, prefix_len: u8) -> Result<Self, IpNetError> {
        let max = max_len(addr);
        if prefix_len > max {
            return Err(IpNetError::PrefixTooLong {
                len: prefix_len.into(),
                max,
                family: family(addr),
            });
        }
        Ok(Self {
            addr: mask(addr, prefix_len),
            prefix_len,
        })
    }

    /// A single host: `/32` for IPv4, `/128` for IPv6.
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            prefix_len: max_len(addr),
        }
    }

    /// Parses `addr/len` or a bare address, masking host bits instead of rejecting them.
    pub fn parse_truncating(text: &str) -> Result<Self, IpNetError> {
        let (addr, len) = split(text)?;
        Self::new_truncating(addr, len)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether this is an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether this is an IPv6 prefix.
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// Whether `other` lies entirely inside this prefix.
    pub fn contains(&self, other: &IpNet) -> bool {
        self.is_ipv4() == other.is_ipv4()
            && other.prefix_len >= self.prefix_len
            && mask(other.addr, self.prefix_len) == self.addr
    }

    /// The smallest list of prefixes that covers exactly the inclusive range `first..=last`.
    ///
    /// strongSwan's apps accept ranges such as `192.168.1.10-192.168.1.20` for split
    /// tunneling; routes and traffic selectors here are prefixes, so a range becomes the
    /// prefixes that cover it. Returns `None` when the two addresses are of different
    /// families or `first > last`.
    pub fn from_range(first: IpAddr, last: IpAddr) -> Option<Vec<IpNet>> {
        let (start, end, bits) = match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a).into(), u32::from(b).into(), 32u32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128u32),
            _ => return None,
        };
        if start > end {
            return None;
        }
        let mut out = Vec::new();
        let mut cur: u128 = start;
        loop {
            // The largest block that starts at `cur` (alignment) and stays within `end`.
            let align = if cur == 0 {
                bits
            } else {
                cur.trailing_zeros().min(bits)
            };
            let mut size = align;
            while size > 0 && block_end(cur, size).is_none_or(|e| e > end) {
                size -= 1;
            }
            // `size` <= `bits` <= 128, so the prefix length fits in a u8.
            let prefix_len = (bits - size) as u8;
            let addr = if bits == 32 {
                // `cur` <= `end` which came from a u32.
                IpAddr::V4(Ipv4Addr::from(u32::try_from(cur).unwrap_or(u32::MAX)))
            } else {
                IpAddr::V6(Ipv6Addr::from(cur))
            };
            out.push(IpNet { addr, prefix_len });
            match block_end(cur, size) {
                Some(e) if e < end => cur = e + 1,
                _ => break,
            }
        }
        Some(out)
    }
}

/// The last address of a block of 2^`size` addresses starting at `start`.
fn block_end(start: u128, size: u32) -> Option<u128> {
    let len_minus_one = if size >= 128 {
        u128::MAX
    } else {
        (1u128 << size) - 1
    };
    start.checked_add(len_minus_one)
}

fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn family(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

fn split(text: &str) -> Result<(IpAddr, u8), IpNetError> {
    let text = text.trim();
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| IpNetError::BadAddress(addr_text.to_string()))?;
    let max = max_len(addr);
    let len = match len_text {
        None => max,
        Some(l) => {
            if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IpNetError::BadPrefixLen(l.to_string()));
            }
            let len: u32 = l
                .parse()
                .map_err(|_| IpNetError::BadPrefixLen(l.to_string()))?;
            if len > u32::from(max) {
                return Err(IpNetError::PrefixTooLong {
                    len,
                    max,
                    family: family(addr),
                });
            }
            // Checked against `max` (<= 128) just above.
            len as u8
        }
    };
    Ok((addr, len))
}

impl FromStr for IpNet {
    type Err = IpNetError;

    /// Parses `addr/len` or a bare address (a single host). Rejects set host bits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, len) = split(text)?;
        let net = Self::new_truncating(addr, len)?;
        if net.addr != addr {
            return Err(IpNetError::HostBitsSet(net));
        }
        Ok(net)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl fmt::Debug for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parsed_string(deserializer, "an IP prefix such as 10.0.0.0/8", |text| {
            text.parse()
                .map_err(|e| format!("invalid prefix '{text}': {e}"))
        })
    }
}

impl JsonSchema for IpNet {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "IpNet".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An IPv4 or IPv6 prefix in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address means a single host. Host bits must be zero.",
            "examples": ["10.0.0.0/8", "2001:db8::/32"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidr_and_hosts() {
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(net("::1").to_string(), "::1/128");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(net("::/0").to_string(), "::/0");
        assert_eq!(net(" 10.1.0.0/16 ").prefix_len(), 16);
    }

    #[test]
    fn rejects_bad_prefixes_with_reasons() {
        let err = |s: &str| s.parse::<IpNet>().unwrap_err().to_string();
        assert_eq!(
            err("10.0.0.0/33"),
            "prefix length 33 is larger than 32, the size of an IPv4 address"
        );
        assert_eq!(
            err("2001:db8::/129"),
            "prefix length 129 is larger than 128, the size of an IPv6 address"
        );
        assert_eq!(
            err("10.1.2.3/8"),
            "host bits are set; did you mean 10.0.0.0/8?"
        );
        assert_eq!(err("10.0.0/8"), "'10.0.0' is not an IPv4 or IPv6 address");
        assert_eq!(err("10.0.0.0/"), "prefix length '' is not a number");
        assert_eq!(err("10.0.0.0/+8"), "prefix length '+8' is not a number");
        assert_eq!(
            err("10.0.0.0/99999999999"),
            "prefix length '99999999999' is not a number"
        );
        assert_eq!(
            err("example.com/24"),
            "'example.com' is not an IPv4 or IPv6 address"
        );
    }

    #[test]
    fn truncating_masks_host_bits() {
        assert_eq!(
            IpNet::parse_truncating("10.1.2.3/8").unwrap(),
            net("10.0.0.0/8")
        );
        assert_eq!(
            IpNet::parse_truncating("2001:db8::1/64").unwrap(),
            net("2001:db8::/64")
        );
    }

    #[test]
    fn contains() {
        assert!(net("10.0.0.0/8").contains(&net("10.1.0.0/16")));
        assert!(!net("10.1.0.0/16").contains(&net("10.0.0.0/8")));
        assert!(!net("0.0.0.0/0").contains(&net("::/0")));
        assert!(net("::/0").contains(&net("2001:db8::/32")));
    }

    #[test]
    fn ranges_become_prefixes() {
        let r = |a: &str, b: &str| {
            IpNet::from_range(a.parse().unwrap(), b.parse().unwrap())
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(r("192.168.1.0", "192.168.1.255"), ["192.168.1.0/24"]);
        assert_eq!(
            r("192.168.1.10", "192.168.1.20"),
            [
                "192.168.1.10/31",
                "192.168.1.12/30",
                "192.168.1.16/30",
                "192.168.1.20/32"
            ]
        );
        assert_eq!(r("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(r("10.0.0.1", "10.0.0.1"), ["10.0.0.1/32"]);
        assert_eq!(r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ["::/0"]);
        assert_eq!(r("2001:db8::", "2001:db8::3"), ["2001:db8::/126"]);
        assert!(
            IpNet::from_range("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap()).is_none()
        );
        assert!(IpNet::from_range("10.0.0.2".parse().unwrap(), "::1".parse().unwrap()).is_none());
    }
}

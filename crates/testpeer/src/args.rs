//! The command line of `corridor-testpeer`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use clap::{Parser, ValueEnum};
use corridor_crypto::EncrAlgorithm;

/// A Corridor test gateway: answers IKEv2 with a pre-shared key, hands out virtual IPv4
/// addresses from a pool and carries ESP in UDP (port 4500) to and from a TUN device.
/// For tests and benchmarks only: its IKE side is a test responder without rekeying.
#[derive(Debug, Parser)]
#[command(name = "corridor-testpeer", version)]
pub(crate) struct Args {
    /// The address to listen on (UDP 500 and 4500 there).
    #[arg(long, value_name = "IP")]
    pub(crate) listen: IpAddr,
    /// The IKE port (the NAT-T port stays 4500).
    #[arg(long, value_name = "PORT", default_value_t = 500)]
    pub(crate) ike_port: u16,
    /// The UDP-encapsulation port.
    #[arg(long, value_name = "PORT", default_value_t = 4500)]
    pub(crate) nat_t_port: u16,
    /// The pre-shared key both sides prove themselves with.
    #[arg(long, env = "CORRIDOR_TESTPEER_PSK", hide_env_values = true)]
    pub(crate) psk: String,
    /// The gateway's identity: an IP address, `user@domain` or an FQDN.
    #[arg(long, value_name = "ID")]
    pub(crate) identity: String,
    /// The virtual IPv4 pool, e.g. 198.19.100.0/24; routed into the TUN device.
    #[arg(long, value_name = "CIDR")]
    pub(crate) pool: Cidr4,
    /// What clients reach through the tunnel (TSr): a LAN subnet or 0.0.0.0/0.
    #[arg(long, value_name = "CIDR")]
    pub(crate) lan: Cidr4,
    /// The DNS server pushed to clients (default: the LAN's first address).
    #[arg(long, value_name = "IP")]
    pub(crate) dns: Option<Ipv4Addr>,
    /// The TUN interface's name.
    #[arg(long, value_name = "NAME", default_value = "testpeer0")]
    pub(crate) tun_name: String,
    /// The TUN interface's MTU.
    #[arg(long, value_name = "BYTES", default_value_t = 1400)]
    pub(crate) mtu: u16,
    /// The one ESP cipher offered (the IKE test responder does not report its choice, so
    /// the data path must know it in advance).
    #[arg(long, value_enum, default_value_t = EspCipher::Aes256gcm16)]
    pub(crate) esp: EspCipher,
    /// Worker threads of the runtime (the two directions run in parallel).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) threads: usize,
}

/// The ESP ciphers the test peer can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EspCipher {
    /// AES-GCM with a 16-byte ICV and a 256-bit key.
    Aes256gcm16,
    /// AES-GCM with a 16-byte ICV and a 128-bit key.
    Aes128gcm16,
    /// ChaCha20-Poly1305.
    Chacha20poly1305,
}

impl EspCipher {
    pub(crate) fn algorithm(self) -> EncrAlgorithm {
        match self {
            Self::Aes256gcm16 => EncrAlgorithm::AesGcm16 { key_bits: 256 },
            Self::Aes128gcm16 => EncrAlgorithm::AesGcm16 { key_bits: 128 },
            Self::Chacha20poly1305 => EncrAlgorithm::ChaCha20Poly1305,
        }
    }
}

/// An IPv4 prefix such as `198.19.0.0/24`; host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr4 {
    pub(crate) network: Ipv4Addr,
    pub(crate) len: u8,
}

impl Cidr4 {
    fn mask(self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0)
    }

    /// The first address.
    pub(crate) fn first(self) -> Ipv4Addr {
        self.network
    }

    /// The last address.
    pub(crate) fn last(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !self.mask())
    }

    /// Whether `addr` lies inside.
    #[cfg(test)]
    pub(crate) fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.network)
    }
}

impl FromStr for Cidr4 {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not an IPv4 prefix like 198.19.0.0/24"))?;
        let network: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("'{addr}' in '{s}' is not an IPv4 address"))?;
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("'{len}' in '{s}' is not a prefix length from 0 to 32"))?;
        let cidr = Cidr4 { network, len };
        if u32::from(network) & !cidr.mask() != 0 {
            return Err(format!("'{s}' has host bits set"));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_bound() {
        let lan: Cidr4 = "198.19.0.0/24".parse().unwrap();
        assert_eq!(lan.last(), Ipv4Addr::new(198, 19, 0, 255));
        assert!(lan.contains(Ipv4Addr::new(198, 19, 0, 10)));
        assert!(!lan.contains(Ipv4Addr::new(198, 19, 1, 10)));
        let all: Cidr4 = "0.0.0.0/0".parse().unwrap();
        assert_eq!(all.last(), Ipv4Addr::BROADCAST);
        assert!(all.contains(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!(all.to_string(), "0.0.0.0/0");
    }

    #[test]
    fn bad_prefixes_say_why() {
        assert!(
            "198.19.0.1/24"
                .parse::<Cidr4>()
                .unwrap_err()
                .contains("host bits")
        );
        assert!(
            "198.19.0.0"
                .parse::<Cidr4>()
                .unwrap_err()
                .contains("prefix")
        );
        assert!("198.19.0.0/33".parse::<Cidr4>().unwrap_err().contains("33"));
        assert!("fd00::/8".parse::<Cidr4>().unwrap_err().contains("IPv4"));
    }
}

//! The traffic selector check on inner IP packets (RFC 4301 §5.1 and §5.2): what the
//! Child SA may carry is exactly what IKE negotiated in TSi/TSr.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use corridor_wire::payload::IpRange;

const TCP: u8 = 6;
const UDP: u8 = 17;
const SCTP: u8 = 132;

/// The parts of an inner IP header the selectors look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flow {
    pub(crate) source: IpAddr,
    pub(crate) destination: IpAddr,
    pub(crate) protocol: u8,
    /// Source and destination ports, for protocols that have them.
    pub(crate) ports: Option<(u16, u16)>,
}

impl Flow {
    /// Reads the addresses, protocol and ports of an IPv4 or IPv6 packet; `None` if it
    /// is neither or too short for its header.
    pub(crate) fn parse(packet: &[u8]) -> Option<Self> {
        match packet.first()? >> 4 {
            4 => {
                let header_len = usize::from(packet.first()? & 0x0f) * 4;
                if header_len < 20 || packet.len() < header_len {
                    return None;
                }
                let source = IpAddr::V4(Ipv4Addr::from(octets::<4>(packet, 12)?));
                let destination = IpAddr::V4(Ipv4Addr::from(octets::<4>(packet, 16)?));
                let protocol = *packet.get(9)?;
                // Only the first fragment carries the transport header.
                let fragment_offset = u16::from_be_bytes(octets::<2>(packet, 6)?) & 0x1fff;
                let ports = if fragment_offset == 0 {
                    ports(protocol, packet.get(header_len..)?)
                } else {
                    None
                };
                Some(Self {
                    source,
                    destination,
                    protocol,
                    ports,
                })
            }
            6 => {
                if packet.len() < 40 {
                    return None;
                }
                let protocol = *packet.get(6)?;
                Some(Self {
                    source: IpAddr::V6(Ipv6Addr::from(octets::<16>(packet, 8)?)),
                    destination: IpAddr::V6(Ipv6Addr::from(octets::<16>(packet, 24)?)),
                    protocol,
                    ports: ports(protocol, packet.get(40..)?),
                })
            }
            _ => None,
        }
    }
}

fn octets<const N: usize>(packet: &[u8], at: usize) -> Option<[u8; N]> {
    packet.get(at..at + N)?.try_into().ok()
}

fn ports(protocol: u8, transport: &[u8]) -> Option<(u16, u16)> {
    matches!(protocol, TCP | UDP | SCTP).then_some(())?;
    Some((
        u16::from_be_bytes(octets::<2>(transport, 0)?),
        u16::from_be_bytes(octets::<2>(transport, 2)?),
    ))
}

/// Whether `address` (with `protocol` and `port`) lies in one of `selectors`.
///
/// RFC 7296 §3.13.1: "Start Port (2 octets, unsigned integer) - Value specifying the
/// smallest port number allowed by this Traffic Selector." A selector that restricts
/// ports matches only packets whose ports are known; one with the full port range
/// (0-65535) matches any packet of its protocol.
pub(crate) fn matches(
    selectors: &[IpRange],
    address: IpAddr,
    protocol: u8,
    port: Option<u16>,
) -> bool {
    selectors.iter().any(|s| {
        let in_range = match (s.start, s.end, address) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => a <= x && x <= b,
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => a <= x && x <= b,
            _ => false,
        };
        let protocol_ok = s.ip_protocol == 0 || s.ip_protocol == protocol;
        let all_ports = s.start_port == 0 && s.end_port == u16::MAX;
        let port_ok = all_ports || port.is_some_and(|p| s.start_port <= p && p <= s.end_port);
        in_range && protocol_ok && port_ok
    })
}

/// Whether a packet we send fits the Child SA: from our side (TSi), to theirs (TSr).
pub(crate) fn outbound_allowed(flow: &Flow, local: &[IpRange], remote: &[IpRange]) -> bool {
    let (sport, dport) = split(flow.ports);
    matches(local, flow.source, flow.protocol, sport)
        && matches(remote, flow.destination, flow.protocol, dport)
}

/// Whether a packet we received fits the Child SA: from their side, to ours.
///
/// RFC 4301 §5.2 (step 4): the receiver checks the inner headers against the SA's
/// selectors and discards a packet that does not match.
pub(crate) fn inbound_allowed(flow: &Flow, local: &[IpRange], remote: &[IpRange]) -> bool {
    let (sport, dport) = split(flow.ports);
    matches(remote, flow.source, flow.protocol, sport)
        && matches(local, flow.destination, flow.protocol, dport)
}

fn split(ports: Option<(u16, u16)>) -> (Option<u16>, Option<u16>) {
    (ports.map(|p| p.0), ports.map(|p| p.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, UDP, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0, 8, 0, 0]);
        p
    }

    fn range(a: &str, b: &str) -> IpRange {
        IpRange::addresses(a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn parses_ipv4_and_ipv6() {
        let flow = Flow::parse(&ipv4_udp([198, 19, 10, 1], [198, 19, 0, 53], 5353, 53)).unwrap();
        assert_eq!(flow.source, "198.19.10.1".parse::<IpAddr>().unwrap());
        assert_eq!(flow.destination, "198.19.0.53".parse::<IpAddr>().unwrap());
        assert_eq!((flow.protocol, flow.ports), (UDP, Some((5353, 53))));

        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 58, 64];
        v6.extend_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
        v6.extend_from_slice(&"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
        let flow = Flow::parse(&v6).unwrap();
        assert_eq!(flow.destination, "fd00::2".parse::<IpAddr>().unwrap());
        assert_eq!((flow.protocol, flow.ports), (58, None));

        assert_eq!(Flow::parse(&[]), None);
        assert_eq!(Flow::parse(&[0x45; 19]), None);
        assert_eq!(Flow::parse(&[0x46, 0, 0, 0]), None);
        assert_eq!(Flow::parse(&[0x20; 40]), None);
    }

    #[test]
    fn selector_ranges_protocols_and_ports() {
        let flow = Flow::parse(&ipv4_udp([198, 19, 10, 1], [198, 19, 0, 53], 5353, 53)).unwrap();
        let local = [range("198.19.10.1", "198.19.10.1")];
        let remote = [range("198.19.0.0", "198.19.255.255")];
        assert!(outbound_allowed(&flow, &local, &remote));
        assert!(!inbound_allowed(&flow, &local, &remote));
        assert!(!outbound_allowed(
            &flow,
            &local,
            &[range("10.0.0.0", "10.255.255.255")]
        ));
        assert!(!outbound_allowed(&flow, &local, &[range("::", "ffff::")]));

        let mut dns_only = remote[0];
        dns_only.ip_protocol = UDP;
        dns_only.start_port = 53;
        dns_only.end_port = 53;
        assert!(outbound_allowed(&flow, &local, &[dns_only]));
        dns_only.ip_protocol = TCP;
        assert!(!outbound_allowed(&flow, &local, &[dns_only]));
        dns_only.ip_protocol = UDP;
        dns_only.start_port = 80;
        dns_only.end_port = 80;
        assert!(!outbound_allowed(&flow, &local, &[dns_only]));
    }
}

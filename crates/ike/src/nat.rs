//! NAT detection (RFC 7296 §2.23).
//!
//! Both ends hash the SPIs and the addresses and ports they see; a hash that does not
//! match what the receiver sees means a NAT rewrote the packet on the way, and the
//! initiator then moves to UDP port 4500 so that ESP can be UDP-encapsulated.

use std::net::{IpAddr, SocketAddr};

use aws_lc_rs::digest;
use corridor_wire::NotifyType;
use corridor_wire::payload::{NotifyBuilder, SHA1_LEN};

/// The IKE port.
pub const IKE_PORT: u16 = 500;
/// The NAT-traversal port (RFC 3948).
pub const NAT_T_PORT: u16 = 4500;

/// SHA-1 over the concatenation of `parts`.
pub(crate) fn sha1(parts: &[&[u8]]) -> [u8; SHA1_LEN] {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; SHA1_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The NAT detection hash of one endpoint.
///
/// RFC 7296 §2.23: "The data associated with the NAT_DETECTION_SOURCE_IP notification is
/// a SHA-1 digest of the SPIs (in the order they appear in the header), IP address, and
/// port from which this packet was sent."
pub fn nat_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> [u8; SHA1_LEN] {
    let ip: Vec<u8> = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    sha1(&[
        &spi_i.to_be_bytes(),
        &spi_r.to_be_bytes(),
        &ip,
        &addr.port().to_be_bytes(),
    ])
}

/// NAT_DETECTION_SOURCE_IP and NAT_DETECTION_DESTINATION_IP for a message from `local`
/// to `remote`.
pub(crate) fn notifies(
    spi_i: u64,
    spi_r: u64,
    local: SocketAddr,
    remote: SocketAddr,
) -> [NotifyBuilder; 2] {
    [
        NotifyBuilder::new(NotifyType::NAT_DETECTION_SOURCE_IP)
            .with_data(nat_hash(spi_i, spi_r, local)),
        NotifyBuilder::new(NotifyType::NAT_DETECTION_DESTINATION_IP)
            .with_data(nat_hash(spi_i, spi_r, remote)),
    ]
}

/// What the gateway's NAT detection notifications tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatStatus {
    /// The gateway sent NAT detection notifications (it supports NAT traversal).
    pub supported: bool,
    /// Our address as the gateway sees it differs from ours: we are behind a NAT.
    pub local_behind_nat: bool,
    /// The gateway's address differs from the one we sent to: it is behind a NAT.
    pub remote_behind_nat: bool,
}

impl NatStatus {
    /// Whether any NAT was detected.
    pub fn detected(&self) -> bool {
        self.local_behind_nat || self.remote_behind_nat
    }

    /// Evaluates the gateway's notifications in its IKE_SA_INIT response, which travelled
    /// from `remote` to `local`.
    ///
    /// RFC 7296 §2.23: "If none of the NAT_DETECTION_SOURCE_IP payload(s) received matches
    /// the expected value of the source IP and port found from the IP header of the packet
    /// containing the payload, it means that the system sending those payloads is behind
    /// a NAT". "If the NAT_DETECTION_DESTINATION_IP payload received does not match the
    /// expected value of the destination IP and port found from the IP header of the
    /// packet containing the payload, it means that the system receiving the
    /// NAT_DETECTION_DESTINATION_IP payload is behind a NAT".
    pub(crate) fn evaluate(
        spi_i: u64,
        spi_r: u64,
        local: SocketAddr,
        remote: SocketAddr,
        sources: &[[u8; SHA1_LEN]],
        destination: Option<[u8; SHA1_LEN]>,
    ) -> Self {
        let Some(destination) = destination else {
            return Self::default();
        };
        if sources.is_empty() {
            return Self::default();
        }
        let remote_hash = nat_hash(spi_i, spi_r, remote);
        Self {
            supported: true,
            local_behind_nat: destination != nat_hash(spi_i, spi_r, local),
            remote_behind_nat: !sources.contains(&remote_hash),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answer() {
        // FIPS 180 "abc".
        assert_eq!(
            sha1(&[b"a", b"bc"]),
            [
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ]
        );
    }

    #[test]
    fn detects_rewritten_addresses() {
        let local: SocketAddr = "198.18.1.2:500".parse().unwrap();
        let remote: SocketAddr = "198.18.0.1:500".parse().unwrap();
        let seen_by_gw: SocketAddr = "198.18.9.9:33000".parse().unwrap();
        let src = nat_hash(1, 2, remote);
        let s = NatStatus::evaluate(1, 2, local, remote, &[src], Some(nat_hash(1, 2, local)));
        assert!(s.supported && !s.detected());
        let s = NatStatus::evaluate(
            1,
            2,
            local,
            remote,
            &[src],
            Some(nat_hash(1, 2, seen_by_gw)),
        );
        assert!(s.local_behind_nat && !s.remote_behind_nat);
        assert!(!NatStatus::evaluate(1, 2, local, remote, &[], None).supported);
    }
}

//! The data plane's per-packet work, without I/O: ESP datagrams from clients become
//! inner packets for the TUN device, and packets from the TUN device become ESP
//! datagrams in a [`DatagramBatch`].

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;

use corridor_esp::{DatagramBatch, NEXT_HEADER_IPV4, Received, classify};

use crate::gateway::{Tables, Tunnel};

/// What a datagram on the NAT-T port turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arrived {
    /// An inner IPv4 packet, now plaintext at this range of the datagram's buffer.
    Inner(Range<usize>),
    /// An IKE message (behind its non-ESP marker), for the control plane.
    Ike,
    /// Nothing to pass on: a NAT-keepalive, or a packet dropped for the reason given.
    Dropped(&'static str),
}

/// The IPv4 source and destination of `packet`, if it is a plausible IPv4 header.
fn ipv4_addresses(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let header = packet.get(..20)?;
    if header[0] >> 4 != 4 {
        return None;
    }
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    Some((src, dst))
}

/// Decapsulates a datagram that arrived on the NAT-T port from `from`, in place.
pub(crate) fn open(tables: &Tables, from: SocketAddr, datagram: &mut [u8]) -> Arrived {
    let spi = match classify(datagram) {
        Ok(Received::Esp { spi }) => spi,
        Ok(Received::Ike { .. }) => return Arrived::Ike,
        Ok(Received::Keepalive) => return Arrived::Dropped("keepalive"),
        Err(_) => return Arrived::Dropped("malformed"),
    };
    let Some(tunnel) = tables.by_spi.get(&spi) else {
        return Arrived::Dropped("unknown SPI");
    };
    let decapsulated = {
        let Ok(mut inbound) = tunnel.inbound.lock() else {
            return Arrived::Dropped("poisoned SA");
        };
        inbound.decapsulate(datagram)
    };
    let Ok(d) = decapsulated else {
        return Arrived::Dropped("not authentic or replayed");
    };
    if d.is_dummy() {
        return Arrived::Dropped("dummy packet");
    }
    if d.next_header != NEXT_HEADER_IPV4 {
        return Arrived::Dropped("not IPv4");
    }
    // RFC 4301 §5.2: an inbound packet whose inner header does not match the SA's
    // selectors "MUST be discarded". The client's selector is its virtual IP.
    match ipv4_addresses(d.inner(datagram)) {
        Some((src, _)) if src == tunnel.assigned => {}
        _ => return Arrived::Dropped("source outside the traffic selector"),
    }
    // RFC 3948 §4 lets an implementation follow a NAT mapping that changed; the
    // client's address is where its latest authentic packet came from.
    if let Ok(mut outbound) = tunnel.outbound.lock()
        && outbound.remote != from
    {
        outbound.remote = from;
    }
    Arrived::Inner(d.inner)
}

/// The client a packet from the TUN device belongs to (by its IPv4 destination).
pub(crate) fn route(tables: &Tables, packet: &[u8]) -> Option<Arc<Tunnel>> {
    let (_, dst) = ipv4_addresses(packet)?;
    tables.by_ip.get(&dst).cloned()
}

/// Encapsulates `packets` (all for `tunnel`) into `batch`; returns where to send them
/// and how many failed.
pub(crate) fn seal<'p>(
    tunnel: &Tunnel,
    packets: impl IntoIterator<Item = &'p [u8]>,
    batch: &mut DatagramBatch,
) -> (Option<SocketAddr>, usize) {
    let Ok(mut outbound) = tunnel.outbound.lock() else {
        return (None, 0);
    };
    let mut failed = 0;
    for packet in packets {
        let max = outbound.sa.encapsulated_len(packet.len());
        if batch
            .push_with(max, |buf| outbound.sa.encapsulate(packet, buf))
            .is_err()
        {
            failed += 1;
        }
    }
    (Some(outbound.remote), failed)
}

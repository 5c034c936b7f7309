//! The data plane's per-packet work, without I/O: ESP datagrams from clients become
//! inner packets for the TUN device, and packets from the TUN device become ESP
//! datagrams in a [`DatagramBatch`]. Both directions work on whole bursts, taking each
//! SA lock once per run of packets of one client.

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
#[cfg(test)]
pub(crate) fn open(tables: &Tables, from: SocketAddr, datagram: &mut [u8]) -> Arrived {
    let len = datagram.len();
    let mut arrived = Vec::with_capacity(1);
    open_burst(tables, datagram, &[(from, 0..len)], &mut arrived);
    arrived.pop().unwrap_or(Arrived::Dropped("malformed"))
}

/// Decapsulates, in place, the datagrams that arrived on the NAT-T port: datagram `i`
/// came from `datagrams[i].0` and lies at `datagrams[i].1` of `storage`. Appends what
/// each one turned out to be to `arrived` (an inner packet's range is relative to its
/// datagram). Consecutive datagrams of one SA share one lock of each of its halves.
pub(crate) fn open_burst(
    tables: &Tables,
    storage: &mut [u8],
    datagrams: &[(SocketAddr, Range<usize>)],
    arrived: &mut Vec<Arrived>,
) {
    let spi_of =
        |storage: &[u8], range: &Range<usize>| match storage.get(range.clone()).map(classify) {
            Some(Ok(Received::Esp { spi })) => Ok(spi),
            Some(Ok(Received::Ike { .. })) => Err(Arrived::Ike),
            Some(Ok(Received::Keepalive)) => Err(Arrived::Dropped("keepalive")),
            Some(Err(_)) | None => Err(Arrived::Dropped("malformed")),
        };
    let mut i = 0;
    while i < datagrams.len() {
        let spi = match spi_of(storage, &datagrams[i].1) {
            Ok(spi) => spi,
            Err(other) => {
                arrived.push(other);
                i += 1;
                continue;
            }
        };
        let mut end = i + 1;
        while end < datagrams.len() && spi_of(storage, &datagrams[end].1) == Ok(spi) {
            end += 1;
        }
        match tables.by_spi.get(&spi) {
            Some(tunnel) => open_run(tunnel, storage, &datagrams[i..end], arrived),
            None => arrived.extend((i..end).map(|_| Arrived::Dropped("unknown SPI"))),
        }
        i = end;
    }
}

/// [`open_burst`] for a run of datagrams of `tunnel`'s inbound SA.
fn open_run(
    tunnel: &Tunnel,
    storage: &mut [u8],
    datagrams: &[(SocketAddr, Range<usize>)],
    arrived: &mut Vec<Arrived>,
) {
    let Ok(mut inbound) = tunnel.inbound.lock() else {
        arrived.extend(datagrams.iter().map(|_| Arrived::Dropped("poisoned SA")));
        return;
    };
    let mut latest = None;
    for (from, range) in datagrams {
        let Some(datagram) = storage.get_mut(range.clone()) else {
            arrived.push(Arrived::Dropped("malformed"));
            continue;
        };
        let Ok(d) = inbound.decapsulate(datagram) else {
            arrived.push(Arrived::Dropped("not authentic or replayed"));
            continue;
        };
        latest = Some(*from);
        if d.is_dummy() {
            arrived.push(Arrived::Dropped("dummy packet"));
            continue;
        }
        if d.next_header != NEXT_HEADER_IPV4 {
            arrived.push(Arrived::Dropped("not IPv4"));
            continue;
        }
        // RFC 4301 §5.2: an inbound packet whose inner header does not match the SA's
        // selectors "MUST be discarded". The client's selector is its virtual IP.
        match ipv4_addresses(d.inner(datagram)) {
            Some((src, _)) if src == tunnel.assigned => arrived.push(Arrived::Inner(d.inner)),
            _ => arrived.push(Arrived::Dropped("source outside the traffic selector")),
        }
    }
    drop(inbound);
    // RFC 3948 §4 lets an implementation follow a NAT mapping that changed; the
    // client's address is where its latest authentic packet came from.
    if let Some(from) = latest
        && let Ok(mut outbound) = tunnel.outbound.lock()
        && outbound.remote != from
    {
        outbound.remote = from;
    }
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

//! Joining the packets that come out of the tunnel into super-packets for a Linux TUN
//! device with offloads (`IFF_VNET_HDR`), without copying a payload.
//!
//! A download arrives as runs of consecutive TCP segments of one flow. Handed to the
//! kernel one by one, each 1.4 KB segment costs a system call and a trip through the
//! IP and TCP stack; handed over as one packet of up to 64 KiB whose virtio-net header
//! says how it was cut (`gso_size`), the stack takes it as a NIC's receive offload
//! (GRO) would have produced it. What may be joined follows Linux's own receive offload
//! (`tcp_gro_receive`, `udp_gro_receive` in `net/ipv4/`): the same flow, IP headers
//! equal but for length, identification and checksum, TCP headers equal but for the
//! sequence number (consecutive), the checksum and PSH, every segment the size of the
//! first but the last, which may be shorter and ends the run, as PSH does.
//!
//! Each segment's checksum is verified before it joins a super-packet: the kernel
//! trusts the checksum of a packet that arrives with `VIRTIO_NET_HDR_F_NEEDS_CSUM`, and
//! a packet corrupted between its sender and the gateway (which forwards without
//! looking) would otherwise be accepted. A segment that fails, or that cannot be
//! joined for any other reason, is written as it is, and the kernel decides.
//!
//! Only the headers of a super-packet are written here, into a small area per write;
//! the payloads stay where decryption left them and become the parts of one vectored
//! write ([`Coalescer::writes`]).

use std::ops::Range;

/// The virtio-net header in front of every packet on an offload device
/// (`struct virtio_net_hdr`: flags, GSO type, header length, GSO size, checksum start
/// and offset; 16-bit fields in the machine's byte order).
pub(crate) const VNET_HDR_LEN: usize = 10;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the kernel completes the transport checksum, whose
/// field holds the pseudo-header sum.
const NEEDS_CSUM: u8 = 1;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_UDP_L4` (Linux 6.2 and later on TUN devices).
const GSO_UDP_L4: u8 = 5;

/// The most segments one super-packet joins: Linux's own receive offload stops at 64
/// (`MAX_GRO_SKBS`, and `gso_max_segs` of a virtual device).
pub(crate) const MAX_SEGMENTS: usize = 64;
/// The longest packet: IPv4's total length and IPv6's payload length are 16 bits.
const MAX_PACKET: usize = 65_535;
/// Room for the headers copied per write: IPv6 (40 bytes) and the longest TCP header
/// (60). IPv4 with options is never joined.
const MAX_HEADERS: usize = 40 + 60;
/// The distance between two writes' header areas.
const HEADER_SLOT: usize = VNET_HDR_LEN + MAX_HEADERS;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;

/// Packets grouped into writes, headers rewritten, for one batch.
#[derive(Debug, Default)]
pub(crate) struct Coalescer {
    /// [`HEADER_SLOT`] bytes per write: the virtio-net header, then (for a joinable
    /// packet) a copy of the first segment's IP and transport headers.
    headers: Vec<u8>,
    /// The writes of this batch (`writes[..used]`); kept across batches with their
    /// part lists, so that a steady data path allocates nothing.
    writes: Vec<Write>,
    used: usize,
    /// Whether UDP datagrams may be joined (the device accepts UDP segmentation).
    udp: bool,
}

/// One write to the device: a header area and parts of the caller's bytes.
#[derive(Debug, Default, Clone)]
struct Write {
    /// Bytes of this write's header area in use.
    header_len: usize,
    /// What follows the header area: whole packets' ranges for a plain write, else
    /// the payload of each segment.
    parts: Vec<Range<usize>>,
    /// The joinable flow, `None` for a packet written as it is.
    run: Option<Run>,
}

/// What a super-packet under construction needs to take another segment.
#[derive(Debug, Clone)]
struct Run {
    flow: Flow,
    ip_len: usize,
    transport_len: usize,
    /// The payload size of the first segment: every segment but the last has it.
    segment_size: usize,
    payload: usize,
    /// The sequence number the next TCP segment must carry.
    next_seq: u32,
    /// Whether another segment may join.
    open: bool,
    /// Whether a joined segment had PSH set (the super-packet then carries it).
    push: bool,
    /// The first segment, whose checksum is verified when a second one joins.
    first: Range<usize>,
    first_verified: bool,
}

/// A flow: addresses, ports and protocol, as they appear in the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flow {
    v6: bool,
    protocol: u8,
    /// Source and destination addresses (IPv4 uses the first 8 bytes), then the ports.
    key: [u8; 36],
}

/// A packet that may join or start a super-packet.
#[derive(Debug)]
struct Segment {
    flow: Flow,
    ip_len: usize,
    transport_len: usize,
    payload: usize,
    seq: u32,
    flags: u8,
}

impl Coalescer {
    /// A coalescer that joins TCP segments, and UDP datagrams too when `udp`.
    pub(crate) fn new(udp: bool) -> Self {
        Self {
            udp,
            ..Self::default()
        }
    }

    /// Groups `packets` (ranges of `bytes`) into writes, replacing the last batch's.
    pub(crate) fn coalesce(&mut self, bytes: &[u8], packets: &[Range<usize>]) {
        self.used = 0;
        for range in packets {
            let Some(packet) = bytes.get(range.clone()) else {
                continue;
            };
            match parse(packet, self.udp) {
                Some(segment) => self.push_segment(bytes, range.clone(), &segment),
                None => self.push_plain(range.clone()),
            }
        }
        for index in 0..self.used {
            self.finish(index);
        }
    }

    /// The writes of the last batch, in order: the header area (the virtio-net header
    /// and any rewritten IP and transport headers) to write before the parts, and the
    /// parts (ranges of the batch's bytes), one per packet of the batch the write
    /// carries.
    pub(crate) fn writes(&self) -> impl Iterator<Item = (&[u8], &[Range<usize>])> {
        self.writes[..self.used]
            .iter()
            .zip(self.headers.chunks_exact(HEADER_SLOT))
            .map(|(write, header)| {
                (
                    header.get(..write.header_len).unwrap_or_default(),
                    write.parts.as_slice(),
                )
            })
    }

    /// Claims the next write and its zeroed header area.
    fn next_write(&mut self) -> usize {
        let index = self.used;
        self.used += 1;
        if self.writes.len() < self.used {
            self.writes.push(Write::default());
        }
        let end = self.used * HEADER_SLOT;
        if self.headers.len() < end {
            self.headers.resize(end, 0);
        }
        if let Some(header) = self.headers.get_mut(index * HEADER_SLOT..end) {
            header.fill(0);
        }
        index
    }

    /// A packet written as it is, behind a header that asks for nothing.
    fn push_plain(&mut self, range: Range<usize>) {
        let index = self.next_write();
        let write = &mut self.writes[index];
        write.header_len = VNET_HDR_LEN;
        write.parts.clear();
        write.parts.push(range);
        write.run = None;
    }

    fn push_segment(&mut self, bytes: &[u8], range: Range<usize>, segment: &Segment) {
        // The flow's latest super-packet, if it still takes segments (a flow's older
        // ones are closed when a newer one starts, so order within a flow is kept).
        let open = self.writes[..self.used].iter().rposition(|write| {
            write
                .run
                .as_ref()
                .is_some_and(|run| run.open && run.flow == segment.flow)
        });
        if let Some(index) = open {
            if self.try_join(index, bytes, &range, segment) {
                return;
            }
            if let Some(run) = &mut self.writes[index].run {
                run.open = false;
            }
        }
        self.start_run(bytes, range, segment);
    }

    /// Starts a super-packet with `segment`: its headers go to the header area.
    fn start_run(&mut self, bytes: &[u8], range: Range<usize>, segment: &Segment) {
        let headers = segment.ip_len + segment.transport_len;
        let index = self.next_write();
        let slot = index * HEADER_SLOT + VNET_HDR_LEN;
        let (Some(source), Some(target)) = (
            bytes.get(range.start..range.start + headers),
            self.headers.get_mut(slot..slot + headers),
        ) else {
            // Cannot happen (parse checked the lengths); write the packet as it is.
            self.used -= 1;
            self.push_plain(range);
            return;
        };
        target.copy_from_slice(source);
        let write = &mut self.writes[index];
        write.header_len = VNET_HDR_LEN + headers;
        write.parts.clear();
        write.parts.push(range.start + headers..range.end);
        write.run = Some(Run {
            flow: segment.flow,
            ip_len: segment.ip_len,
            transport_len: segment.transport_len,
            segment_size: segment.payload,
            payload: segment.payload,
            next_seq: segment.seq.wrapping_add(segment.payload as u32),
            open: segment.flags & TCP_PSH == 0,
            push: segment.flags & TCP_PSH != 0,
            first: range,
            first_verified: false,
        });
    }

    /// Adds `segment` to super-packet `index` if the rules allow; says whether it did.
    fn try_join(
        &mut self,
        index: usize,
        bytes: &[u8],
        range: &Range<usize>,
        segment: &Segment,
    ) -> bool {
        let slot = index * HEADER_SLOT + VNET_HDR_LEN;
        let write = &mut self.writes[index];
        let Some(run) = &mut write.run else {
            return false;
        };
        let headers = run.ip_len + run.transport_len;
        let (Some(first), Some(packet)) = (
            self.headers.get(slot..slot + headers),
            bytes.get(range.clone()),
        ) else {
            return false;
        };
        let fits = write.parts.len() < MAX_SEGMENTS
            && segment.payload <= run.segment_size
            && headers + run.payload + segment.payload <= MAX_PACKET
            && segment.ip_len == run.ip_len
            && segment.transport_len == run.transport_len
            && ip_headers_match(first, packet, run.flow.v6)
            && (run.flow.protocol == PROTO_UDP
                || (segment.seq == run.next_seq
                    && tcp_headers_match(&first[run.ip_len..], &packet[run.ip_len..])));
        if !fits || !transport_checksum_valid(packet, segment.ip_len, run.flow) {
            return false;
        }
        if !run.first_verified {
            let first_valid = bytes
                .get(run.first.clone())
                .is_some_and(|first| transport_checksum_valid(first, run.ip_len, run.flow));
            if !first_valid {
                return false;
            }
            run.first_verified = true;
        }
        write.parts.push(range.start + headers..range.end);
        run.payload += segment.payload;
        run.next_seq = run.next_seq.wrapping_add(segment.payload as u32);
        run.push |= segment.flags & TCP_PSH != 0;
        // A short segment or PSH ends the run (Linux flushes on both).
        run.open = segment.payload == run.segment_size && segment.flags & TCP_PSH == 0;
        true
    }

    /// Rewrites the headers of write `index` if it joined segments: lengths, the IPv4
    /// header checksum, the pseudo-header sum in the transport checksum field, PSH,
    /// and the virtio-net header that tells the kernel how to cut it again.
    fn finish(&mut self, index: usize) {
        let write = &self.writes[index];
        let Some(run) = &write.run else {
            return;
        };
        if write.parts.len() < 2 {
            // One segment: the copied headers are the packet's own; written as it is.
            return;
        }
        let slot = index * HEADER_SLOT;
        let Some(area) = self.headers.get_mut(slot..slot + HEADER_SLOT) else {
            return;
        };
        let (vnet, rest) = area.split_at_mut(VNET_HDR_LEN);
        let (ip, rest) = rest.split_at_mut(run.ip_len);
        let Some(transport) = rest.get_mut(..run.transport_len) else {
            return;
        };
        let transport_total = run.transport_len + run.payload;
        let (addresses, gso_type) = if run.flow.v6 {
            put_u16(&mut ip[4..6], transport_total);
            (
                &ip[8..40],
                if run.flow.protocol == PROTO_TCP {
                    GSO_TCPV6
                } else {
                    GSO_UDP_L4
                },
            )
        } else {
            put_u16(&mut ip[2..4], run.ip_len + transport_total);
            ip[10..12].fill(0);
            let header_sum = !fold(sum(ip, 0));
            ip[10..12].copy_from_slice(&header_sum.to_be_bytes());
            (
                &ip[12..20],
                if run.flow.protocol == PROTO_TCP {
                    GSO_TCPV4
                } else {
                    GSO_UDP_L4
                },
            )
        };
        let pseudo = fold(pseudo_header_sum(
            addresses,
            run.flow.protocol,
            transport_total,
        ));
        let checksum_offset = if run.flow.protocol == PROTO_TCP {
            if run.push {
                transport[13] |= TCP_PSH;
            }
            16
        } else {
            put_u16(&mut transport[4..6], transport_total);
            6
        };
        transport[checksum_offset..checksum_offset + 2].copy_from_slice(&pseudo.to_be_bytes());
        vnet[0] = NEEDS_CSUM;
        vnet[1] = gso_type;
        let fields = [
            run.ip_len + run.transport_len,
            run.segment_size,
            run.ip_len,
            checksum_offset,
        ];
        for (field, value) in vnet[2..].chunks_exact_mut(2).zip(fields) {
            // Every value is below 64 KiB: headers, a segment of a 64 KiB packet.
            field.copy_from_slice(&(value as u16).to_ne_bytes());
        }
    }
}

/// Reads a packet that could join a super-packet: IPv4 without options or fragments
/// and with a valid header checksum, or IPv6 without extension headers; carrying a TCP
/// segment with data and no flag but ACK and PSH, or (when `udp`) a UDP datagram with
/// data and a checksum. Anything else is `None`.
fn parse(packet: &[u8], udp: bool) -> Option<Segment> {
    let version = packet.first()? >> 4;
    let (v6, ip_len, protocol) = match version {
        4 => {
            let header = packet.get(..20)?;
            let fragment = u16::from_be_bytes([header[6], header[7]]);
            let options = header[0] & 0x0f != 5;
            if options
                || usize::from(u16::from_be_bytes([header[2], header[3]])) != packet.len()
                || fragment & 0x3fff != 0
                || fold(sum(header, 0)) != 0xffff
            {
                return None;
            }
            (false, 20, header[9])
        }
        6 => {
            let header = packet.get(..40)?;
            if usize::from(u16::from_be_bytes([header[4], header[5]])) + 40 != packet.len() {
                return None;
            }
            (true, 40, header[6])
        }
        _ => return None,
    };
    let transport = packet.get(ip_len..)?;
    let mut key = [0u8; 36];
    if v6 {
        key[..32].copy_from_slice(&packet[8..40]);
    } else {
        key[..8].copy_from_slice(&packet[12..20]);
    }
    key[32..].copy_from_slice(transport.get(..4)?);
    let flow = Flow { v6, protocol, key };
    match protocol {
        PROTO_TCP => {
            let fixed = transport.get(..20)?;
            let transport_len = usize::from(fixed[12] >> 4) * 4;
            let flags = fixed[13];
            let payload = transport.len().checked_sub(transport_len)?;
            if transport_len < 20
                || payload == 0
                || flags & !(TCP_ACK | TCP_PSH) != 0
                || flags & TCP_ACK == 0
            {
                return None;
            }
            Some(Segment {
                flow,
                ip_len,
                transport_len,
                payload,
                seq: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
                flags,
            })
        }
        PROTO_UDP if udp => {
            let fixed = transport.get(..8)?;
            let length = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
            let checksum = u16::from_be_bytes([fixed[6], fixed[7]]);
            if length != transport.len() || length <= 8 || checksum == 0 {
                return None;
            }
            Some(Segment {
                flow,
                ip_len,
                transport_len: 8,
                payload: length - 8,
                seq: 0,
                flags: 0,
            })
        }
        _ => None,
    }
}

/// Whether two packets' IP headers agree on everything a joined packet keeps from the
/// first: IPv4 type of service (with ECN), flags and fragment field, TTL and protocol;
/// IPv6 traffic class, flow label, next header and hop limit. (Addresses are part of
/// the flow.)
fn ip_headers_match(first: &[u8], packet: &[u8], v6: bool) -> bool {
    let same = |range: Range<usize>| first.get(range.clone()) == packet.get(range);
    if v6 {
        same(0..4) && same(6..8)
    } else {
        same(1..2) && same(6..10)
    }
}

/// Whether a TCP segment may follow the first of a super-packet: the same
/// acknowledgement number, header length, flags (but PSH), window and options.
fn tcp_headers_match(first: &[u8], segment: &[u8]) -> bool {
    let same = |range: Range<usize>| first.get(range.clone()) == segment.get(range);
    let header_len = usize::from(first.get(12).map_or(0, |b| b >> 4)) * 4;
    same(8..13)
        && first.get(13).map(|f| f & !TCP_PSH) == segment.get(13).map(|f| f & !TCP_PSH)
        && same(14..16)
        && same(20..header_len)
}

/// Verifies the TCP or UDP checksum of `packet`, whose transport header starts at
/// `ip_len` (RFC 793 section 3.1, RFC 768, RFC 8200 section 8.1).
fn transport_checksum_valid(packet: &[u8], ip_len: usize, flow: Flow) -> bool {
    let Some(transport) = packet.get(ip_len..) else {
        return false;
    };
    let addresses = if flow.v6 {
        packet.get(8..40)
    } else {
        packet.get(12..20)
    };
    let Some(addresses) = addresses else {
        return false;
    };
    let pseudo = pseudo_header_sum(addresses, flow.protocol, transport.len());
    fold(sum(transport, pseudo)) == 0xffff
}

/// The one's complement sum (not folded) of the pseudo-header: both addresses, the
/// protocol and the transport length.
fn pseudo_header_sum(addresses: &[u8], protocol: u8, transport_len: usize) -> u64 {
    sum(addresses, u64::from(protocol) + transport_len as u64)
}

/// Adds `bytes` as big-endian 16-bit words to `initial`, without folding (RFC 1071).
///
/// Eight bytes at a time in the machine's byte order, each half into a 64-bit
/// accumulator, which cannot overflow for any packet and which the compiler turns into
/// vector additions; the byte order is put right once at the end, which one's
/// complement addition allows (RFC 1071 section 2 (B)).
fn sum(bytes: &[u8], initial: u64) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut total = 0u64;
    for word in words.by_ref() {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let word = u64::from_ne_bytes(eight);
        total += (word & 0xffff_ffff) + (word >> 32);
    }
    let rest = words.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let word = u64::from_ne_bytes(tail);
    total += (word & 0xffff_ffff) + (word >> 32);
    initial + u64::from(u16::from_be(fold(total)))
}

/// Folds a sum to 16 bits with end-around carry.
fn fold(mut total: u64) -> u16 {
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    total as u16
}

fn put_u16(field: &mut [u8], value: usize) {
    field.copy_from_slice(&(value as u16).to_be_bytes());
}

#[cfg(test)]
#[path = "tun_coalesce_tests.rs"]
mod tests;

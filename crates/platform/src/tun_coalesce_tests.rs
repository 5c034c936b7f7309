use super::*;

const CLIENT: [u8; 4] = [198, 18, 10, 2];
const SERVER: [u8; 4] = [198, 19, 0, 10];
const CLIENT6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const SERVER6: [u8; 16] = [0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10];

/// A TCP segment's header fields the tests vary.
#[derive(Clone, Copy)]
struct Tcp {
    sport: u16,
    seq: u32,
    flags: u8,
    window: u16,
    ttl: u8,
}

impl Default for Tcp {
    fn default() -> Self {
        Self {
            sport: 5201,
            seq: 1000,
            flags: TCP_ACK,
            window: 500,
            ttl: 63,
        }
    }
}

/// An IPv4 (or IPv6) TCP segment with a timestamp option and correct checksums.
fn tcp(fields: Tcp, payload: &[u8], v6: bool) -> Vec<u8> {
    let mut transport = vec![0u8; 32];
    transport[0..2].copy_from_slice(&fields.sport.to_be_bytes());
    transport[2..4].copy_from_slice(&40000u16.to_be_bytes());
    transport[4..8].copy_from_slice(&fields.seq.to_be_bytes());
    transport[8..12].copy_from_slice(&777u32.to_be_bytes());
    transport[12] = 8 << 4;
    transport[13] = fields.flags;
    transport[14..16].copy_from_slice(&fields.window.to_be_bytes());
    transport[20..32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7]);
    transport.extend_from_slice(payload);
    ip(transport, PROTO_TCP, 16, fields.ttl, v6)
}

fn udp(sport: u16, payload: &[u8]) -> Vec<u8> {
    let mut transport = vec![0u8; 8];
    transport[0..2].copy_from_slice(&sport.to_be_bytes());
    transport[2..4].copy_from_slice(&443u16.to_be_bytes());
    transport[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    transport.extend_from_slice(payload);
    ip(transport, PROTO_UDP, 6, 64, false)
}

/// Wraps `transport` in an IP header and fills in both checksums.
fn ip(mut transport: Vec<u8>, protocol: u8, checksum_at: usize, ttl: u8, v6: bool) -> Vec<u8> {
    let (src, dst): (&[u8], &[u8]) = if v6 {
        (&SERVER6, &CLIENT6)
    } else {
        (&SERVER, &CLIENT)
    };
    let mut addresses = src.to_vec();
    addresses.extend_from_slice(dst);
    let pseudo = pseudo_header_sum(&addresses, protocol, transport.len());
    let checksum = !fold(sum(&transport, pseudo));
    transport[checksum_at..checksum_at + 2].copy_from_slice(&checksum.to_be_bytes());
    let mut packet = if v6 {
        let mut header = vec![0x60, 0, 0, 0, 0, 0, protocol, ttl];
        header[4..6].copy_from_slice(&(transport.len() as u16).to_be_bytes());
        header
    } else {
        let total = (20 + transport.len()) as u16;
        let mut header = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, ttl, protocol, 0, 0];
        header[2..4].copy_from_slice(&total.to_be_bytes());
        header
    };
    packet.extend_from_slice(&addresses);
    if !v6 {
        let checksum = !fold(sum(&packet, 0));
        packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    }
    packet.extend_from_slice(&transport);
    packet
}

/// `packets` laid end to end, as the tunnel hands them over.
fn batch(packets: &[Vec<u8>]) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    for packet in packets {
        ranges.push(bytes.len()..bytes.len() + packet.len());
        bytes.extend_from_slice(packet);
    }
    (bytes, ranges)
}

/// What the device would receive: each write's header area and parts, joined.
fn written(coalescer: &Coalescer, bytes: &[u8]) -> Vec<(Vec<u8>, usize)> {
    coalescer
        .writes()
        .map(|(header, parts)| {
            let mut out = header.to_vec();
            for part in parts {
                out.extend_from_slice(&bytes[part.clone()]);
            }
            (out, parts.len())
        })
        .collect()
}

fn run(packets: &[Vec<u8>], udp: bool) -> Vec<(Vec<u8>, usize)> {
    let (bytes, ranges) = batch(packets);
    let mut coalescer = Coalescer::new(udp);
    coalescer.coalesce(&bytes, &ranges);
    written(&coalescer, &bytes)
}

fn flow(start: u32, sizes: &[usize], v6: bool) -> Vec<Vec<u8>> {
    let mut seq = start;
    sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let payload: Vec<u8> = (0..size).map(|b| (b * 7 + i) as u8).collect();
            let packet = tcp(
                Tcp {
                    seq,
                    ..Tcp::default()
                },
                &payload,
                v6,
            );
            seq = seq.wrapping_add(size as u32);
            packet
        })
        .collect()
}

fn vnet_u16(write: &[u8], field: usize) -> usize {
    usize::from(u16::from_ne_bytes([
        write[2 + 2 * field],
        write[3 + 2 * field],
    ]))
}

#[test]
fn consecutive_segments_become_one_super_packet() {
    let packets = flow(1000, &[1386, 1386, 1386, 1000], false);
    let writes = run(&packets, false);
    assert_eq!(writes.len(), 1);
    let (write, count) = &writes[0];
    assert_eq!(*count, 4);
    let (vnet, packet) = write.split_at(VNET_HDR_LEN);
    assert_eq!(vnet[0], NEEDS_CSUM);
    assert_eq!(vnet[1], GSO_TCPV4);
    assert_eq!(vnet_u16(write, 0), 52, "header length");
    assert_eq!(vnet_u16(write, 1), 1386, "segment size");
    assert_eq!(vnet_u16(write, 2), 20, "checksum start");
    assert_eq!(vnet_u16(write, 3), 16, "checksum offset");
    // The IPv4 header: new length, valid checksum, everything else the first's.
    assert_eq!(
        usize::from(u16::from_be_bytes([packet[2], packet[3]])),
        packet.len()
    );
    assert_eq!(packet.len(), 52 + 3 * 1386 + 1000);
    assert_eq!(fold(sum(&packet[..20], 0)), 0xffff);
    assert_eq!(packet[12..20], packets[0][12..20]);
    // The TCP header is the first's, the checksum field holds the pseudo-header sum.
    assert_eq!(packet[20..36], packets[0][20..36]);
    let pseudo = fold(pseudo_header_sum(
        &packet[12..20],
        PROTO_TCP,
        packet.len() - 20,
    ));
    assert_eq!(packet[36..38], pseudo.to_be_bytes());
    // Completing that checksum over the whole segment gives a valid one.
    let mut completed = packet.to_vec();
    let full = !fold(sum(&completed[20..], 0));
    completed[36..38].copy_from_slice(&full.to_be_bytes());
    let flow = parse(&packets[0], false).unwrap().flow;
    assert!(transport_checksum_valid(&completed, 20, flow));
    // The payloads, in order.
    let payloads: Vec<u8> = packets.iter().flat_map(|p| p[52..].to_vec()).collect();
    assert_eq!(packet[52..], payloads[..]);
}

/// The kernel cuts a super-packet again by its virtio-net header; tun-rs implements
/// that cut for devices that read super-packets, and must get the packets back.
#[cfg(target_os = "linux")]
#[test]
fn the_kernels_cut_gives_the_original_segments_back() {
    for v6 in [false, true] {
        let packets = flow(u32::MAX - 2000, &[1300, 1300, 1300, 700], v6);
        let writes = run(&packets, false);
        assert_eq!(writes.len(), 1, "v6 {v6}");
        let mut write = writes[0].0.clone();
        let header = tun_rs::VirtioNetHdr::decode(&write).unwrap();
        let mut out = vec![vec![0u8; 2000]; 8];
        let mut sizes = vec![0; 8];
        let n = tun_rs::gso_split(
            &mut write[VNET_HDR_LEN..],
            header,
            &mut out,
            &mut sizes,
            0,
            v6,
        )
        .unwrap();
        assert_eq!(n, packets.len());
        for (i, original) in packets.iter().enumerate() {
            let cut = &out[i][..sizes[i]];
            assert_eq!(cut.len(), original.len());
            let flow = parse(original, false).unwrap().flow;
            let ip_len = if v6 { 40 } else { 20 };
            assert!(transport_checksum_valid(cut, ip_len, flow), "segment {i}");
            // All but the IPv4 identification (the cut numbers them on) agree.
            if v6 {
                assert_eq!(cut, &original[..]);
            } else {
                assert_eq!(cut[..4], original[..4]);
                assert_eq!(cut[12..], original[12..]);
            }
        }
    }
}

#[test]
fn flows_are_joined_separately_and_in_order() {
    let a = flow(1, &[1000, 1000, 1000], false);
    let b: Vec<Vec<u8>> = [5u32, 1005, 2005]
        .iter()
        .map(|&seq| {
            tcp(
                Tcp {
                    sport: 6000,
                    seq,
                    ..Tcp::default()
                },
                &[9; 1000],
                false,
            )
        })
        .collect();
    let interleaved = vec![
        a[0].clone(),
        b[0].clone(),
        a[1].clone(),
        b[1].clone(),
        b[2].clone(),
        a[2].clone(),
    ];
    let writes = run(&interleaved, false);
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].1, 3);
    assert_eq!(writes[1].1, 3);
    assert_eq!(
        writes[0].0[VNET_HDR_LEN + 20..VNET_HDR_LEN + 22],
        5201u16.to_be_bytes()
    );
    assert_eq!(
        writes[1].0[VNET_HDR_LEN + 20..VNET_HDR_LEN + 22],
        6000u16.to_be_bytes()
    );
}

#[test]
fn a_gap_or_reordering_starts_a_new_super_packet_and_keeps_the_order() {
    let seq = |w: &Vec<u8>| {
        u32::from_be_bytes(w[VNET_HDR_LEN + 24..VNET_HDR_LEN + 28].try_into().unwrap())
    };
    // A gap (1..2001 then 3001..): two runs.
    let mut packets = flow(1, &[1000, 1000, 1000, 1000], false);
    packets.remove(2);
    packets.push(flow(4001, &[1000], false).remove(0));
    let writes = run(&packets, false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [2, 2]);
    assert_eq!(seq(&writes[1].0), 3001);

    // Reordered: each out-of-order segment starts a run and closes the one before,
    // so no segment overtakes another of its flow.
    let mut packets = flow(1, &[1000, 1000, 1000, 1000], false);
    packets.swap(1, 2);
    let writes = run(&packets, false);
    let seqs: Vec<u32> = writes.iter().map(|w| seq(&w.0)).collect();
    assert_eq!(seqs, [1, 2001, 1001, 3001]);
    // A single segment goes out exactly as it came, behind an empty header.
    assert_eq!(writes[0].0[..VNET_HDR_LEN], [0; VNET_HDR_LEN]);
    assert_eq!(writes[0].0[VNET_HDR_LEN..], packets[0][..]);
}

#[test]
fn a_short_segment_or_psh_ends_the_run() {
    let writes = run(&flow(1, &[1000, 500, 1000], false), false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [2, 1]);

    // A longer segment than the first cannot join either.
    let writes = run(&flow(1, &[500, 1000], false), false);
    assert_eq!(writes.len(), 2);

    let mut packets = flow(1, &[1000, 1000, 1000], false);
    packets[1] = tcp(
        Tcp {
            seq: 1001,
            flags: TCP_ACK | TCP_PSH,
            ..Tcp::default()
        },
        &packets[1][52..],
        false,
    );
    let writes = run(&packets, false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [2, 1]);
    assert_eq!(
        writes[0].0[VNET_HDR_LEN + 33] & TCP_PSH,
        TCP_PSH,
        "PSH carried over"
    );
}

#[test]
fn differing_headers_are_not_joined() {
    let base = Tcp {
        seq: 1,
        ..Tcp::default()
    };
    for second in [
        Tcp {
            seq: 1001,
            window: 501,
            ..base
        },
        Tcp {
            seq: 1001,
            ttl: 62,
            ..base
        },
        Tcp {
            seq: 1001,
            flags: TCP_ACK | 0x40,
            ..base
        },
    ] {
        let packets = vec![tcp(base, &[1; 1000], false), tcp(second, &[2; 1000], false)];
        assert_eq!(run(&packets, false).len(), 2);
    }
}

#[test]
fn a_bad_checksum_is_never_joined_and_the_packet_is_written_as_it_came() {
    let mut packets = flow(1, &[1000, 1000, 1000], false);
    packets[1][100] ^= 0xff;
    let writes = run(&packets, false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [1, 1, 1]);
    assert_eq!(writes[1].0[VNET_HDR_LEN..], packets[1][..]);

    // The first segment is checked too, once a second one would join it.
    let mut packets = flow(1, &[1000, 1000], false);
    packets[0][100] ^= 0xff;
    assert_eq!(run(&packets, false).len(), 2);

    // And an IPv4 header with a bad checksum is not even a candidate.
    let mut packets = flow(1, &[1000, 1000], false);
    packets[0][8] = 1;
    assert_eq!(run(&packets, false).len(), 2);
}

#[test]
fn only_plain_data_segments_are_candidates() {
    let syn = tcp(
        Tcp {
            flags: 0x02,
            ..Tcp::default()
        },
        &[],
        false,
    );
    let ack_only = tcp(Tcp::default(), &[], false);
    let mut options = tcp(Tcp::default(), &[1; 100], false);
    options[0] = 0x46;
    let mut fragment = tcp(Tcp::default(), &[1; 100], false);
    fragment[6] = 0x20;
    let icmp = ip(vec![8, 0, 0, 0, 0, 1, 0, 1], 1, 2, 64, false);
    for packet in [syn, ack_only, options, fragment, icmp, vec![0x45], vec![]] {
        assert!(parse(&packet, true).is_none(), "{packet:?}");
    }
}

#[test]
fn size_and_segment_limits_hold() {
    let writes = run(&flow(1, &[1000; 70], false), false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [MAX_SEGMENTS, 6]);

    // 60 KiB segments: only one fits a 64 KiB packet.
    let writes = run(&flow(1, &[30_000, 30_000, 30_000], false), false);
    let counts: Vec<usize> = writes.iter().map(|w| w.1).collect();
    assert_eq!(counts, [2, 1]);
    for (write, _) in &writes {
        assert!(write.len() - VNET_HDR_LEN <= MAX_PACKET);
    }
}

#[test]
fn udp_is_joined_only_when_the_device_takes_it() {
    let packets = vec![udp(1, &[1; 1200]), udp(1, &[2; 1200]), udp(1, &[3; 600])];
    assert_eq!(run(&packets, false).len(), 3);
    let writes = run(&packets, true);
    assert_eq!(writes.len(), 1);
    let write = &writes[0].0;
    assert_eq!(write[1], GSO_UDP_L4);
    assert_eq!(vnet_u16(write, 1), 1200);
    assert_eq!(vnet_u16(write, 3), 6);
    let length = u16::from_be_bytes([write[VNET_HDR_LEN + 24], write[VNET_HDR_LEN + 25]]);
    assert_eq!(usize::from(length), 8 + 3000);
}

#[test]
fn ipv6_segments_are_joined() {
    let writes = run(&flow(1, &[1200, 1200, 1200], true), false);
    assert_eq!(writes.len(), 1);
    let write = &writes[0].0;
    assert_eq!(write[1], GSO_TCPV6);
    assert_eq!(vnet_u16(write, 2), 40);
    let payload_len = u16::from_be_bytes([write[VNET_HDR_LEN + 4], write[VNET_HDR_LEN + 5]]);
    assert_eq!(usize::from(payload_len), 32 + 3600);
}

#[test]
fn writes_are_reused_across_batches() {
    let mut coalescer = Coalescer::new(false);
    let (bytes, ranges) = batch(&flow(1, &[1000; 10], false));
    coalescer.coalesce(&bytes, &ranges);
    assert_eq!(coalescer.writes().count(), 1);
    let (bytes, ranges) = batch(&[tcp(Tcp::default(), &[], false)]);
    coalescer.coalesce(&bytes, &ranges);
    let writes = written(&coalescer, &bytes);
    assert_eq!(writes.len(), 1);
    assert_eq!(
        writes[0].0[..VNET_HDR_LEN],
        [0; VNET_HDR_LEN],
        "no stale header"
    );
    assert_eq!(writes[0].0[VNET_HDR_LEN..], bytes[..]);
}

#[test]
fn the_sum_matches_rfc_1071_word_by_word() {
    let data: Vec<u8> = (0..1501u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for len in [0, 1, 2, 3, 4, 5, 20, 1499, 1500, 1501] {
        let bytes = &data[..len];
        let mut reference: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            reference += u32::from(word);
            reference = (reference & 0xffff) + (reference >> 16);
        }
        assert_eq!(u32::from(fold(sum(bytes, 0))), reference, "length {len}");
    }
}

/// Mangled and random packets never panic, every packet is written exactly once, and
/// what is written carries exactly the packets' bytes (headers apart).
#[test]
fn mangled_batches_are_written_whole_and_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let mut packets = flow(
            next() as u32,
            &[1000, 1000, 1000, 1000, 600],
            round % 2 == 1,
        );
        packets.push(udp(7, &[5; 300]));
        packets.push(udp(7, &[6; 300]));
        for packet in &mut packets {
            match next() % 6 {
                0 => {
                    let at = next() as usize % packet.len();
                    packet[at] ^= 1 << (next() % 8);
                }
                1 => packet.truncate(next() as usize % packet.len()),
                2 => *packet = (0..next() % 80).map(|_| next() as u8).collect(),
                _ => {}
            }
        }
        let (bytes, ranges) = batch(&packets);
        let mut coalescer = Coalescer::new(round % 3 == 0);
        coalescer.coalesce(&bytes, &ranges);
        let mut seen = 0;
        let mut input = ranges.iter();
        for (header, parts) in coalescer.writes() {
            assert!(header.len() >= VNET_HDR_LEN);
            let count = parts.len();
            for part in parts {
                let original = input.next().unwrap();
                // A part is its packet (a plain write) or the packet's tail.
                assert_eq!(part.end, original.end);
                assert!(part.start >= original.start);
            }
            seen += count;
            assert!(
                header.len() - VNET_HDR_LEN + parts.iter().map(|p| p.len()).sum::<usize>()
                    <= MAX_PACKET
            );
        }
        assert_eq!(seen, packets.len(), "round {round}");
    }
}

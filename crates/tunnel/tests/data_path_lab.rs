//! The ESP data path against the lab's strongSwan gateway: a [`SessionDriver`] connects
//! from the lab's client namespace, hand-built ICMP echo requests and a DNS query go
//! through the tunnel to the LAN host, and their answers come back out of the device
//! channel. Needs root; fails (never skips) when the lab cannot start.
#![cfg(target_os = "linux")]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use corridor_profile::{ImportOptions, import_file};
use corridor_tunnel::session_driver::{
    ConnectionInfo, DeviceChannels, DisconnectReason, SessionDriver, SessionEnd, SessionEvent,
    SessionOptions,
};
use corridor_tunnel::{ConnectSecrets, ike_config};
use lab::{Host, Lab, LabConfig, Scenario};
use tokio::sync::{mpsc, oneshot};

const PINGS: u16 = 20;
const ICMP_ID: u16 = 0x4352;
const DNS_ID: u16 = 0x1d1d;
const DNS_NAME: &str = "intranet.corp.example";
const DNS_SOURCE_PORT: u16 = 53_000;

/// What the client side saw.
#[derive(Debug)]
struct ClientReport {
    info: ConnectionInfo,
    replies: u16,
    rtts: Vec<Duration>,
    counts: Counts,
    dns_answers: u16,
}

// ---- packet building and checking -------------------------------------------------

/// The Internet checksum (RFC 1071) of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload_len: usize, id: u16) -> Vec<u8> {
    let total = u16::try_from(20 + payload_len).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0x40, 0]); // DF
    h.extend_from_slice(&[64, protocol, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

fn ping_payload(seq: u16, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seq as u8))
        .collect()
}

fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&ICMP_ID.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(&ping_payload(seq, payload_len));
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(src, dst, 1, icmp.len(), seq);
    packet.extend_from_slice(&icmp);
    packet
}

/// A DNS query for `name` A (RFC 1035 §4.1) in UDP in IPv4, with the UDP checksum.
fn dns_query(src: Ipv4Addr, dst: Ipv4Addr, name: &str) -> Vec<u8> {
    let mut dns = Vec::new();
    dns.extend_from_slice(&DNS_ID.to_be_bytes());
    dns.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, QDCOUNT 1
    for label in name.split('.') {
        dns.push(u8::try_from(label.len()).unwrap());
        dns.extend_from_slice(label.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]); // root, A, IN
    let udp_len = u16::try_from(8 + dns.len()).unwrap();
    let mut udp = Vec::new();
    udp.extend_from_slice(&DNS_SOURCE_PORT.to_be_bytes());
    udp.extend_from_slice(&53u16.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&dns);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let sum = match checksum(&pseudo) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(src, dst, 17, udp.len(), 0x0d05);
    packet.extend_from_slice(&udp);
    packet
}

/// The sequence number and payload length of `packet` if it is a valid echo reply from
/// `from` to `to` with our identifier and the payload sent with that sequence number.
fn echo_reply(packet: &[u8], from: Ipv4Addr, to: Ipv4Addr) -> Option<(u16, usize)> {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 1 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    assert_eq!(checksum(&packet[..ihl]), 0, "bad IPv4 header checksum");
    assert_eq!(&packet[12..16], &from.octets(), "reply source");
    assert_eq!(&packet[16..20], &to.octets(), "reply destination");
    let icmp = &packet[ihl..];
    assert_eq!(checksum(icmp), 0, "bad ICMP checksum");
    if icmp[0] != 0 || icmp[1] != 0 {
        return None;
    }
    assert_eq!(
        u16::from_be_bytes([icmp[4], icmp[5]]),
        ICMP_ID,
        "identifier"
    );
    let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    assert_eq!(
        icmp[8..],
        ping_payload(seq, icmp.len() - 8)[..],
        "echo payload"
    );
    Some((seq, icmp.len() - 8))
}

/// The number of answers of our DNS query's response, if `packet` is that response.
fn dns_answer_count(packet: &[u8]) -> Option<u16> {
    if packet.len() < 28 || packet[0] >> 4 != 4 || packet[9] != 17 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let udp = &packet[ihl..];
    if u16::from_be_bytes([udp[0], udp[1]]) != 53
        || u16::from_be_bytes([udp[2], udp[3]]) != DNS_SOURCE_PORT
    {
        return None;
    }
    let dns = &udp[8..];
    assert_eq!(u16::from_be_bytes([dns[0], dns[1]]), DNS_ID, "DNS id");
    assert_ne!(dns[2] & 0x80, 0, "not a response");
    assert_eq!(dns[3] & 0x0f, 0, "DNS RCODE");
    Some(u16::from_be_bytes([dns[6], dns[7]]))
}

/// Inner packets out of the tunnel.
#[derive(Debug, Default)]
struct Counts {
    /// All of them.
    packets: u64,
    /// Fragments among them (the gateway's libipsec device has a smaller MTU).
    fragments: u32,
}

// ---- the client, inside the lab's client namespace --------------------------------

/// The next whole IPv4 packet out of the tunnel, reassembled when the gateway
/// fragmented it (its libipsec device has a smaller MTU than our tunnel). Counts the
/// packets taken from the channel and the fragments among them in `counts`.
async fn next_packet(from_tunnel: &mut mpsc::Receiver<Vec<u8>>, counts: &mut Counts) -> Vec<u8> {
    // (offset, data) of the fragments of the packet being reassembled, and its header.
    let mut pieces: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut header: Option<Vec<u8>> = None;
    let mut total: Option<usize> = None;
    loop {
        let packet = tokio::time::timeout(Duration::from_secs(3), from_tunnel.recv())
            .await
            .expect("no packet out of the tunnel within 3 s")
            .expect("the device channel closed");
        counts.packets += 1;
        if packet.len() < 20 || packet[0] >> 4 != 4 {
            return packet;
        }
        let flags_offset = u16::from_be_bytes([packet[6], packet[7]]);
        let more = flags_offset & 0x2000 != 0;
        let offset = usize::from(flags_offset & 0x1fff) * 8;
        if !more && offset == 0 {
            return packet;
        }
        counts.fragments += 1;
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        if offset == 0 {
            header = Some(packet[..ihl].to_vec());
        }
        if !more {
            total = Some(offset + packet.len() - ihl);
        }
        pieces.push((offset, packet[ihl..].to_vec()));
        let (Some(head), Some(total)) = (&header, total) else {
            continue;
        };
        if pieces.iter().map(|(_, d)| d.len()).sum::<usize>() != total {
            continue;
        }
        pieces.sort_by_key(|(o, _)| *o);
        let mut whole = head.clone();
        for (_, data) in &pieces {
            whole.extend_from_slice(data);
        }
        let len = u16::try_from(whole.len()).unwrap();
        whole[2..4].copy_from_slice(&len.to_be_bytes());
        whole[6..8].copy_from_slice(&[0, 0]);
        whole[10..12].copy_from_slice(&[0, 0]);
        let sum = checksum(&whole[..head.len()]);
        whole[10..12].copy_from_slice(&sum.to_be_bytes());
        return whole;
    }
}

async fn client(
    config: corridor_ike::IkeConfig,
    host: String,
    port: u16,
    lan_host: Ipv4Addr,
    checked: std_mpsc::Sender<ClientReport>,
    go_on: std_mpsc::Receiver<()>,
) -> SessionEnd {
    let driver = SessionDriver::open(config, &host, port, SessionOptions::default(), None)
        .await
        .expect("open the session driver");
    let (to_tunnel_tx, to_tunnel) = mpsc::channel(256);
    let (from_tunnel, mut from_tunnel_rx) = mpsc::channel(256);
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut on_event = move |event: &SessionEvent| {
            if let SessionEvent::Connected(info) = event {
                let _ = connected_tx.send((**info).clone());
            }
        };
        let shutdown = async {
            let _ = shutdown_rx.await;
        };
        driver
            .run(
                DeviceChannels {
                    to_tunnel,
                    from_tunnel,
                },
                shutdown,
                Duration::from_secs(5),
                &mut on_event,
            )
            .await
    });
    let info = tokio::time::timeout(Duration::from_secs(30), connected_rx.recv())
        .await
        .expect("not connected within 30 s")
        .expect("the session ended before it connected (see the gateway log)");
    let ours = info
        .assigned
        .ipv4
        .first()
        .expect("no virtual IPv4 address")
        .addr;

    let mut rtts = Vec::new();
    let mut counts = Counts::default();
    // The last echo request fills the tunnel's MTU exactly.
    let full = info.inner_mtu - 20 - 8;
    for seq in 1..=PINGS {
        let len = if seq == PINGS { full } else { 56 };
        let sent = Instant::now();
        to_tunnel_tx
            .send(echo_request(ours, lan_host, seq, len))
            .await
            .unwrap();
        loop {
            let packet = next_packet(&mut from_tunnel_rx, &mut counts).await;
            if echo_reply(&packet, lan_host, ours) == Some((seq, len)) {
                rtts.push(sent.elapsed());
                break;
            }
        }
    }

    to_tunnel_tx
        .send(dns_query(ours, lan_host, DNS_NAME))
        .await
        .unwrap();
    let dns_answers = loop {
        let packet = next_packet(&mut from_tunnel_rx, &mut counts).await;
        if let Some(n) = dns_answer_count(&packet) {
            break n;
        }
    };

    let replies = u16::try_from(rtts.len()).unwrap();
    checked
        .send(ClientReport {
            info,
            replies,
            rtts,
            counts,
            dns_answers,
        })
        .unwrap();
    // The test thread reads the gateway's counters meanwhile; the driver keeps running.
    while go_on.try_recv().is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the driver did not stop within 10 s")
        .unwrap()
        .expect("the session failed")
}

// ---- the test ---------------------------------------------------------------------

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `(bytes, packets)` of the Child SA's `in` and `out` lines of `swanctl --list-sas`.
fn child_counters(list: &str) -> Vec<(String, u64, u64)> {
    list.lines()
        .filter_map(|line| {
            let line = line.trim();
            let dir = ["in ", "out "].into_iter().find(|d| line.starts_with(d))?;
            let number_before = |unit: &str| -> Option<u64> {
                let end = line.find(unit)?;
                line[..end].split_whitespace().last()?.parse().ok()
            };
            Some((
                dir.trim().to_string(),
                number_before(" bytes")?,
                number_before(" packets")?,
            ))
        })
        .collect()
}

fn data_path(scenario: Scenario) {
    let lab = match Lab::start(LabConfig::new(scenario)) {
        Ok(lab) => lab,
        Err(e) => panic!("could not start the lab (root and the lab packages are needed): {e:#}"),
    };
    let path = lab.write_corridor_profile().expect("write the profile");
    let imported = import_file(&path, &ImportOptions::default()).expect("import the profile");
    let profile = imported.profile;
    let mut secrets = ConnectSecrets::default();
    if profile.auth.method.uses_password() {
        secrets.eap_password = Some(corridor_model::Secret::new(lab.credentials().eap_password));
    }
    let config = ike_config(&profile, &secrets).expect("IKE configuration");
    let host = profile.gateway.host.clone();
    let port = profile.gateway.port;
    let IpAddr::V4(lan_host) = lab.lan_host_addr() else {
        panic!("the LAN host has no IPv4 address");
    };

    let (report_tx, report_rx) = std_mpsc::channel();
    let (go_tx, go_rx) = std_mpsc::channel();
    std::thread::scope(|scope| {
        let client_thread = scope.spawn(|| {
            lab.run_in(Host::Client, move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(runtime.block_on(client(config, host, port, lan_host, report_tx, go_rx)))
            })
        });
        let report = match report_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(r) => r,
            Err(_) => {
                let outcome = client_thread.join();
                panic!(
                    "the client gave no report: {outcome:?}\n--- gateway log (tail)\n{}",
                    tail(&lab.gateway_log(), 80)
                );
            }
        };
        let sas = lab
            .swanctl(&["--list-sas"])
            .expect("swanctl --list-sas")
            .stdout;
        go_tx.send(()).unwrap();
        let end = client_thread
            .join()
            .expect("client thread")
            .expect("client in the namespace");

        let mean = report.rtts.iter().sum::<Duration>() / u32::from(report.replies.max(1));
        let max = report.rtts.iter().max().copied().unwrap_or_default();
        eprintln!(
            "{scenario:?}: address {:?}, routes {:?}, inner MTU {}, ESP {:?}; \
             {}/{PINGS} echo replies, RTT mean {mean:?} max {max:?}; \
             DNS answers {}; {} fragments reassembled; session {:?}; driver {:?}",
            report.info.assigned.ipv4,
            report.info.routes,
            report.info.inner_mtu,
            report.info.esp_suite,
            report.replies,
            report.dns_answers,
            report.counts.fragments,
            end.session,
            end.driver,
        );
        assert_eq!(report.replies, PINGS);
        assert!(report.dns_answers >= 1, "DNS answered with no record");
        assert_eq!(report.info.remote_port, 4500, "ESP is not UDP-encapsulated");
        assert_eq!(end.reason, Some(DisconnectReason::Requested));
        assert_eq!(end.session.drops, Default::default(), "{:?}", end.session);
        assert_eq!(end.session.packets_out, u64::from(PINGS) + 1);
        assert_eq!(end.session.packets_in, report.counts.packets);

        // The gateway saw exactly what we sent and sent exactly what we received.
        assert!(sas.contains("TUNNEL-in-UDP"), "ESP is not in UDP:\n{sas}");
        let counters = child_counters(&sas);
        let expected = [
            (
                "in".to_string(),
                end.session.bytes_out,
                end.session.packets_out,
            ),
            (
                "out".to_string(),
                end.session.bytes_in,
                end.session.packets_in,
            ),
        ];
        assert_eq!(
            counters, expected,
            "the gateway's Child SA counters:\n{sas}"
        );
    });

    // The Delete was answered, so the gateway holds no SA any more.
    let after = lab
        .swanctl(&["--list-sas"])
        .expect("swanctl --list-sas")
        .stdout;
    assert!(
        !after.contains("ESTABLISHED") && !after.contains("INSTALLED"),
        "the gateway still holds an SA after the Delete:\n{after}"
    );
}

#[test]
fn psk_pings_and_resolves_through_the_tunnel() {
    data_path(Scenario::Psk);
}

#[test]
fn eap_mschapv2_pings_and_resolves_through_the_tunnel() {
    data_path(Scenario::EapMschapv2);
}

//! The codec against real traffic: strongSwan 5.9.8 talking to itself, captured by
//! tests/data/capture/capture.sh. See tests/data/README.md for what each file holds.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{Vector, ike_bytes, vector, vectors};
use corridor_wire::payload::{Encrypted, NotifyBuilder, TrafficSelector, split_padding};
use corridor_wire::udp_encap::{Encapsulated, classify};
use corridor_wire::*;

/// The IKE SA uses AES-GCM-16: 8-byte IV, 16-byte ICV, no padding beyond the Pad Length.
const IV_LEN: usize = 8;
const ICV_LEN: usize = 16;

fn is_esp(v: &Vector) -> bool {
    v.name.ends_with("-esp")
}

fn message(v: &Vector) -> Message<'_> {
    Message::parse(ike_bytes(v)).unwrap_or_else(|e| panic!("{}: {e}", v.name))
}

fn inner(v: &Vector) -> Vec<Payload<'_>> {
    let m = message(v);
    let first = m.encrypted().map(Encrypted::first_inner).unwrap();
    parse_inner_payloads(first, v.plain.as_deref().unwrap()).unwrap()
}

#[test]
fn the_vectors_are_all_there() {
    let all = vectors();
    assert_eq!(all.len(), 41);
    assert_eq!(all.iter().filter(|v| is_esp(v)).count(), 6);
    assert_eq!(all.iter().filter(|v| v.plain.is_some()).count(), 23);
}

#[test]
fn datagrams_classify_on_port_4500() {
    for v in vectors() {
        let on_4500 = v.datagram.starts_with(&udp_encap::NON_ESP_MARKER);
        match classify(&v.datagram).unwrap() {
            Encapsulated::Esp(_) => assert!(is_esp(v) || !on_4500, "{}", v.name),
            Encapsulated::Ike(ike) => {
                assert!(on_4500 && !is_esp(v), "{}", v.name);
                let mut again = Vec::new();
                udp_encap::add_non_esp_marker(ike, &mut again);
                assert_eq!(again, v.datagram);
            }
            Encapsulated::Keepalive => panic!("{}: no keepalives were captured", v.name),
        }
    }
}

#[test]
fn every_message_parses_and_reencodes_byte_for_byte() {
    for v in vectors().iter().filter(|v| !is_esp(v)) {
        let m = message(v);
        let rebuilt = m.to_builder().to_bytes().unwrap();
        assert_eq!(rebuilt, ike_bytes(v), "{}", v.name);
    }
}

#[test]
fn encrypted_payloads_agree_with_charons_log() {
    for v in vectors().iter().filter(|v| v.plain.is_some()) {
        let m = message(v);
        let plain = v.plain.as_deref().unwrap();
        // The associated data charon fed to AES-GCM.
        assert_eq!(m.associated_data(), v.aad.as_deref(), "{}", v.name);
        let (first, sealed) = match (m.encrypted(), m.encrypted_fragment()) {
            (Some(e), None) => (e.first_inner(), e.split(IV_LEN, ICV_LEN).unwrap()),
            (None, Some(f)) => (f.first_inner(), f.split(IV_LEN, ICV_LEN).unwrap()),
            _ => panic!("{}: no SK or SKF payload", v.name),
        };
        assert_eq!((sealed.iv.len(), sealed.icv.len()), (IV_LEN, ICV_LEN));
        // AES-GCM: ciphertext = inner payloads and the Pad Length octet (no padding).
        assert_eq!(sealed.ciphertext.len(), plain.len() + 1, "{}", v.name);
        if m.encrypted_fragment().is_some() {
            continue; // one fragment holds a piece of a chain; see `fragments_reassemble`
        }
        let payloads =
            parse_inner_payloads(first, plain).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let builders: Vec<_> = payloads.iter().map(Payload::to_builder).collect();
        let mut again = Vec::new();
        assert_eq!(encode_inner_payloads(&builders, &mut again).unwrap(), first);
        assert_eq!(again, plain, "{}", v.name);
        // Re-encrypting would reproduce the message: same header and SK header.
        let mut head = Vec::new();
        let aad = m.to_builder_without_encrypted().encode_encrypted(
            first,
            m.encrypted().unwrap().content().len(),
            &mut head,
        );
        assert_eq!(&head[aad.unwrap()], v.aad.as_deref().unwrap(), "{}", v.name);
    }
}

/// `Message::to_builder` keeps the SK payload; for re-encrypting, drop it.
trait WithoutEncrypted {
    fn to_builder_without_encrypted(&self) -> MessageBuilder;
}

impl WithoutEncrypted for Message<'_> {
    fn to_builder_without_encrypted(&self) -> MessageBuilder {
        let mut b = self.to_builder();
        b.payloads.pop();
        b
    }
}

#[test]
fn fragments_reassemble() {
    let (one, two) = (vector("06-"), vector("07-"));
    let (m1, m2) = (message(one), message(two));
    let (f1, f2) = (
        m1.encrypted_fragment().unwrap(),
        m2.encrypted_fragment().unwrap(),
    );
    assert_eq!(
        (f1.number(), f1.total(), f2.number(), f2.total()),
        (1, 2, 2, 2)
    );
    assert_eq!(f1.first_inner(), PayloadType::IDR);
    assert_eq!(f2.first_inner(), PayloadType::NONE);
    assert_eq!(m1.header().message_id, m2.header().message_id);

    let whole = [one.plain.clone().unwrap(), two.plain.clone().unwrap()].concat();
    let payloads = parse_inner_payloads(f1.first_inner(), &whole).unwrap();
    let types: Vec<_> = payloads.iter().map(Payload::payload_type).collect();
    assert_eq!(
        types,
        [
            PayloadType::IDR,
            PayloadType::CERT,
            PayloadType::AUTH,
            PayloadType::EAP
        ]
    );
    let Payload::IdR(idr) = &payloads[0] else {
        unreachable!()
    };
    assert_eq!(idr.text(), Some("gw.corridor.test"));
    let Payload::Cert(cert) = &payloads[1] else {
        unreachable!()
    };
    assert_eq!(cert.encoding(), CertEncoding::X509_CERTIFICATE_SIGNATURE);
    assert_eq!(cert.data()[0], 0x30, "a DER SEQUENCE");
    let Payload::Auth(auth) = &payloads[2] else {
        unreachable!()
    };
    assert_eq!(auth.method(), AuthMethod::DIGITAL_SIGNATURE);
    let (algorithm, signature) = auth.digital_signature().unwrap();
    // sha256WithRSAEncryption, the RSA-2048 gateway key's signature.
    assert_eq!(
        algorithm,
        [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
            0x00
        ]
    );
    assert_eq!(signature.len(), 256);
    let Payload::Eap(eap) = &payloads[3] else {
        unreachable!()
    };
    assert_eq!(
        (eap.code(), eap.eap_type()),
        (EapCode::REQUEST, Some(EapType::IDENTITY))
    );

    let builders: Vec<_> = payloads.iter().map(Payload::to_builder).collect();
    let mut again = Vec::new();
    encode_inner_payloads(&builders, &mut again).unwrap();
    assert_eq!(again, whole);
}

#[test]
fn ike_sa_init_request() {
    let v = vector("01-");
    let m = message(v);
    let h = m.header();
    assert_eq!(
        (h.exchange_type, h.message_id, h.spi_r),
        (ExchangeType::IKE_SA_INIT, 0, 0)
    );
    assert!(h.flags.is_initiator() && !h.flags.is_response());
    let types: Vec<_> = m.payloads().iter().map(Payload::payload_type).collect();
    assert_eq!(
        types[..3],
        [PayloadType::SA, PayloadType::KE, PayloadType::NONCE]
    );
    let Payload::Sa(sa) = &m.payloads()[0] else {
        unreachable!()
    };
    assert_eq!(sa.proposals().len(), 2);
    let Payload::Ke(ke) = &m.payloads()[1] else {
        unreachable!()
    };
    assert_eq!((ke.method(), ke.data().len()), (KeMethod::MODP_3072, 384));
    let Payload::Nonce(nonce) = &m.payloads()[2] else {
        unreachable!()
    };
    assert_eq!(nonce.data().len(), 32);
    for t in [
        NotifyType::NAT_DETECTION_SOURCE_IP,
        NotifyType::NAT_DETECTION_DESTINATION_IP,
    ] {
        assert_eq!(m.notify(t).unwrap().nat_detection_hash().unwrap().len(), 20);
    }
    assert!(
        m.notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some()
    );
    let hashes: Vec<_> = m
        .notify(NotifyType::SIGNATURE_HASH_ALGORITHMS)
        .unwrap()
        .signature_hash_algorithms()
        .unwrap()
        .collect();
    assert_eq!(
        hashes,
        [
            HashAlgorithm::SHA2_256,
            HashAlgorithm::SHA2_384,
            HashAlgorithm::SHA2_512,
            HashAlgorithm::IDENTITY
        ]
    );
}

#[test]
fn invalid_ke_payload_and_retry() {
    let asked = message(vector("02-"));
    assert_eq!(asked.payloads().len(), 1);
    let group = asked
        .notify(NotifyType::INVALID_KE_PAYLOAD)
        .unwrap()
        .accepted_ke_method()
        .unwrap();
    assert_eq!(group, KeMethod::ECP_256);
    let retry = message(vector("03-"));
    let Payload::Ke(ke) = &retry.payloads()[1] else {
        unreachable!()
    };
    assert_eq!((ke.method(), ke.data().len()), (group, 64));
    assert_eq!(retry.header().spi_i, asked.header().spi_i);
}

#[test]
fn ike_sa_init_response() {
    let m = message(vector("04-"));
    assert_ne!(m.header().spi_r, 0);
    let Payload::Sa(sa) = &m.payloads()[0] else {
        unreachable!()
    };
    let [p] = sa.proposals() else {
        panic!("one accepted proposal")
    };
    assert_eq!(p.number(), 1);
    let ke: Vec<_> = p.transforms().iter().filter_map(|t| t.ke()).collect();
    assert_eq!(ke, [KeMethod::ECP_256]);
    let certreq = m
        .payloads()
        .iter()
        .find_map(|p| {
            if let Payload::CertReq(c) = p {
                Some(c)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(certreq.ca_hashes().unwrap().count(), 1);
}

#[test]
fn cookie_round() {
    let (first, cookie_rsp, with_cookie) = (vector("36-"), vector("37-"), vector("38-"));
    let cookie = message(cookie_rsp)
        .notify(NotifyType::COOKIE)
        .unwrap()
        .cookie()
        .unwrap()
        .to_vec();
    let retried = message(with_cookie);
    let Payload::Notify(n) = &retried.payloads()[0] else {
        panic!("COOKIE goes first")
    };
    assert_eq!(n.cookie().unwrap(), cookie);
    // The retry is the first request with the COOKIE prepended, byte for byte.
    let mut b = message(first).to_builder();
    b.payloads
        .insert(0, PayloadBuilder::Notify(NotifyBuilder::cookie(&cookie)));
    assert_eq!(b.to_bytes().unwrap(), ike_bytes(with_cookie));
}

#[test]
fn ike_auth_request() {
    let payloads = inner(vector("05-"));
    let types: Vec<_> = payloads.iter().map(Payload::payload_type).collect();
    assert_eq!(
        types[..8],
        [
            PayloadType::IDI,
            PayloadType::NOTIFY,
            PayloadType::CERTREQ,
            PayloadType::IDR,
            PayloadType::CP,
            PayloadType::SA,
            PayloadType::TSI,
            PayloadType::TSR
        ]
    );
    let Payload::IdI(idi) = &payloads[0] else {
        unreachable!()
    };
    assert_eq!(idi.body(), b"\x02\x00\x00\x00alice");
    let Payload::Config(cp) = &payloads[4] else {
        unreachable!()
    };
    assert_eq!(cp.cfg_type(), ConfigType::CFG_REQUEST);
    assert!(cp.attributes().iter().all(|a| a.value().is_empty()));
    let Payload::Sa(sa) = &payloads[5] else {
        unreachable!()
    };
    assert!(
        sa.proposals()
            .iter()
            .all(|p| p.protocol() == ProtocolId::ESP && p.spi().len() == 4)
    );
    let esn: Vec<_> = sa.proposals()[1]
        .transforms()
        .iter()
        .filter_map(|t| t.esn())
        .collect();
    assert_eq!(esn, [EsnId::ESN, EsnId::NO_ESN]);
    let Payload::TsI(tsi) = &payloads[6] else {
        unreachable!()
    };
    let any: Vec<_> = tsi.ip_ranges().map(|r| (r.start, r.end)).collect();
    assert_eq!(
        any[0],
        (
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::BROADCAST)
        )
    );
    assert_eq!(any[1].0, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
}

#[test]
fn ike_auth_final_response_configures_the_client() {
    let payloads = inner(vector("15-"));
    let cp = payloads
        .iter()
        .find_map(|p| {
            if let Payload::Config(c) = p {
                Some(c)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(cp.cfg_type(), ConfigType::CFG_REPLY);
    let one = |t| cp.attributes_of(t).next().unwrap();
    assert_eq!(
        one(ConfigAttributeType::INTERNAL_IP4_ADDRESS).ipv4(),
        Some(Ipv4Addr::new(198, 19, 10, 1))
    );
    assert_eq!(
        one(ConfigAttributeType::INTERNAL_IP6_ADDRESS).ipv6_prefix(),
        Some(("fd00:c0:1::1".parse().unwrap(), 64))
    );
    assert_eq!(
        one(ConfigAttributeType::INTERNAL_IP4_DNS).ipv4(),
        Some(Ipv4Addr::new(198, 19, 0, 53))
    );
    assert_eq!(
        one(ConfigAttributeType::INTERNAL_IP6_DNS).ipv6(),
        Some("fd00:c0::53".parse().unwrap())
    );
    assert_eq!(
        one(ConfigAttributeType::INTERNAL_DNS_DOMAIN).text(),
        Some("corp.test")
    );

    let tsr = payloads
        .iter()
        .find_map(|p| {
            if let Payload::TsR(t) = p {
                Some(t)
            } else {
                None
            }
        })
        .unwrap();
    let TrafficSelector::Ip(r) = tsr.selectors()[0] else {
        panic!("address range")
    };
    assert_eq!(
        (r.start, r.end),
        (
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)),
            IpAddr::V4(Ipv4Addr::new(198, 19, 255, 255))
        )
    );
}

/// The inbound ESP SPI each side chose in IKE_AUTH.
fn child_spis() -> (u32, u32) {
    let spi = |name| {
        inner(vector(name))
            .iter()
            .find_map(|p| {
                if let Payload::Sa(sa) = p {
                    sa.proposals()[0].spi_u32()
                } else {
                    None
                }
            })
            .unwrap()
    };
    (spi("05-"), spi("15-"))
}

#[test]
fn esp_packets_carry_the_negotiated_spis() {
    let (initiator_in, responder_in) = child_spis();
    let mut seen = Vec::new();
    for v in vectors().iter().filter(|v| is_esp(v)) {
        let Encapsulated::Esp(p) = classify(&v.datagram).unwrap() else {
            panic!("{}", v.name)
        };
        assert!(p.sequence_number() >= 1);
        seen.push(p.spi());
    }
    seen.sort_unstable();
    seen.dedup();
    let mut expected = vec![initiator_in, responder_in];
    expected.sort_unstable();
    assert_eq!(seen, expected);
}

#[test]
fn child_sa_rekey_and_delete() {
    let (initiator_in, _) = child_spis();
    let request = inner(vector("24-"));
    let Payload::Notify(rekey) = &request[0] else {
        panic!("REKEY_SA first")
    };
    assert_eq!(rekey.notify_type(), NotifyType::REKEY_SA);
    assert_eq!(rekey.child_spi().unwrap(), (ProtocolId::ESP, initiator_in));
    let ke = request
        .iter()
        .find_map(|p| {
            if let Payload::Ke(k) = p {
                Some(k)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!((ke.method(), ke.data().len()), (KeMethod::CURVE25519, 32));
    let delete = inner(vector("26-"));
    let Payload::Delete(d) = &delete[0] else {
        panic!("Delete")
    };
    assert_eq!(d.protocol(), ProtocolId::ESP);
    assert_eq!(d.spis().collect::<Vec<_>>(), [initiator_in]);
}

#[test]
fn ike_sa_rekey_moves_to_the_new_spis() {
    let spi = |name| {
        inner(vector(name))
            .iter()
            .find_map(|p| match p {
                Payload::Sa(sa) => Some(u64::from_be_bytes(
                    sa.proposals()[0].spi().try_into().unwrap(),
                )),
                _ => None,
            })
            .unwrap()
    };
    let (new_i, new_r) = (spi("28-"), spi("29-"));
    let Payload::Delete(old) = &inner(vector("30-"))[0] else {
        panic!("Delete")
    };
    assert!(old.is_ike());
    let after = message(vector("32-"));
    assert_eq!((after.header().spi_i, after.header().spi_r), (new_i, new_r));
    let Payload::Delete(d) = &inner(vector("32-"))[0] else {
        panic!("Delete")
    };
    assert!(d.is_ike() && d.spis().len() == 0);
}

#[test]
fn empty_informational_response() {
    let v = vector("33-");
    let m = message(v);
    assert_eq!(m.encrypted().unwrap().first_inner(), PayloadType::NONE);
    assert!(v.plain.as_deref().unwrap().is_empty());
    let sealed = m.encrypted().unwrap().split(IV_LEN, ICV_LEN).unwrap();
    assert_eq!(sealed.ciphertext.len(), 1, "only the Pad Length octet");
    // The plaintext would be a single zero Pad Length octet.
    assert_eq!(split_padding(&[0]).unwrap(), (&[][..], &[][..]));
}

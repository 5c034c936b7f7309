//! Proposal parsing, including the cases of libstrongswan's `test_proposal.c` that apply to
//! IKE and ESP.

use super::*;
use EncryptionAlgorithm as E;

fn ike(s: &str) -> IkeProposal {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn esp(s: &str) -> EspProposal {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ike_err(s: &str) -> String {
    s.parse::<IkeProposal>().unwrap_err().to_string()
}

fn esp_err(s: &str) -> String {
    s.parse::<EspProposal>().unwrap_err().to_string()
}

fn e(algorithm: EncryptionAlgorithm, bits: u16) -> Encryption {
    Encryption {
        algorithm,
        key_bits: Some(bits),
    }
}

#[test]
fn aead_ike_proposal() {
    let p = ike("aes256gcm16-prfsha384-ecp384");
    assert_eq!(p.encryption, [e(E::AesGcm16, 256)]);
    assert_eq!(p.prf, [Prf::HmacSha2_384]);
    assert!(p.integrity.is_empty());
    assert_eq!(p.key_exchange, [KeyExchange::Ecp384]);
    assert_eq!(p.as_str(), "aes256gcm16-prfsha384-ecp384");
    assert_eq!(p.encryption[0].algorithm.iana(), 20);
    assert_eq!(p.key_exchange[0].iana(), 20);
}

#[test]
fn classic_ike_proposal_derives_prf() {
    let p = ike("aes128-sha256-modp2048");
    assert_eq!(p.encryption, [e(E::AesCbc, 128)]);
    assert_eq!(p.integrity, [Integrity::HmacSha2_256_128]);
    assert_eq!(p.prf, [Prf::HmacSha2_256]);
    assert_eq!(p.key_exchange, [KeyExchange::Modp2048]);

    let p = ike("aes256-sha384-modp3072");
    assert_eq!(p.prf, [Prf::HmacSha2_384]);
    assert_eq!(p.integrity, [Integrity::HmacSha2_384_192]);
    assert_eq!(p.key_exchange[0].iana(), 15);
}

#[test]
fn chacha_proposal() {
    let p = ike("chacha20poly1305-prfsha256-curve25519");
    assert_eq!(
        p.encryption,
        [Encryption {
            algorithm: E::Chacha20Poly1305,
            key_bits: None
        }]
    );
    assert_eq!(p.prf, [Prf::HmacSha2_256]);
    assert_eq!(p.key_exchange, [KeyExchange::Curve25519]);
}

#[test]
fn strongswan_ike_cases() {
    // Each of these is NULL (rejected) in strongSwan's own tests.
    for bad in [
        "",
        "sha256",
        "sha256-modp3072",
        "aes128",
        "aes128-sha256",
        "aes128-sha256-none",
        "aes128-prfsha256",
        "aes128gcm16-modp3072",
        "aes128gcm16-aes128-modp3072",
        "aes128gcm16-aes128-sha256-modp3072",
    ] {
        assert!(bad.parse::<IkeProposal>().is_err(), "{bad}");
    }
    // aes128-prfsha256-modp2048: classic cipher without integrity.
    assert!("aes128-prfsha256-modp2048".parse::<IkeProposal>().is_err());

    let p = ike("aes128-sha256-prfsha384-modp3072");
    assert_eq!(
        p.prf,
        [Prf::HmacSha2_384],
        "an explicit PRF wins over derivation"
    );
    let p = ike("aes128gcm16-prfsha256-modp3072");
    assert_eq!(p.prf, [Prf::HmacSha2_256]);
    // PRF derived from sha256 before the integrity algorithm is dropped for AEAD.
    let p = ike("aes128gcm16-sha256-modp3072");
    assert_eq!(p.prf, [Prf::HmacSha2_256]);
    assert!(p.integrity.is_empty());
}

#[test]
fn preference_order_and_interleaving() {
    let a = ike("aes256gcm16-aes192gcm16-prfsha384-prfsha256-ecp384-modp3072");
    let b = ike("aes256gcm16-prfsha384-ecp384-aes192gcm16-prfsha256-modp3072");
    assert_eq!(a.encryption, b.encryption);
    assert_eq!(a.prf, b.prf);
    assert_eq!(a.key_exchange, b.key_exchange);
    assert_eq!(a.encryption, [e(E::AesGcm16, 256), e(E::AesGcm16, 192)]);
    assert_eq!(a.key_exchange, [KeyExchange::Ecp384, KeyExchange::Modp3072]);
}

#[test]
fn none_is_dropped_from_ike() {
    let p = ike("aes128-sha256-modp3072-none");
    assert_eq!(p.key_exchange, [KeyExchange::Modp3072]);
}

#[test]
fn additional_key_exchanges() {
    let p = ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_mlkem1024-ke2_none");
    assert_eq!(p.key_exchange, [KeyExchange::Curve25519]);
    assert_eq!(
        p.additional_key_exchanges[0].methods,
        [KeyExchange::MlKem768]
    );
    assert_eq!(
        p.additional_key_exchanges[1].methods,
        [KeyExchange::MlKem1024, KeyExchange::None]
    );
    assert!(p.additional_key_exchanges[2].methods.is_empty());
    let p = ike("aes256gcm16-prfsha384-mlkem768");
    assert_eq!(p.key_exchange[0].iana(), 36);
    assert!(ike_err("aes256gcm16-prfsha384-x25519-ke8_mlkem768").starts_with("unknown algorithm"));
    assert!(ike_err("aes256gcm16-prfsha384-x25519-ke1_foo").starts_with("unknown algorithm"));
}

#[test]
fn strongswan_esp_cases() {
    assert!("".parse::<EspProposal>().is_err());
    assert!("sha256".parse::<EspProposal>().is_err());
    let p = esp("aes128-sha256");
    assert_eq!(p.encryption, [e(E::AesCbc, 128)]);
    assert_eq!(p.integrity, [Integrity::HmacSha2_256_128]);
    assert_eq!(p.esn, [Esn::No]);
    assert!(p.key_exchange.is_empty());
    assert_eq!(esp("aes128-sha256-esn").esn, [Esn::Yes]);
    assert_eq!(esp("aes128-sha256-noesn").esn, [Esn::No]);
    assert_eq!(esp("aes128-sha256-esn-noesn").esn, [Esn::Yes, Esn::No]);
    let p = esp("aes128-sha256-prfsha256-modp3072");
    assert_eq!(
        p.key_exchange,
        [KeyExchange::Modp3072],
        "PRF dropped, DH kept for PFS"
    );
    assert!(
        "aes128gcm16-aes128-sha256-modp3072"
            .parse::<EspProposal>()
            .is_err()
    );
    let p = esp("aes128gmac");
    assert_eq!(p.encryption[0].algorithm, E::NullAuthAesGmac);
    assert!(p.integrity.is_empty());
}

#[test]
fn esp_with_and_without_dh() {
    let p = esp("aes256gcm16-ecp384");
    assert_eq!(p.key_exchange, [KeyExchange::Ecp384]);
    assert!(p.integrity.is_empty());
    let p = esp("aes256gcm16");
    assert!(p.key_exchange.is_empty());
    let p = esp("aes256gcm16-modp3072-none");
    assert_eq!(p.key_exchange, [KeyExchange::Modp3072, KeyExchange::None]);
    let p = esp("aes256gcm16-sha256");
    assert!(p.integrity.is_empty(), "integrity dropped with AEAD");
}

#[test]
fn lists() {
    let list: Vec<IkeProposal> =
        parse_list("aes256gcm16-prfsha384-ecp384, aes256-sha384-modp3072").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].as_str(), "aes256-sha384-modp3072");
    assert_eq!(parse_list::<EspProposal>(" , "), Err(ProposalError::Empty));
}

#[test]
fn error_texts() {
    assert_eq!(ike_err(""), "empty proposal");
    assert_eq!(
        ike_err("aes257-sha256-modp2048"),
        "unknown algorithm 'aes257' (did you mean 'aes256'?)"
    );
    assert_eq!(
        ike_err("aes256-sha256-frobnicate"),
        "unknown algorithm 'frobnicate'"
    );
    assert_eq!(
        ike_err("aes256-md5-modp2048"),
        "algorithm 'md5' is not supported: HMAC-MD5 is broken; RFC 8247 and RFC 8221 forbid it (MUST NOT)"
    );
    assert_eq!(
        ike_err("des-sha1-modp2048"),
        "algorithm 'des' is not supported: DES is broken; RFC 8247 and RFC 8221 forbid it (MUST NOT)"
    );
    assert_eq!(
        ike_err("aes256-sha256-modp768"),
        "algorithm 'modp768' is not supported: the 768-bit MODP group is broken; RFC 8247 forbids it (MUST NOT)"
    );
    assert_eq!(
        ike_err("serpent256-sha256-modp2048"),
        "algorithm 'serpent256' is not supported: strongSwan-specific algorithm without an IANA number"
    );
    assert_eq!(
        ike_err("aes256-sha256"),
        "IKE proposal 'aes256-sha256' needs a key exchange method (e.g. ecp384, curve25519, modp3072)"
    );
    assert_eq!(
        ike_err("aes256-modp2048"),
        "IKE proposal 'aes256-modp2048' needs a PRF (e.g. prfsha384, or an integrity algorithm such as sha384 to derive it from)"
    );
    assert_eq!(
        ike_err("aes256-prfsha256-modp2048"),
        "IKE proposal 'aes256-prfsha256-modp2048' needs an integrity algorithm (e.g. sha256) with a non-AEAD encryption algorithm"
    );
    assert_eq!(
        ike_err("aes256gcm16-aes256-sha256-modp2048"),
        "IKE proposal 'aes256gcm16-aes256-sha256-modp2048' mixes AEAD and classic encryption algorithms; put them in separate proposals"
    );
    assert_eq!(
        ike_err("null-sha256-modp3072"),
        "IKE proposal 'null-sha256-modp3072' uses null encryption, which RFC 8247 forbids for IKE"
    );
    assert_eq!(
        ike_err("prfsha256-modp3072"),
        "IKE proposal 'prfsha256-modp3072' needs an encryption algorithm (e.g. aes256gcm16 or aes256)"
    );
    assert_eq!(
        ike_err("aes256gcm16-prfsha384-ecp384-esn"),
        "'esn' cannot be used in IKE proposals: extended sequence numbers apply to ESP only"
    );
    assert_eq!(
        ike_err("aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048"),
        "'aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048' holds several proposals; give each one separately"
    );
    assert_eq!(
        esp_err("aes256"),
        "ESP proposal 'aes256' needs an integrity algorithm (e.g. sha256) with a non-AEAD encryption algorithm"
    );
    assert_eq!(
        esp_err("aes256gcm16-ecp385"),
        "unknown algorithm 'ecp385' (did you mean 'ecp384'?)"
    );
}

#[test]
fn null_esp_with_integrity_is_allowed() {
    let p = esp("null-sha256");
    assert_eq!(
        p.encryption,
        [Encryption {
            algorithm: E::Null,
            key_bits: None
        }]
    );
}

#[test]
fn serde_uses_the_text() {
    let p: IkeProposal = serde_json::from_str("\"aes256gcm16-prfsha384-ecp384\"").unwrap();
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        "\"aes256gcm16-prfsha384-ecp384\""
    );
    let err = serde_json::from_str::<EspProposal>("\"aes256-foo\"").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown algorithm 'foo' at line 1 column 12"
    );
}

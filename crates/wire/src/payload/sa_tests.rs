use super::*;
use crate::test_util::hex;

/// The SA payload body of strongSwan's first IKE_SA_INIT request
/// (tests/data/strongswan/03-ike_sa_init-req-mid0.hex): two proposals, the first AEAD
/// with two KE methods, the second AES-CBC with integrity.
const STRONGSWAN_SA: &str = "\
    0200002c01010004 0300000c01000014800e0100 0300000802000006 0300000804000013 000000080400000f\
    0000002c02010004 0300000c0100000c800e0080 030000080300000c 0300000802000005 000000080400000e";

fn transform(last: bool, ty: u8, id: u16, attrs: &[u8]) -> Vec<u8> {
    let mut t = vec![if last { 0 } else { 3 }, 0];
    t.extend_from_slice(&((8 + attrs.len()) as u16).to_be_bytes());
    t.extend_from_slice(&[ty, 0]);
    t.extend_from_slice(&id.to_be_bytes());
    t.extend_from_slice(attrs);
    t
}

fn proposal(
    last: bool,
    number: u8,
    protocol: u8,
    spi: &[u8],
    count: u8,
    transforms: &[u8],
) -> Vec<u8> {
    let mut p = vec![if last { 0 } else { 2 }, 0];
    p.extend_from_slice(&((8 + spi.len() + transforms.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[number, protocol, spi.len() as u8, count]);
    p.extend_from_slice(spi);
    p.extend_from_slice(transforms);
    p
}

fn one_transform() -> Vec<u8> {
    transform(true, 1, 20, &[0x80, 14, 1, 0])
}

#[test]
fn parses_strongswan_proposals() {
    let body = hex(STRONGSWAN_SA);
    let sa = Sa::parse(&body).unwrap();
    let [p1, p2] = sa.proposals() else {
        panic!("two proposals")
    };
    assert_eq!(
        (p1.number(), p1.protocol(), p1.spi()),
        (1, ProtocolId::IKE, &[][..])
    );
    let t = p1.transforms();
    assert_eq!(t[0].encr(), Some(EncrId::ENCR_AES_GCM_16));
    assert_eq!(t[0].key_length(), Some(256));
    assert_eq!(t[1].prf(), Some(PrfId::PRF_HMAC_SHA2_384));
    let groups: Vec<_> = p1
        .transforms_of(TransformType::KE)
        .filter_map(Transform::ke)
        .collect();
    assert_eq!(groups, [KeMethod::ECP_256, KeMethod::MODP_3072]);
    assert_eq!(p2.number(), 2);
    assert_eq!(p2.transforms()[0].encr(), Some(EncrId::ENCR_AES_CBC));
    assert_eq!(p2.transforms()[0].key_length(), Some(128));
    assert_eq!(
        p2.transforms()[1].integ(),
        Some(IntegId::AUTH_HMAC_SHA2_256_128)
    );
    assert_eq!(p2.transforms()[1].encr(), None);
    assert_eq!(p2.transforms()[3].ke(), Some(KeMethod::MODP_2048));

    let mut out = Vec::new();
    SaBuilder::from(&sa).encode(&mut out).unwrap();
    assert_eq!(out, body);
}

#[test]
fn builds_the_same_bytes_from_scratch() {
    let sa = SaBuilder::new(vec![
        ProposalBuilder::ike(
            1,
            vec![
                TransformBuilder::encr(EncrId::ENCR_AES_GCM_16, Some(256)),
                TransformBuilder::prf(PrfId::PRF_HMAC_SHA2_384),
                TransformBuilder::ke(KeMethod::ECP_256),
                TransformBuilder::ke(KeMethod::MODP_3072),
            ],
        ),
        ProposalBuilder::ike(
            2,
            vec![
                TransformBuilder::encr(EncrId::ENCR_AES_CBC, Some(128)),
                TransformBuilder::integ(IntegId::AUTH_HMAC_SHA2_256_128),
                TransformBuilder::prf(PrfId::PRF_HMAC_SHA2_256),
                TransformBuilder::ke(KeMethod::MODP_2048),
            ],
        ),
    ]);
    let mut out = Vec::new();
    sa.encode(&mut out).unwrap();
    assert_eq!(out, hex(STRONGSWAN_SA));
}

#[test]
fn esp_proposal_with_spi_and_esn() {
    let sa = SaBuilder::new(vec![ProposalBuilder::esp(
        1,
        0x6755_4b1b,
        vec![
            TransformBuilder::encr(EncrId::ENCR_AES_GCM_16, Some(256)),
            TransformBuilder::esn(EsnId::NO_ESN),
            TransformBuilder::esn(EsnId::ESN),
        ],
    )]);
    let mut out = Vec::new();
    sa.encode(&mut out).unwrap();
    let parsed = Sa::parse(&out).unwrap();
    let p = &parsed.proposals()[0];
    assert_eq!(p.spi_u32(), Some(0x6755_4b1b));
    let esn: Vec<_> = p.transforms().iter().filter_map(Transform::esn).collect();
    assert_eq!(esn, [EsnId::NO_ESN, EsnId::ESN]);
    assert_eq!(SaBuilder::from(&parsed), sa);
}

#[test]
fn substructure_markers() {
    let t = one_transform();
    // Proposal marker 1 is neither "last" nor "more".
    let mut p = proposal(true, 1, 1, &[], 1, &t);
    p[0] = 1;
    assert!(matches!(
        Sa::parse(&p),
        Err(Error::InvalidValue {
            field: "last substruc",
            value: 1,
            ..
        })
    ));
    // "More" on the last proposal.
    let p = proposal(false, 1, 1, &[], 1, &t);
    assert!(matches!(
        Sa::parse(&p),
        Err(Error::InvalidValue {
            field: "last substruc",
            value: 2,
            ..
        })
    ));
    // "Last" followed by another proposal.
    let mut two = proposal(true, 1, 1, &[], 1, &t);
    two.extend(proposal(true, 2, 1, &[], 1, &t));
    assert!(matches!(Sa::parse(&two), Err(Error::TrailingData { .. })));
    // Transform marker 2 (the proposal value) inside a proposal.
    let mut bad_t = t.clone();
    bad_t[0] = 2;
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &bad_t)),
        Err(Error::InvalidValue {
            at: Structure::Transform,
            value: 2,
            ..
        })
    ));
}

#[test]
fn lengths_against_enclosing_structure() {
    let t = one_transform();
    let good = proposal(true, 1, 1, &[], 1, &t);
    // Proposal length shorter than its header.
    let mut short = good.clone();
    short[2..4].copy_from_slice(&7u16.to_be_bytes());
    assert!(matches!(
        Sa::parse(&short),
        Err(Error::BadLength { length: 7, .. })
    ));
    // Proposal length beyond the SA payload.
    let mut long = good.clone();
    long[2..4].copy_from_slice(&100u16.to_be_bytes());
    assert!(matches!(
        Sa::parse(&long),
        Err(Error::BadLength { length: 100, .. })
    ));
    // Transform length beyond the proposal.
    let mut tl = t.clone();
    tl[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &tl)),
        Err(Error::BadLength {
            at: Structure::Transform,
            length: 20,
            ..
        })
    ));
    // Bytes after the last transform inside the proposal.
    let mut extra = t.clone();
    extra.extend_from_slice(&[0, 0]);
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &extra)),
        Err(Error::TrailingData {
            at: Structure::Proposal,
            len: 2
        })
    ));
    assert!(matches!(Sa::parse(&[]), Err(Error::BadLength { .. })));
}

#[test]
fn proposal_numbering() {
    let t = one_transform();
    let sa = |numbers: &[u8]| {
        let mut body = Vec::new();
        for (i, n) in numbers.iter().enumerate() {
            body.extend(proposal(i + 1 == numbers.len(), *n, 1, &[], 1, &t));
        }
        Sa::parse(&body).map(|_| ())
    };
    assert!(sa(&[1]).is_ok());
    assert!(sa(&[1, 2, 3]).is_ok());
    // A responder returns the number it accepted.
    assert!(sa(&[3]).is_ok());
    assert!(sa(&[0]).is_err());
    assert!(sa(&[2, 3]).is_err());
    assert!(sa(&[1, 3]).is_err());
    assert!(sa(&[1, 1]).is_err());
}

#[test]
fn spi_sizes() {
    let t = one_transform();
    let sa =
        |protocol: u8, spi: &[u8]| Sa::parse(&proposal(true, 1, protocol, spi, 1, &t)).map(|_| ());
    assert!(sa(1, &[]).is_ok());
    assert!(sa(1, &[7; 8]).is_ok());
    assert!(sa(1, &[7; 4]).is_err());
    assert!(sa(3, &[7; 4]).is_ok());
    assert!(sa(3, &[]).is_err());
    assert!(sa(2, &[7; 8]).is_err());
    assert!(sa(0, &[]).is_err());
    // Protocols we do not know are not judged here.
    assert!(sa(200, &[7; 2]).is_ok());
}

#[test]
fn transform_counts() {
    let t1 = transform(false, 1, 20, &[0x80, 14, 1, 0]);
    let t2 = transform(true, 2, 5, &[]);
    let both = [t1.clone(), t2.clone()].concat();
    assert!(Sa::parse(&proposal(true, 1, 1, &[], 2, &both)).is_ok());
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &both)),
        Err(Error::InvalidValue {
            field: "num transforms",
            value: 1,
            ..
        })
    ));
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 3, &both)),
        Err(Error::InvalidValue {
            field: "num transforms",
            value: 3,
            ..
        })
    ));
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 0, &[])),
        Err(Error::InvalidValue {
            field: "num transforms",
            value: 0,
            ..
        })
    ));
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 200, &both)),
        Err(Error::TooMany {
            what: "transforms",
            ..
        })
    ));
}

#[test]
fn attributes() {
    // Duplicate Key Length.
    let dup = transform(true, 1, 12, &[0x80, 14, 0, 128, 0x80, 14, 1, 0]);
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &dup)),
        Err(Error::InvalidValue {
            field: "attribute type",
            value: 14,
            ..
        })
    ));
    // Key Length in TLV format.
    let tlv = transform(true, 1, 12, &[0, 14, 0, 2, 0, 128]);
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &tlv)),
        Err(Error::InvalidValue {
            field: "attribute format",
            ..
        })
    ));
    // Another TLV attribute is kept and round-trips.
    let other = transform(true, 1, 12, &[0, 99, 0, 3, 1, 2, 3]);
    let body = proposal(true, 1, 1, &[], 1, &other);
    let sa = Sa::parse(&body).unwrap();
    assert_eq!(
        sa.proposals()[0].transforms()[0].attributes(),
        [Attribute::Tlv {
            attribute_type: TransformAttributeType::new(99),
            value: &[1, 2, 3]
        }]
    );
    let mut out = Vec::new();
    SaBuilder::from(&sa).encode(&mut out).unwrap();
    assert_eq!(out, body);
    // TLV value running past the transform.
    let cut = transform(true, 1, 12, &[0, 99, 0, 9, 1]);
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &cut)),
        Err(Error::Truncated { .. })
    ));
    // Too many attributes.
    let many: Vec<u8> = (0..5u8).flat_map(|i| [0x80, i, 0, 0]).collect();
    let t = transform(true, 1, 12, &many);
    assert!(matches!(
        Sa::parse(&proposal(true, 1, 1, &[], 1, &t)),
        Err(Error::TooMany {
            what: "attributes",
            ..
        })
    ));
}

#[test]
fn proposal_cap() {
    let t = one_transform();
    let mut body = Vec::new();
    let n = MAX_PROPOSALS + 1;
    for i in 0..n {
        body.extend(proposal(i + 1 == n, (i + 1) as u8, 1, &[], 1, &t));
    }
    assert!(matches!(
        Sa::parse(&body),
        Err(Error::TooMany {
            what: "proposals",
            ..
        })
    ));
}

#[test]
fn builder_refuses_what_the_parser_refuses() {
    let enc = |sa: SaBuilder| sa.encode(&mut Vec::new());
    assert!(enc(SaBuilder::default()).is_err());
    let t = || vec![TransformBuilder::encr(EncrId::ENCR_AES_GCM_16, Some(128))];
    assert!(
        enc(SaBuilder::new(vec![
            ProposalBuilder::ike(1, t()),
            ProposalBuilder::ike(3, t())
        ]))
        .is_err()
    );
    assert!(enc(SaBuilder::new(vec![ProposalBuilder::ike(1, vec![])])).is_err());
    let mut bad_spi = ProposalBuilder::esp(1, 1, t());
    bad_spi.spi.pop();
    assert!(enc(SaBuilder::new(vec![bad_spi])).is_err());
    let mut tlv_key = TransformBuilder::new(TransformType::ENCR, 12);
    tlv_key.attributes.push(AttributeBuilder::Tlv {
        attribute_type: TransformAttributeType::KEY_LENGTH,
        value: vec![0, 128],
    });
    assert!(enc(SaBuilder::new(vec![ProposalBuilder::ike(1, vec![tlv_key])])).is_err());
}

//! Our SA offers built from the configuration, and the check that the gateway's choice
//! is one of them (RFC 7296 §2.7, §3.3.6).

use std::fmt;

use corridor_crypto::{DhGroup, EncrAlgorithm, IntegAlgorithm, PrfAlgorithm};
use corridor_wire::payload::{Proposal, ProposalBuilder, Sa, SaBuilder, TransformBuilder};
use corridor_wire::{EncrId, EsnId, IntegId, KeMethod, PrfId, ProtocolId, TransformType};

use crate::config::{EspProposal, IkeProposal};

/// The strongSwan keyword of an encryption algorithm (`aes256gcm16`).
pub fn encr_name(e: EncrAlgorithm) -> String {
    match e {
        EncrAlgorithm::AesGcm16 { key_bits } => format!("aes{key_bits}gcm16"),
        EncrAlgorithm::ChaCha20Poly1305 => "chacha20poly1305".into(),
        EncrAlgorithm::AesCbc { key_bits } => format!("aes{key_bits}"),
    }
}

/// The strongSwan keyword of a PRF (`prfsha384`).
pub fn prf_name(p: PrfAlgorithm) -> &'static str {
    match p {
        PrfAlgorithm::HmacSha1 => "prfsha1",
        PrfAlgorithm::HmacSha256 => "prfsha256",
        PrfAlgorithm::HmacSha384 => "prfsha384",
        PrfAlgorithm::HmacSha512 => "prfsha512",
    }
}

/// The strongSwan keyword of an integrity algorithm (`sha256`).
pub fn integ_name(i: IntegAlgorithm) -> &'static str {
    match i {
        IntegAlgorithm::HmacSha1_96 => "sha1",
        IntegAlgorithm::HmacSha256_128 => "sha256",
        IntegAlgorithm::HmacSha384_192 => "sha384",
        IntegAlgorithm::HmacSha512_256 => "sha512",
    }
}

/// The strongSwan keyword of a key exchange group (`ecp384`).
pub fn group_name(g: DhGroup) -> String {
    match g {
        DhGroup::Modp2048 => "modp2048".into(),
        DhGroup::Modp3072 => "modp3072".into(),
        DhGroup::Modp4096 => "modp4096".into(),
        DhGroup::Ecp256 => "ecp256".into(),
        DhGroup::Ecp384 => "ecp384".into(),
        DhGroup::Ecp521 => "ecp521".into(),
        DhGroup::Curve25519 => "curve25519".into(),
        other => format!("group{}", other.iana_id()),
    }
}

impl IkeProposal {
    /// strongSwan notation, e.g. `aes256gcm16-prfsha384-ecp384`.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self.encryption.iter().map(|e| encr_name(*e)).collect();
        words.extend(self.integrity.iter().map(|i| integ_name(*i).to_string()));
        words.extend(self.prf.iter().map(|p| prf_name(*p).to_string()));
        words.extend(self.groups.iter().map(|g| group_name(*g)));
        words.join("-")
    }
}

impl EspProposal {
    /// strongSwan notation, e.g. `aes256gcm16` or `aes128-sha256-esn`.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self.encryption.iter().map(|e| encr_name(*e)).collect();
        words.extend(self.integrity.iter().map(|i| integ_name(*i).to_string()));
        if self.esn.contains(&true) {
            words.push(
                if self.esn.contains(&false) {
                    "esn-noesn"
                } else {
                    "esn"
                }
                .into(),
            );
        }
        words.join("-")
    }
}

fn encr_transform(e: EncrAlgorithm) -> TransformBuilder {
    let bits = match e {
        EncrAlgorithm::AesGcm16 { key_bits } | EncrAlgorithm::AesCbc { key_bits } => Some(key_bits),
        EncrAlgorithm::ChaCha20Poly1305 => None,
    };
    TransformBuilder::encr(EncrId::new(e.iana_id()), bits)
}

/// The SA payload of our IKE_SA_INIT request.
///
/// RFC 7296 §3.3.1: "Proposal Num (1 octet) - When a proposal is made, the first
/// proposal in an SA payload MUST be 1, and subsequent proposals MUST be one more than
/// the previous proposal".
pub(crate) fn ike_sa(proposals: &[IkeProposal]) -> SaBuilder {
    SaBuilder::new(
        proposals
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut t: Vec<TransformBuilder> =
                    p.encryption.iter().map(|e| encr_transform(*e)).collect();
                t.extend(
                    p.prf
                        .iter()
                        .map(|x| TransformBuilder::prf(PrfId::new(x.iana_id()))),
                );
                t.extend(
                    p.integrity
                        .iter()
                        .map(|x| TransformBuilder::integ(IntegId::new(x.iana_id()))),
                );
                t.extend(
                    p.groups
                        .iter()
                        .map(|g| TransformBuilder::ke(KeMethod::new(g.iana_id()))),
                );
                ProposalBuilder::ike(proposal_number(i), t)
            })
            .collect(),
    )
}

/// The SA payload offering ESP with our inbound SPI; with `groups` (a rekey with PFS,
/// RFC 7296 §1.3.1) every proposal also offers those key exchange methods.
pub(crate) fn esp_sa(proposals: &[EspProposal], spi: u32, groups: &[DhGroup]) -> SaBuilder {
    SaBuilder::new(
        proposals
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut t: Vec<TransformBuilder> =
                    p.encryption.iter().map(|e| encr_transform(*e)).collect();
                t.extend(
                    p.integrity
                        .iter()
                        .map(|x| TransformBuilder::integ(IntegId::new(x.iana_id()))),
                );
                let esn: &[bool] = if p.esn.is_empty() { &[false] } else { &p.esn };
                t.extend(
                    esn.iter().map(|e| {
                        TransformBuilder::esn(if *e { EsnId::ESN } else { EsnId::NO_ESN })
                    }),
                );
                t.extend(
                    groups
                        .iter()
                        .map(|g| TransformBuilder::ke(KeMethod::new(g.iana_id()))),
                );
                ProposalBuilder::esp(proposal_number(i), spi, t)
            })
            .collect(),
    )
}

fn proposal_number(i: usize) -> u8 {
    u8::try_from(i + 1).unwrap_or(u8::MAX)
}

/// The IKE suite the gateway chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeSuite {
    /// Encryption.
    pub encr: EncrAlgorithm,
    /// PRF.
    pub prf: PrfAlgorithm,
    /// Integrity (`None` with an AEAD).
    pub integ: Option<IntegAlgorithm>,
    /// Key exchange group.
    pub group: DhGroup,
}

impl fmt::Display for IkeSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encr_name(self.encr))?;
        if let Some(i) = self.integ {
            write!(f, "-{}", integ_name(i))?;
        }
        write!(f, "-{}-{}", prf_name(self.prf), group_name(self.group))
    }
}

/// The ESP transform the gateway chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspSuite {
    /// Encryption.
    pub encr: EncrAlgorithm,
    /// Integrity (`None` with an AEAD).
    pub integ: Option<IntegAlgorithm>,
    /// Extended sequence numbers.
    pub esn: bool,
}

impl fmt::Display for EspSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encr_name(self.encr))?;
        if let Some(i) = self.integ {
            write!(f, "-{}", integ_name(i))?;
        }
        f.write_str(if self.esn { "-esn" } else { "-noesn" })
    }
}

/// The one transform of `transform_type` in a chosen proposal.
///
/// RFC 7296 §2.7 and §3.3.6: the responder answers with a single proposal holding one
/// transform of each type it accepted, taken from what we offered.
fn single<'a>(
    proposal: &'a Proposal<'_>,
    transform_type: TransformType,
    what: &str,
) -> Result<Option<&'a corridor_wire::payload::Transform<'a>>, String> {
    let mut it = proposal.transforms_of(transform_type);
    let first = it.next();
    if it.next().is_some() {
        return Err(format!("the gateway chose more than one {what}"));
    }
    Ok(first)
}

fn chosen_proposal<'a>(sa: &'a Sa<'a>) -> Result<&'a Proposal<'a>, String> {
    match sa.proposals() {
        [one] => Ok(one),
        _ => Err("the gateway's SA payload must hold exactly one proposal".into()),
    }
}

fn offered_encr(
    t: &corridor_wire::payload::Transform<'_>,
    offered: &[EncrAlgorithm],
) -> Option<EncrAlgorithm> {
    offered
        .iter()
        .copied()
        .find(|e| EncrAlgorithm::from_iana_id(t.id(), t.key_length()).ok() == Some(*e))
}

/// Checks the gateway's IKE SA choice against what we offered.
///
/// RFC 7296 §2.7: the responder chooses one of our proposals and may not add to it. A
/// transform we did not offer or a missing mandatory type is an error naming it.
pub(crate) fn match_ike(sa: &Sa<'_>, offered: &[IkeProposal]) -> Result<IkeSuite, String> {
    let p = chosen_proposal(sa)?;
    if p.protocol() != ProtocolId::IKE {
        return Err(format!(
            "the gateway chose protocol {} for the IKE SA",
            p.protocol()
        ));
    }
    let ours = offered
        .get(usize::from(p.number()).wrapping_sub(1))
        .ok_or_else(|| {
            format!(
                "the gateway chose proposal {}, which we never made",
                p.number()
            )
        })?;
    let encr = single(p, TransformType::ENCR, "encryption algorithm")?
        .and_then(|t| offered_encr(t, &ours.encryption))
        .ok_or("the gateway chose an encryption algorithm we did not offer")?;
    let prf = single(p, TransformType::PRF, "PRF")?
        .and_then(|t| PrfAlgorithm::from_iana_id(t.id()))
        .filter(|x| ours.prf.contains(x))
        .ok_or("the gateway chose a PRF we did not offer")?;
    let integ = match single(p, TransformType::INTEG, "integrity algorithm")? {
        None if encr.is_aead() => None,
        Some(t) if encr.is_aead() && t.id() == IntegId::NONE.get() => None,
        Some(t) if !encr.is_aead() => Some(
            IntegAlgorithm::from_iana_id(t.id())
                .filter(|x| ours.integrity.contains(x))
                .ok_or("the gateway chose an integrity algorithm we did not offer")?,
        ),
        _ => return Err("the gateway's integrity choice does not fit its cipher".into()),
    };
    let group = single(p, TransformType::KE, "key exchange group")?
        .and_then(|t| DhGroup::from_iana_id(t.id()))
        .filter(|g| ours.groups.contains(g))
        .ok_or("the gateway chose a key exchange group we did not offer")?;
    Ok(IkeSuite {
        encr,
        prf,
        integ,
        group,
    })
}

/// Checks the gateway's ESP choice; returns the suite and the gateway's inbound SPI
/// (our outbound SPI).
pub(crate) fn match_esp(sa: &Sa<'_>, offered: &[EspProposal]) -> Result<(EspSuite, u32), String> {
    match match_esp_rekey(sa, offered, &[])? {
        (suite, spi, None) => Ok((suite, spi)),
        (_, _, Some(_)) => {
            Err("the gateway chose a key exchange group for the first Child SA".into())
        }
    }
}

/// [`match_esp`] for a Child SA made by CREATE_CHILD_SA, where we offered the key
/// exchange `groups` (none: no PFS). Returns the chosen group too.
///
/// RFC 7296 §3.3.2: the responder picks one transform of each type we offered, so
/// when we offered groups it must pick one of them, and none when we offered none.
pub(crate) fn match_esp_rekey(
    sa: &Sa<'_>,
    offered: &[EspProposal],
    groups: &[DhGroup],
) -> Result<(EspSuite, u32, Option<DhGroup>), String> {
    let p = chosen_proposal(sa)?;
    if p.protocol() != ProtocolId::ESP {
        return Err(format!(
            "the gateway chose protocol {} for the Child SA",
            p.protocol()
        ));
    }
    let spi = p.spi_u32().ok_or("the gateway's ESP SPI is not 4 bytes")?;
    // RFC 4303 §2.1: "The SPI value of zero (0) is reserved for local, implementation-
    // specific use and MUST NOT be sent on the wire."
    if spi == 0 {
        return Err("the gateway's ESP SPI is zero".into());
    }
    let ours = offered
        .get(usize::from(p.number()).wrapping_sub(1))
        .ok_or_else(|| {
            format!(
                "the gateway chose ESP proposal {}, which we never made",
                p.number()
            )
        })?;
    let encr = single(p, TransformType::ENCR, "encryption algorithm")?
        .and_then(|t| offered_encr(t, &ours.encryption))
        .ok_or("the gateway chose an ESP encryption algorithm we did not offer")?;
    let integ = match single(p, TransformType::INTEG, "integrity algorithm")? {
        None if encr.is_aead() => None,
        Some(t) if encr.is_aead() && t.id() == IntegId::NONE.get() => None,
        Some(t) if !encr.is_aead() => Some(
            IntegAlgorithm::from_iana_id(t.id())
                .filter(|x| ours.integrity.contains(x))
                .ok_or("the gateway chose an ESP integrity algorithm we did not offer")?,
        ),
        _ => return Err("the gateway's ESP integrity choice does not fit its cipher".into()),
    };
    let offered_esn: &[bool] = if ours.esn.is_empty() {
        &[false]
    } else {
        &ours.esn
    };
    let esn = match single(p, TransformType::ESN, "ESN setting")? {
        Some(t) if t.id() == EsnId::ESN.get() => true,
        Some(t) if t.id() == EsnId::NO_ESN.get() => false,
        Some(_) => return Err("the gateway chose an unknown ESN setting".into()),
        // RFC 7296 §3.3.2: ESN is mandatory in ESP proposals; be lenient on a missing
        // one only when we would have accepted "no ESN" anyway.
        None => false,
    };
    if !offered_esn.contains(&esn) {
        return Err("the gateway chose an ESN setting we did not offer".into());
    }
    let group = match single(p, TransformType::KE, "key exchange group")? {
        None if groups.is_empty() => None,
        None => return Err("the gateway chose no key exchange group, but we asked for PFS".into()),
        Some(t) if groups.is_empty() => {
            if t.id() == 0 {
                None
            } else {
                return Err(format!(
                    "the gateway chose key exchange group {}, which we did not offer",
                    t.id()
                ));
            }
        }
        Some(t) => Some(
            DhGroup::from_iana_id(t.id())
                .filter(|g| groups.contains(g))
                .ok_or("the gateway chose a key exchange group we did not offer")?,
        ),
    };
    Ok((EspSuite { encr, integ, esn }, spi, group))
}

/// Our choice among the gateway's IKE proposals when it rekeys the IKE SA: the first
/// of its proposals that one of ours allows, with the group of its KE payload. Returns
/// the suite, the gateway's new SPI and the proposal number; `Err(Some(group))` when
/// only another group would do (for INVALID_KE_PAYLOAD), `Err(None)` when nothing fits.
pub(crate) fn choose_ike(
    sa: &Sa<'_>,
    ours: &[IkeProposal],
    ke_group: u16,
) -> Result<(IkeSuite, u64, u8), Option<DhGroup>> {
    let mut other_group = None;
    for p in sa.proposals() {
        if p.protocol() != ProtocolId::IKE {
            continue;
        }
        let Some(spi) = <[u8; 8]>::try_from(p.spi())
            .ok()
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0)
        else {
            continue;
        };
        for mine in ours {
            let Some(encr) = p
                .transforms_of(TransformType::ENCR)
                .find_map(|t| offered_encr(t, &mine.encryption))
            else {
                continue;
            };
            let Some(prf) = p
                .transforms_of(TransformType::PRF)
                .find_map(|t| PrfAlgorithm::from_iana_id(t.id()).filter(|x| mine.prf.contains(x)))
            else {
                continue;
            };
            let integ = if encr.is_aead() {
                None
            } else {
                let Some(i) = p.transforms_of(TransformType::INTEG).find_map(|t| {
                    IntegAlgorithm::from_iana_id(t.id()).filter(|x| mine.integrity.contains(x))
                }) else {
                    continue;
                };
                Some(i)
            };
            let groups: Vec<DhGroup> = p
                .transforms_of(TransformType::KE)
                .filter_map(|t| DhGroup::from_iana_id(t.id()))
                .filter(|g| mine.groups.contains(g))
                .collect();
            match groups.iter().find(|g| g.iana_id() == ke_group) {
                Some(group) => {
                    let suite = IkeSuite {
                        encr,
                        prf,
                        integ,
                        group: *group,
                    };
                    return Ok((suite, spi, p.number()));
                }
                None => other_group = other_group.or(groups.first().copied()),
            }
        }
    }
    Err(other_group)
}

/// The SA payload of our answer to the gateway's IKE SA rekey: the one suite we chose,
/// with our new IKE SPI.
pub(crate) fn ike_choice(number: u8, spi: u64, suite: &IkeSuite) -> SaBuilder {
    let mut t = vec![
        encr_transform(suite.encr),
        TransformBuilder::prf(PrfId::new(suite.prf.iana_id())),
    ];
    if let Some(i) = suite.integ {
        t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
    }
    t.push(TransformBuilder::ke(KeMethod::new(suite.group.iana_id())));
    let mut p = ProposalBuilder::ike(number, t);
    p.spi = spi.to_be_bytes().to_vec();
    SaBuilder::new(vec![p])
}

/// Our choice among the gateway's ESP proposals when it starts a CREATE_CHILD_SA:
/// the first of its proposals whose cipher, integrity and ESN transforms one of our
/// proposals allows, with `ke_group` (the group of its KE payload) when it sent one.
///
/// RFC 7296 §2.7: "The responder MUST choose a single suite, which may be a subset of
/// the SA proposal (i.e., transforms not to be used can be removed)."
pub(crate) fn choose_esp(
    sa: &Sa<'_>,
    ours: &[EspProposal],
    ke_group: Option<u16>,
) -> Option<(EspSuite, u32, u8, Option<DhGroup>)> {
    for p in sa.proposals() {
        if p.protocol() != ProtocolId::ESP {
            continue;
        }
        let Some(spi) = p.spi_u32().filter(|s| *s != 0) else {
            continue;
        };
        for mine in ours {
            let encr = p
                .transforms_of(TransformType::ENCR)
                .find_map(|t| offered_encr(t, &mine.encryption));
            let Some(encr) = encr else { continue };
            let integ = if encr.is_aead() {
                None
            } else {
                let Some(i) = p.transforms_of(TransformType::INTEG).find_map(|t| {
                    IntegAlgorithm::from_iana_id(t.id()).filter(|x| mine.integrity.contains(x))
                }) else {
                    continue;
                };
                Some(i)
            };
            let our_esn: &[bool] = if mine.esn.is_empty() {
                &[false]
            } else {
                &mine.esn
            };
            let theirs: Vec<bool> = p
                .transforms_of(TransformType::ESN)
                .filter_map(|t| match t.id() {
                    x if x == EsnId::ESN.get() => Some(true),
                    x if x == EsnId::NO_ESN.get() => Some(false),
                    _ => None,
                })
                .collect();
            let esn = if theirs.is_empty() {
                Some(false).filter(|e| our_esn.contains(e))
            } else {
                our_esn.iter().copied().find(|e| theirs.contains(e))
            };
            let Some(esn) = esn else { continue };
            let offers_ke: Vec<u16> = p.transforms_of(TransformType::KE).map(|t| t.id()).collect();
            let group = match ke_group {
                // A KE payload for a group this proposal offers, and that we can do.
                Some(g) => match DhGroup::from_iana_id(g) {
                    Some(group) if offers_ke.contains(&g) => Some(group),
                    _ => continue,
                },
                // No KE payload: only proposals without PFS (or with NONE) fit.
                None if offers_ke.is_empty() || offers_ke.contains(&0) => None,
                None => continue,
            };
            return Some((EspSuite { encr, integ, esn }, spi, p.number(), group));
        }
    }
    None
}

/// The SA payload of our answer to the gateway's CREATE_CHILD_SA: the one suite we
/// chose, under its proposal number, with our inbound SPI.
pub(crate) fn esp_choice(
    number: u8,
    spi: u32,
    suite: &EspSuite,
    group: Option<DhGroup>,
) -> SaBuilder {
    let mut t = vec![encr_transform(suite.encr)];
    if let Some(i) = suite.integ {
        t.push(TransformBuilder::integ(IntegId::new(i.iana_id())));
    }
    t.push(TransformBuilder::esn(if suite.esn {
        EsnId::ESN
    } else {
        EsnId::NO_ESN
    }));
    if let Some(g) = group {
        t.push(TransformBuilder::ke(KeMethod::new(g.iana_id())));
    }
    SaBuilder::new(vec![ProposalBuilder::esp(number, spi, t)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_wire::{Payload, PayloadBuilder, PayloadType};

    fn suite() -> IkeProposal {
        IkeProposal {
            encryption: vec![EncrAlgorithm::AesCbc { key_bits: 128 }],
            prf: vec![PrfAlgorithm::HmacSha256],
            integrity: vec![IntegAlgorithm::HmacSha256_128],
            groups: vec![DhGroup::Modp2048, DhGroup::Ecp256],
        }
    }

    fn reparse(sa: SaBuilder, f: impl FnOnce(&Sa<'_>)) {
        let mut bytes = Vec::new();
        corridor_wire::encode_inner_payloads(&[PayloadBuilder::Sa(sa)], &mut bytes).unwrap();
        let p = corridor_wire::parse_inner_payloads(PayloadType::SA, &bytes).unwrap();
        let Payload::Sa(sa) = &p[0] else { panic!() };
        f(sa)
    }

    fn pick(p: &ProposalBuilder, keep: &[(TransformType, u16)]) -> SaBuilder {
        let mut p = p.clone();
        p.transforms
            .retain(|t| keep.contains(&(t.transform_type, t.id)));
        SaBuilder::new(vec![p])
    }

    #[test]
    fn describes_in_strongswan_notation() {
        assert_eq!(
            suite().describe(),
            "aes128-sha256-prfsha256-modp2048-ecp256"
        );
    }

    #[test]
    fn matches_only_what_was_offered() {
        let offer = ike_sa(&[suite()]);
        let p = &offer.proposals[0];
        let good = pick(
            p,
            &[
                (TransformType::ENCR, 12),
                (TransformType::PRF, 5),
                (TransformType::INTEG, 12),
                (TransformType::KE, 19),
            ],
        );
        reparse(good, |sa| {
            let s = match_ike(sa, &[suite()]).unwrap();
            assert_eq!(s.group, DhGroup::Ecp256);
            assert_eq!(s.to_string(), "aes128-sha256-prfsha256-ecp256");
        });
        let mut bad = pick(
            p,
            &[
                (TransformType::ENCR, 12),
                (TransformType::PRF, 5),
                (TransformType::INTEG, 12),
                (TransformType::KE, 19),
            ],
        );
        bad.proposals[0].transforms[3].id = 20;
        reparse(bad, |sa| {
            assert_eq!(
                match_ike(sa, &[suite()]).unwrap_err(),
                "the gateway chose a key exchange group we did not offer"
            );
        });
        let two_groups = pick(
            p,
            &[
                (TransformType::ENCR, 12),
                (TransformType::PRF, 5),
                (TransformType::INTEG, 12),
                (TransformType::KE, 19),
                (TransformType::KE, 14),
            ],
        );
        reparse(two_groups, |sa| {
            assert!(
                match_ike(sa, &[suite()])
                    .unwrap_err()
                    .contains("more than one")
            );
        });
    }

    #[test]
    fn esp_matching() {
        let esp = EspProposal {
            encryption: vec![EncrAlgorithm::AesGcm16 { key_bits: 256 }],
            integrity: vec![],
            esn: vec![false],
        };
        let offer = esp_sa(std::slice::from_ref(&esp), 0x1234_5678, &[]);
        let mut reply = offer.clone();
        reply.proposals[0].spi = 0xc0ffee01u32.to_be_bytes().to_vec();
        reparse(reply, |sa| {
            let (s, spi) = match_esp(sa, std::slice::from_ref(&esp)).unwrap();
            assert_eq!(spi, 0xc0ffee01);
            assert_eq!(s.to_string(), "aes256gcm16-noesn");
        });
    }
}

//! How strong a profile's algorithms are, and the policy check that refuses legacy ones.
//!
//! Algorithms that RFC 8247 (IKEv2) and RFC 8221 (ESP) forbid outright (DES, HMAC-MD5,
//! MODP-768) never get this far: the proposal parser refuses them, because Corridor does
//! not implement them. What remains are algorithms Corridor can still speak for old
//! gateways but that the RFCs want phased out. A profile that offers one of them is
//! graded "legacy" and refused unless an administrator's policy allows legacy algorithms
//! (`allow_legacy_crypto`).
//!
//! A proposal list that is empty means Corridor's defaults, which are all strong.

use std::fmt;

use corridor_model::proposal::{
    AdditionalKeyExchange, Encryption, EncryptionAlgorithm, Integrity, KeyExchange, Prf,
};
use corridor_model::{Policy, Profile};

use crate::error::{InputError, InputErrorKind};

/// The overall grade.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Grade {
    /// Only algorithms the RFCs recommend.
    Strong,
    /// At least one algorithm the RFCs want phased out.
    Legacy,
}

/// One legacy algorithm offered by one proposal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Weakness {
    /// The proposal's field path (`proposals.ike[0]`, `proposals.esp[1]`).
    pub field: String,
    /// The algorithm in proposal notation (`modp1024`, `3des`, `sha1`, `prfsha1`).
    pub algorithm: String,
    /// Why it is legacy, with the RFC that says so.
    pub reason: String,
}

/// A profile's algorithm posture.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Posture {
    /// Strong or legacy.
    pub grade: Grade,
    /// Every legacy algorithm, proposal by proposal (IKE first); within one, key
    /// exchange, encryption, integrity, PRF.
    pub weaknesses: Vec<Weakness>,
    /// Whether every IKE proposal requires an ML-KEM key exchange (RFC 9370 additional
    /// key exchange, or ML-KEM as the only method), so the keys resist a quantum
    /// computer recording the traffic today. `false` for Corridor's defaults.
    pub quantum_safe: bool,
    /// Set by [`enforce`] when the profile is legacy and the policy allows it.
    pub allowed_by_policy: bool,
}

impl Posture {
    /// The legacy algorithms, each once, in the order they first appear.
    pub fn legacy_algorithms(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for w in &self.weaknesses {
            if !out.contains(&w.algorithm.as_str()) {
                out.push(&w.algorithm);
            }
        }
        out
    }
}

impl fmt::Display for Posture {
    /// `strong`, `strong, quantum-safe key exchange`, `legacy: modp1024, 3des`,
    /// `legacy: modp1024 allowed by policy`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.grade {
            Grade::Strong => f.write_str("strong")?,
            Grade::Legacy => {
                write!(f, "legacy: {}", self.legacy_algorithms().join(", "))?;
                if self.allowed_by_policy {
                    f.write_str(" allowed by policy")?;
                }
            }
        }
        if self.quantum_safe {
            f.write_str(", quantum-safe key exchange")?;
        }
        Ok(())
    }
}

/// RFC 8247 §2.1 (IKE) downgrades ENCR_3DES to MAY and RFC 8221 §5 (ESP) to SHOULD NOT;
/// its 64-bit block makes long-lived tunnels open to birthday attacks (Sweet32).
const REASON_3DES: &str = "3DES has a 64-bit block, open to birthday attacks on long-lived \
     tunnels (Sweet32); RFC 8221 §5 says SHOULD NOT for ESP and RFC 8247 §2.1 keeps it only as MAY";

/// RFC 8247 §2.3 and RFC 8221 §6 keep AUTH_HMAC_SHA1_96 only as "MUST-", a status the
/// RFCs define as expected to be downgraded; SHA-2 is the replacement.
const REASON_SHA1_INTEG: &str = "SHA-1 is the only integrity algorithm in this proposal; \
     RFC 8247 §2.3 marks HMAC-SHA1 MUST- (to be phased out) and recommends HMAC-SHA2";

/// RFC 8247 §2.2: PRF_HMAC_SHA1 is "MUST-" while PRF_HMAC_SHA2_256 is "MUST".
const REASON_SHA1_PRF: &str = "SHA-1 is the only PRF in this proposal; RFC 8247 §2.2 marks \
     PRF_HMAC_SHA1 MUST- (to be phased out) and requires PRF_HMAC_SHA2_256";

/// The reason a key exchange method is legacy, or `None` when it is not.
///
/// RFC 8247 §2.4: "Group 2 or 1024-bit MODP Group has been downgraded from MUST- in
/// [RFC4307] to SHOULD NOT. It is known to be weak against sophisticated attackers, and
/// using it should be avoided." Its table lists groups 5 (1536-bit MODP) and 22, 23, 24
/// (MODP with prime order subgroups, RFC 5114) as SHOULD NOT as well, and 14 (2048-bit
/// MODP) as the MUST. NIST P-192 (group 25) gives about 96-bit security, below group 14.
fn weak_key_exchange(ke: KeyExchange) -> Option<(&'static str, &'static str)> {
    const SHOULD_NOT: &str = "RFC 8247 §2.4 says SHOULD NOT";
    let (name, reason) = match ke {
        KeyExchange::Modp1024 => (
            "modp1024",
            "the 1024-bit MODP group is \"known to be weak against sophisticated attackers\" \
             (RFC 8247 §2.4: SHOULD NOT)",
        ),
        KeyExchange::Modp1536 => ("modp1536", SHOULD_NOT),
        KeyExchange::Modp1024S160 => (
            "modp1024s160",
            "a 1024-bit MODP group with a 160-bit subgroup and unpublished seeds; RFC 8247 \
             §2.4 says SHOULD NOT",
        ),
        KeyExchange::Modp2048S224 => (
            "modp2048s224",
            "a MODP group with a 224-bit subgroup and unpublished seeds; RFC 8247 §2.4 says \
             SHOULD NOT",
        ),
        KeyExchange::Modp2048S256 => (
            "modp2048s256",
            "a MODP group with a 256-bit subgroup and unpublished seeds; RFC 8247 §2.4 says \
             SHOULD NOT",
        ),
        KeyExchange::Ecp192 => (
            "ecp192",
            "NIST P-192 gives about 96-bit security, less than the 2048-bit MODP group RFC 8247 \
             §2.4 makes the minimum",
        ),
        _ => return None,
    };
    Some((name, reason))
}

/// Collects the weaknesses of one proposal's transforms.
struct Assessor<'a> {
    field: String,
    out: &'a mut Vec<Weakness>,
}

impl Assessor<'_> {
    fn push(&mut self, algorithm: &str, reason: &str) {
        self.out.push(Weakness {
            field: self.field.clone(),
            algorithm: algorithm.to_string(),
            reason: reason.to_string(),
        });
    }

    fn encryption(&mut self, encryption: &[Encryption]) {
        // The only 64-bit block cipher Corridor implements; Blowfish and CAST are refused
        // by the proposal parser.
        if encryption
            .iter()
            .any(|e| e.algorithm == EncryptionAlgorithm::TripleDes)
        {
            self.push("3des", REASON_3DES);
        }
    }

    /// AEAD proposals have no integrity transforms and need none (RFC 5282 §8).
    fn integrity(&mut self, integrity: &[Integrity]) {
        let sha1 = |i: &Integrity| matches!(i, Integrity::HmacSha1_96 | Integrity::HmacSha1_160);
        if !integrity.is_empty() && integrity.iter().all(sha1) {
            let name = if integrity.contains(&Integrity::HmacSha1_96) {
                "sha1"
            } else {
                "sha1_160"
            };
            self.push(name, REASON_SHA1_INTEG);
        }
    }

    fn prf(&mut self, prf: &[Prf]) {
        if !prf.is_empty() && prf.iter().all(|p| *p == Prf::HmacSha1) {
            self.push("prfsha1", REASON_SHA1_PRF);
        }
    }

    fn key_exchange(&mut self, methods: &[KeyExchange]) {
        for ke in methods {
            if let Some((name, reason)) = weak_key_exchange(*ke) {
                self.push(name, reason);
            }
        }
    }
}

fn is_mlkem(ke: &KeyExchange) -> bool {
    matches!(
        ke,
        KeyExchange::MlKem512 | KeyExchange::MlKem768 | KeyExchange::MlKem1024
    )
}

/// Whether a proposal can only be negotiated with an ML-KEM exchange: ML-KEM is the only
/// IKE_SA_INIT method, or an additional key exchange round offers only ML-KEM methods
/// (`none` among them would make the round optional).
fn requires_mlkem(key_exchange: &[KeyExchange], additional: &[AdditionalKeyExchange]) -> bool {
    let all_mlkem = |methods: &[KeyExchange]| !methods.is_empty() && methods.iter().all(is_mlkem);
    all_mlkem(key_exchange) || additional.iter().any(|round| all_mlkem(&round.methods))
}

/// Grades a profile's proposals.
pub fn assess(profile: &Profile) -> Posture {
    let mut weaknesses = Vec::new();
    for (i, p) in profile.proposals.ike.iter().enumerate() {
        let mut a = Assessor {
            field: format!("proposals.ike[{i}]"),
            out: &mut weaknesses,
        };
        a.key_exchange(&p.key_exchange);
        a.encryption(&p.encryption);
        a.integrity(&p.integrity);
        a.prf(&p.prf);
    }
    for (i, p) in profile.proposals.esp.iter().enumerate() {
        let mut a = Assessor {
            field: format!("proposals.esp[{i}]"),
            out: &mut weaknesses,
        };
        // PFS groups; `none` (PFS optional) is not an algorithm.
        a.key_exchange(&p.key_exchange);
        a.encryption(&p.encryption);
        a.integrity(&p.integrity);
    }
    let ike = &profile.proposals.ike;
    let quantum_safe = !ike.is_empty()
        && ike
            .iter()
            .all(|p| requires_mlkem(&p.key_exchange, &p.additional_key_exchanges));
    Posture {
        grade: if weaknesses.is_empty() {
            Grade::Strong
        } else {
            Grade::Legacy
        },
        weaknesses,
        quantum_safe,
        allowed_by_policy: false,
    }
}

/// Grades `profile` and refuses it when it is legacy and `policy` does not allow legacy
/// algorithms.
///
/// # Errors
/// An [`InputError`] at the first weak proposal's field, naming the algorithm, why it is
/// legacy, and that an administrator can allow legacy algorithms.
pub fn enforce(policy: &Policy, origin: &str, profile: &Profile) -> Result<Posture, InputError> {
    let mut posture = assess(profile);
    if posture.grade == Grade::Strong {
        return Ok(posture);
    }
    if policy.allow_legacy_crypto {
        posture.allowed_by_policy = true;
        return Ok(posture);
    }
    let Some(first) = posture.weaknesses.first() else {
        return Ok(posture);
    };
    Err(InputError::at_field(
        origin,
        first.field.clone(),
        InputErrorKind::LegacyCrypto {
            algorithm: first.algorithm.clone(),
            reason: first.reason.clone(),
        },
    ))
}

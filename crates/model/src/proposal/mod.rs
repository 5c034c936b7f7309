//! IKE and ESP proposals written as strongSwan proposal strings.
//!
//! Administrators know strongSwan's notation (`aes256gcm16-prfsha384-ecp384`), gateways
//! document their cipher suites in it, and `.sswan` files carry it; so a Corridor profile
//! stores that text and this module turns it into typed transform lists with strongSwan's
//! rules (`proposal_create_from_string` and `check_proposal` in libstrongswan):
//!
//! - Keywords are separated by `-`; the order of algorithms of one kind is the preference;
//!   algorithms of different kinds may be interleaved.
//! - IKE: a PRF is mandatory; when none is given it is derived from each integrity
//!   algorithm (`sha256` → `prfsha256`). A key exchange method is mandatory; `none` is
//!   dropped. AEAD and classic ciphers cannot be mixed; with AEAD ciphers integrity
//!   algorithms are dropped (RFC 5282 §8), with classic ciphers one is mandatory.
//! - ESP: PRFs are dropped. A key exchange method requests PFS, and `none` among them makes
//!   PFS optional. Without `esn`/`noesn`, `noesn` is assumed.
//! - `ke1_` … `ke7_` prefixes name additional key exchanges (RFC 9370), e.g.
//!   `aes256gcm16-prfsha384-x25519-ke1_mlkem768`.
//!
//! Corridor is stricter than strongSwan in three places, each with a reason in the error:
//! algorithms that RFC 8247 / RFC 8221 forbid (DES, HMAC-MD5, MODP-768) and
//! strongSwan-private ones are refused; IKE proposals cannot use NULL encryption
//! (RFC 8247 §2.1); and ESP proposals with a classic cipher need an integrity algorithm.

mod transform;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use transform::{Encryption, EncryptionAlgorithm, Esn, Integrity, KeyExchange, Prf};
use transform::{Token, all_keywords, keyword};

/// The number of additional key exchange transform types (ADDKE1..ADDKE7, RFC 9370 §2.2.2).
pub const ADDITIONAL_KEY_EXCHANGES: usize = 7;

/// Why a proposal string is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProposalError {
    /// Nothing but separators.
    #[error("empty proposal")]
    Empty,
    /// A comma inside what must be one proposal.
    #[error("'{0}' holds several proposals; give each one separately")]
    Several(String),
    /// A keyword strongSwan does not know either.
    #[error("unknown algorithm '{word}'{}", suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    Unknown {
        /// The keyword as written.
        word: String,
        /// The closest known keyword, if one is close.
        suggestion: Option<String>,
    },
    /// A keyword Corridor refuses.
    #[error("algorithm '{word}' is not supported: {reason}")]
    Refused {
        /// The keyword as written.
        word: String,
        /// Why.
        reason: &'static str,
    },
    /// A keyword that has no meaning in this kind of proposal.
    #[error("'{word}' cannot be used in {kind} proposals: {reason}")]
    Misplaced {
        /// The keyword as written.
        word: String,
        /// "IKE" or "ESP".
        kind: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A mandatory kind of algorithm is missing, or kinds conflict.
    #[error("{kind} proposal '{text}' {problem}")]
    Incomplete {
        /// "IKE" or "ESP".
        kind: &'static str,
        /// The proposal as written.
        text: String,
        /// What is missing or wrong.
        problem: &'static str,
    },
}

/// An additional key exchange round (RFC 9370): the methods offered for one ADDKE slot.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct AdditionalKeyExchange {
    /// The methods for this round, in preference order; [`KeyExchange::None`] among them
    /// makes the round optional. Empty when the proposal does not use this round.
    pub methods: Vec<KeyExchange>,
}

/// An IKE SA proposal with typed transforms.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct IkeProposal {
    /// Encryption algorithms, most preferred first.
    pub encryption: Vec<Encryption>,
    /// PRFs, explicit or derived from the integrity algorithms.
    pub prf: Vec<Prf>,
    /// Integrity algorithms; empty with AEAD encryption.
    pub integrity: Vec<Integrity>,
    /// Key exchange methods for IKE_SA_INIT (never `None`).
    pub key_exchange: Vec<KeyExchange>,
    /// Additional key exchanges ADDKE1..ADDKE7 (RFC 9370).
    pub additional_key_exchanges: [AdditionalKeyExchange; ADDITIONAL_KEY_EXCHANGES],
    text: String,
}

/// An ESP (Child SA) proposal with typed transforms.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EspProposal {
    /// Encryption algorithms, most preferred first.
    pub encryption: Vec<Encryption>,
    /// Integrity algorithms; empty with AEAD encryption.
    pub integrity: Vec<Integrity>,
    /// Key exchange methods for PFS on rekeying; empty means no PFS, and
    /// [`KeyExchange::None`] among them means PFS is optional.
    pub key_exchange: Vec<KeyExchange>,
    /// Additional key exchanges ADDKE1..ADDKE7 (RFC 9370).
    pub additional_key_exchanges: [AdditionalKeyExchange; ADDITIONAL_KEY_EXCHANGES],
    /// Extended sequence number choices; `[Esn::No]` when the text names none.
    pub esn: Vec<Esn>,
    text: String,
}

/// The transforms of one proposal string before the IKE/ESP rules are applied.
#[derive(Default)]
struct Parsed {
    encryption: Vec<Encryption>,
    prf: Vec<Prf>,
    integrity: Vec<Integrity>,
    key_exchange: Vec<KeyExchange>,
    additional: [AdditionalKeyExchange; ADDITIONAL_KEY_EXCHANGES],
    esn: Vec<Esn>,
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn tokenize(text: &str, kind: &'static str) -> Result<Parsed, ProposalError> {
    if text.contains(',') {
        return Err(ProposalError::Several(text.to_string()));
    }
    let mut parsed = Parsed::default();
    let mut any = false;
    for word in text.split('-').map(str::trim).filter(|w| !w.is_empty()) {
        any = true;
        // Additional key exchanges: ke<1-7>_<method> (strongSwan's key_exchange.c parser).
        if let Some((slot, method)) = additional_ke(word) {
            match keyword(method) {
                Some(Token::KeyExchange(ke)) => {
                    push_unique(&mut parsed.additional[slot].methods, ke);
                    continue;
                }
                Some(Token::Refused(reason)) => {
                    return Err(ProposalError::Refused {
                        word: word.to_string(),
                        reason,
                    });
                }
                _ => return Err(unknown(word)),
            }
        }
        match keyword(word) {
            Some(Token::Encryption(e)) => push_unique(&mut parsed.encryption, e),
            Some(Token::Prf(p)) => push_unique(&mut parsed.prf, p),
            Some(Token::Integrity(i)) => push_unique(&mut parsed.integrity, i),
            Some(Token::KeyExchange(k)) => push_unique(&mut parsed.key_exchange, k),
            Some(Token::Esn(e)) => {
                if kind == "IKE" {
                    return Err(ProposalError::Misplaced {
                        word: word.to_string(),
                        kind,
                        reason: "extended sequence numbers apply to ESP only",
                    });
                }
                push_unique(&mut parsed.esn, e);
            }
            Some(Token::Refused(reason)) => {
                return Err(ProposalError::Refused {
                    word: word.to_string(),
                    reason,
                });
            }
            None => return Err(unknown(word)),
        }
    }
    if !any {
        return Err(ProposalError::Empty);
    }
    Ok(parsed)
}

/// Splits `ke3_mlkem768` into slot index 2 and `mlkem768`.
fn additional_ke(word: &str) -> Option<(usize, &str)> {
    let rest = word
        .strip_prefix("ke")
        .or_else(|| word.strip_prefix("KE"))?;
    let (num, method) = rest.split_once('_')?;
    let n: usize = num.parse().ok()?;
    (1..=ADDITIONAL_KEY_EXCHANGES)
        .contains(&n)
        .then_some((n - 1, method))
}

fn unknown(word: &str) -> ProposalError {
    ProposalError::Unknown {
        word: word.to_string(),
        suggestion: suggest(word),
    }
}

/// The known keyword closest to `word` by edit distance, if it is within two edits.
fn suggest(word: &str) -> Option<String> {
    all_keywords()
        .map(|k| (edit_distance(word, &k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Checks the AEAD/classic split shared by IKE and ESP; returns whether all are AEAD.
fn check_cipher_mix(
    encryption: &[Encryption],
    kind: &'static str,
    text: &str,
) -> Result<bool, ProposalError> {
    let incomplete = |problem| ProposalError::Incomplete {
        kind,
        text: text.to_string(),
        problem,
    };
    if encryption.is_empty() {
        return Err(incomplete(
            "needs an encryption algorithm (e.g. aes256gcm16 or aes256)",
        ));
    }
    let aead = encryption.iter().filter(|e| e.algorithm.is_aead()).count();
    if aead != 0 && aead != encryption.len() {
        return Err(incomplete(
            "mixes AEAD and classic encryption algorithms; put them in separate proposals",
        ));
    }
    Ok(aead == encryption.len())
}

impl FromStr for IkeProposal {
    type Err = ProposalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const KIND: &str = "IKE";
        let text = text.trim();
        let mut p = tokenize(text, KIND)?;
        let incomplete = |problem| ProposalError::Incomplete {
            kind: KIND,
            text: text.to_string(),
            problem,
        };

        if p.prf.is_empty() {
            for integ in &p.integrity {
                if let Some(prf) = integ.matching_prf() {
                    push_unique(&mut p.prf, prf);
                }
            }
        }
        if p.prf.is_empty() {
            return Err(incomplete(
                "needs a PRF (e.g. prfsha384, or an integrity algorithm such as sha384 to derive it from)",
            ));
        }
        p.key_exchange.retain(|k| *k != KeyExchange::None);
        if p.key_exchange.is_empty() {
            return Err(incomplete(
                "needs a key exchange method (e.g. ecp384, curve25519, modp3072)",
            ));
        }
        let all_aead = check_cipher_mix(&p.encryption, KIND, text)?;
        if p.encryption
            .iter()
            .any(|e| e.algorithm == EncryptionAlgorithm::Null)
        {
            return Err(incomplete(
                "uses null encryption, which RFC 8247 forbids for IKE",
            ));
        }
        if all_aead {
            p.integrity.clear();
        } else if p.integrity.is_empty() {
            return Err(incomplete(
                "needs an integrity algorithm (e.g. sha256) with a non-AEAD encryption algorithm",
            ));
        }
        Ok(IkeProposal {
            encryption: p.encryption,
            prf: p.prf,
            integrity: p.integrity,
            key_exchange: p.key_exchange,
            additional_key_exchanges: p.additional,
            text: text.to_string(),
        })
    }
}

impl FromStr for EspProposal {
    type Err = ProposalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const KIND: &str = "ESP";
        let text = text.trim();
        let mut p = tokenize(text, KIND)?;
        let all_aead = check_cipher_mix(&p.encryption, KIND, text)?;
        if all_aead {
            p.integrity.clear();
        } else if p.integrity.is_empty() {
            return Err(ProposalError::Incomplete {
                kind: KIND,
                text: text.to_string(),
                problem: "needs an integrity algorithm (e.g. sha256) with a non-AEAD encryption algorithm",
            });
        }
        if p.esn.is_empty() {
            p.esn.push(Esn::No);
        }
        Ok(EspProposal {
            encryption: p.encryption,
            integrity: p.integrity,
            key_exchange: p.key_exchange,
            additional_key_exchanges: p.additional,
            esn: p.esn,
            text: text.to_string(),
        })
    }
}

impl IkeProposal {
    /// The proposal as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl EspProposal {
    /// The proposal as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Parses a comma-separated list of proposals, as strongSwan's configuration files and
/// `.sswan` files write several.
pub fn parse_list<P: FromStr<Err = ProposalError>>(text: &str) -> Result<Vec<P>, ProposalError> {
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(ProposalError::Empty);
    }
    parts.into_iter().map(str::parse).collect()
}

macro_rules! string_serde {
    ($ty:ident, $name:literal, $desc:literal, $example:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.text)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::de::parsed_string(deserializer, "a proposal string", |text| {
                    text.parse().map_err(|e: ProposalError| e.to_string())
                })
            }
        }

        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "description": $desc,
                    "pattern": "^[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*$",
                    "examples": [$example]
                })
            }
        }
    };
}

string_serde!(
    IkeProposal,
    "IkeProposal",
    "One IKE proposal in strongSwan notation: algorithm keywords joined by '-'.",
    "aes256gcm16-prfsha384-ecp384"
);
string_serde!(
    EspProposal,
    "EspProposal",
    "One ESP proposal in strongSwan notation: algorithm keywords joined by '-'.",
    "aes256gcm16-ecp384"
);

#[cfg(test)]
mod tests;

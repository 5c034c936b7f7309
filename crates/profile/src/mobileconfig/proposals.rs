//! `IKESecurityAssociationParameters` and `ChildSecurityAssociationParameters` as
//! strongSwan proposal strings.
//!
//! Apple's devices offer exactly one transform of each kind: the dictionary's
//! encryption, integrity and Diffie-Hellman group, with Apple's defaults (AES-256,
//! SHA2-256, group 14) for keys left out. The IKE dictionary also applies to the Child SA
//! when there is no Child dictionary; the Child SA uses its group only with `EnablePFS`.

use corridor_model::proposal::{self, EspProposal, IkeProposal, ProposalError};
use plist::Dictionary;

use super::tree::Node;
use crate::error::InputError;
use crate::report::ImportReport;

/// Settings of the IKEv2 dictionary that shape the proposals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// `EnablePFS`.
    pub pfs: bool,
    /// `AllowPostQuantumKeyExchangeFallback`: the additional key exchanges are optional.
    pub pq_fallback: bool,
}

/// The proposals and lifetimes; `None` where the profile leaves Corridor's defaults.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    pub ike: Option<IkeProposal>,
    pub esp: Option<EspProposal>,
    /// `LifeTimeInMinutes` of the IKE SA.
    pub ike_minutes: Option<u32>,
    /// `LifeTimeInMinutes` of the Child SA (from the IKE dictionary when there is no
    /// Child dictionary, as for the algorithms).
    pub child_minutes: Option<u32>,
}

/// Apple's range for `LifeTimeInMinutes`: "The SA lifetime (rekey interval) in
/// minutes", 10 to 1440 (the VPN payload reference; its default, 1440, is not copied
/// when the key is absent: Corridor's own, shorter defaults stay).
const LIFETIME_MINUTES: std::ops::RangeInclusive<i128> = 10..=1440;

/// `LifeTimeInMinutes` of one dictionary, checked against Apple's range.
fn lifetime(node: &Node<'_>) -> Result<Option<u32>, InputError> {
    let key = "LifeTimeInMinutes";
    let Some(minutes) = node.integer(key)? else {
        return Ok(None);
    };
    if !LIFETIME_MINUTES.contains(&minutes) {
        return Err(node.error(
            key,
            format!(
                "{minutes} minutes is outside Apple's range of {} to {} minutes",
                LIFETIME_MINUTES.start(),
                LIFETIME_MINUTES.end()
            ),
        ));
    }
    u32::try_from(minutes)
        .map(Some)
        .map_err(|_| node.error(key, format!("{minutes} is not a number of minutes")))
}

/// One SA parameters dictionary turned into keywords, each with the key it came from.
struct Words {
    words: Vec<(String, String)>,
}

impl Words {
    fn text(&self) -> String {
        self.words
            .iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The parse error, at the key whose keyword the parser refused.
    fn error(&self, node: &Node<'_>, e: &ProposalError) -> InputError {
        let word = match e {
            ProposalError::Unknown { word, .. }
            | ProposalError::Refused { word, .. }
            | ProposalError::Misplaced { word, .. } => Some(word.as_str()),
            _ => None,
        };
        let key = word
            .and_then(|w| self.words.iter().find(|(k, _)| k == w))
            .map(|(_, key)| key.as_str())
            .unwrap_or("");
        let field = if key.is_empty() {
            node.path.to_string()
        } else {
            node.key(key)
        };
        crate::error::InputError::at_field(
            node.origin,
            field,
            crate::error::InputErrorKind::Invalid(e.to_string()),
        )
    }
}

fn encryption(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "DES" => ("des", false),
        "3DES" => ("3des", false),
        "AES-128" => ("aes128", false),
        "AES-256" => ("aes256", false),
        "AES-128-GCM" => ("aes128gcm16", true),
        "AES-256-GCM" => ("aes256gcm16", true),
        "ChaCha20Poly1305" => ("chacha20poly1305", true),
        _ => return None,
    })
}

/// Integrity algorithm and the PRF of the same hash.
fn integrity(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "SHA1-96" => ("sha1", "prfsha1"),
        "SHA1-160" => ("sha1_160", "prfsha1"),
        "SHA2-256" => ("sha256", "prfsha256"),
        "SHA2-384" => ("sha384", "prfsha384"),
        "SHA2-512" => ("sha512", "prfsha512"),
        _ => return None,
    })
}

fn group(number: i128) -> Option<&'static str> {
    Some(match number {
        1 => "modp768",
        2 => "modp1024",
        5 => "modp1536",
        14 => "modp2048",
        15 => "modp3072",
        16 => "modp4096",
        17 => "modp6144",
        18 => "modp8192",
        19 => "ecp256",
        20 => "ecp384",
        21 => "ecp521",
        31 => "curve25519",
        32 => "curve448",
        _ => return None,
    })
}

fn pq_method(number: i128) -> Option<&'static str> {
    Some(match number {
        0 => "none",
        35 => "mlkem512",
        36 => "mlkem768",
        37 => "mlkem1024",
        _ => return None,
    })
}

/// Which SA a dictionary is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sa {
    Ike,
    Child { pfs: bool },
}

/// Reads one dictionary into keywords and reports each key.
fn words(
    node: &Node<'_>,
    sa: Sa,
    options: Options,
    to: &str,
    report: &mut ImportReport,
) -> Result<Words, InputError> {
    let enc_name = node.string("EncryptionAlgorithm")?.unwrap_or("AES-256");
    let (enc, aead) = encryption(enc_name).ok_or_else(|| {
        node.error(
            "EncryptionAlgorithm",
            format!(
                "unknown encryption algorithm \"{enc_name}\"; Apple's devices know DES, 3DES, \
                 AES-128, AES-256, AES-128-GCM, AES-256-GCM and ChaCha20Poly1305"
            ),
        )
    })?;
    let int_name = node.string("IntegrityAlgorithm")?.unwrap_or("SHA2-256");
    let (integ, prf) = integrity(int_name).ok_or_else(|| {
        node.error(
            "IntegrityAlgorithm",
            format!(
                "unknown integrity algorithm \"{int_name}\"; Apple's devices know SHA1-96, \
                 SHA1-160, SHA2-256, SHA2-384 and SHA2-512"
            ),
        )
    })?;
    let dh_number = node.integer("DiffieHellmanGroup")?.unwrap_or(14);
    let dh = group(dh_number).ok_or_else(|| {
        node.error(
            "DiffieHellmanGroup",
            format!(
                "{dh_number} is not a Diffie-Hellman group Apple's devices know (1, 2, 5, 14-21, 31, 32)"
            ),
        )
    })?;
    let mut words = Words { words: Vec::new() };
    let mut push = |w: &str, key: &str| words.words.push((w.to_string(), key.to_string()));
    push(enc, "EncryptionAlgorithm");
    if !aead {
        push(integ, "IntegrityAlgorithm");
    }
    if sa == Sa::Ike {
        push(prf, "IntegrityAlgorithm");
    }
    let uses_group = match sa {
        Sa::Ike => true,
        Sa::Child { pfs } => pfs,
    };
    if uses_group {
        push(dh, "DiffieHellmanGroup");
    }
    if let Some(items) = node.array("PostQuantumKeyExchangeMethods")? {
        if items.len() > proposal::ADDITIONAL_KEY_EXCHANGES {
            return Err(node.error(
                "PostQuantumKeyExchangeMethods",
                format!(
                    "{} methods; at most {} additional key exchanges exist (RFC 9370)",
                    items.len(),
                    proposal::ADDITIONAL_KEY_EXCHANGES
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let key = format!("PostQuantumKeyExchangeMethods[{i}]");
            let number = match item {
                plist::Value::Integer(n) => n.as_signed().map(i128::from).unwrap_or(-1),
                other => {
                    return Err(node.error(
                        &key,
                        format!("expected an integer, found {}", super::tree::kind_of(other)),
                    ));
                }
            };
            let method = pq_method(number).ok_or_else(|| {
                node.error(
                    &key,
                    format!("{number} is not a post-quantum key exchange method (0, 36 or 37)"),
                )
            })?;
            if method == "none" {
                continue;
            }
            push(&format!("ke{}_{method}", i + 1), &key);
            if options.pq_fallback {
                push(&format!("ke{}_none", i + 1), &key);
            }
        }
    }

    for (key, _) in node.dict.iter() {
        let key = key.as_str();
        let path = node.key(key);
        match key {
            "EncryptionAlgorithm" | "PostQuantumKeyExchangeMethods" => report.mapped(&path, to),
            "IntegrityAlgorithm" if aead && sa == Sa::Ike => report.mapped_with(
                &path,
                to,
                "the PRF; the AEAD cipher needs no integrity algorithm (RFC 5282 §8)",
            ),
            "IntegrityAlgorithm" if aead => report.not_mapped(
                &path,
                "the AEAD cipher needs no integrity algorithm (RFC 4106 §8); Apple's devices ignore it too",
            ),
            "IntegrityAlgorithm" if sa == Sa::Ike => {
                report.mapped_with(&path, to, "integrity algorithm and PRF")
            }
            "IntegrityAlgorithm" => report.mapped(&path, to),
            "DiffieHellmanGroup" if uses_group => match sa {
                Sa::Ike => report.mapped(&path, to),
                Sa::Child { .. } => {
                    report.mapped_with(&path, to, "the PFS group, because EnablePFS is 1")
                }
            },
            "DiffieHellmanGroup" => report.not_mapped(
                &path,
                "a Child SA uses a Diffie-Hellman group only for PFS, and EnablePFS is not 1; Apple's devices ignore it too",
            ),
            "LifeTimeInMinutes" => match sa {
                Sa::Ike => report.mapped(&path, "rekey.ike_minutes"),
                Sa::Child { .. } => report.mapped_with(
                    &path,
                    "rekey.child_minutes",
                    "less a random share of up to a tenth; the Child SA expires ten minutes after the lifetime if rekeying fails",
                ),
            },
            _ => report.not_mapped(
                &path,
                "not a key of Apple's SecurityAssociationParameters; Apple's devices ignore it too",
            ),
        }
    }
    Ok(words)
}

/// Maps both dictionaries (either may be absent) to proposals.
pub(crate) fn map(
    ikev2: &Node<'_>,
    options: Options,
    report: &mut ImportReport,
) -> Result<Mapped, InputError> {
    let ike_path = ikev2.key("IKESecurityAssociationParameters");
    let child_path = ikev2.key("ChildSecurityAssociationParameters");
    let ike_dict: Option<&Dictionary> = ikev2.dict("IKESecurityAssociationParameters")?;
    let child_dict: Option<&Dictionary> = ikev2.dict("ChildSecurityAssociationParameters")?;
    let mut out = Mapped::default();
    if let Some(dict) = ike_dict {
        let node = Node {
            origin: ikev2.origin,
            dict,
            path: &ike_path,
        };
        out.ike_minutes = lifetime(&node)?;
        let words = words(&node, Sa::Ike, options, "proposals.ike", report)?;
        out.ike = Some(
            words
                .text()
                .parse::<IkeProposal>()
                .map_err(|e| words.error(&node, &e))?,
        );
    }
    let child = match (child_dict, ike_dict) {
        (Some(dict), _) => Some((dict, child_path.as_str())),
        (None, Some(dict)) => Some((dict, ike_path.as_str())),
        (None, None) => None,
    };
    if let Some((dict, path)) = child {
        let node = Node {
            origin: ikev2.origin,
            dict,
            path,
        };
        let sa = Sa::Child { pfs: options.pfs };
        out.child_minutes = lifetime(&node)?;
        let words = if child_dict.is_some() {
            words(&node, sa, options, "proposals.esp", report)?
        } else {
            if out.child_minutes.is_some() {
                report.derived(
                    "rekey.child_minutes",
                    "from IKESecurityAssociationParameters.LifeTimeInMinutes, which Apple's devices use for the Child SA when ChildSecurityAssociationParameters is absent",
                );
            }
            // Keys already reported for the IKE SA.
            let mut scratch = ImportReport::new(report.source);
            let words = words(&node, sa, options, "proposals.esp", &mut scratch)?;
            report.derived(
                "proposals.esp",
                "from IKESecurityAssociationParameters, which Apple's devices use for the Child SA when ChildSecurityAssociationParameters is absent",
            );
            words
        };
        out.esp = Some(
            words
                .text()
                .parse::<EspProposal>()
                .map_err(|e| words.error(&node, &e))?,
        );
    }
    if ike_dict.is_none() && child_dict.is_none() {
        report.derived(
            "proposals",
            "Corridor's defaults, as the profile sets no SA parameters (Apple's devices would offer AES-256, SHA2-256 and group 14)",
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SourceFormat;

    fn dict(pairs: &[(&str, plist::Value)]) -> Dictionary {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn run(ikev2: &Dictionary, options: Options) -> Result<Mapped, InputError> {
        let node = Node {
            origin: "f",
            dict: ikev2,
            path: "IKEv2",
        };
        map(
            &node,
            options,
            &mut ImportReport::new(SourceFormat::Mobileconfig),
        )
    }

    #[test]
    fn apple_defaults_fill_missing_keys() {
        let ike = dict(&[]);
        let ikev2 = dict(&[(
            "IKESecurityAssociationParameters",
            plist::Value::Dictionary(ike),
        )]);
        let m = run(&ikev2, Options::default()).unwrap();
        assert_eq!(m.ike.unwrap().as_str(), "aes256-sha256-prfsha256-modp2048");
        assert_eq!(m.esp.unwrap().as_str(), "aes256-sha256");
        let m = run(
            &ikev2,
            Options {
                pfs: true,
                pq_fallback: false,
            },
        )
        .unwrap();
        assert_eq!(m.esp.unwrap().as_str(), "aes256-sha256-modp2048");
    }

    #[test]
    fn gcm_and_post_quantum() {
        let ike = dict(&[
            ("EncryptionAlgorithm", "AES-256-GCM".into()),
            ("IntegrityAlgorithm", "SHA2-384".into()),
            ("DiffieHellmanGroup", 20.into()),
            (
                "PostQuantumKeyExchangeMethods",
                plist::Value::Array(vec![36.into()]),
            ),
        ]);
        let ikev2 = dict(&[(
            "IKESecurityAssociationParameters",
            plist::Value::Dictionary(ike),
        )]);
        let m = run(
            &ikev2,
            Options {
                pfs: false,
                pq_fallback: true,
            },
        )
        .unwrap();
        assert_eq!(
            m.ike.unwrap().as_str(),
            "aes256gcm16-prfsha384-ecp384-ke1_mlkem768-ke1_none"
        );
    }

    #[test]
    fn lifetimes_come_from_each_dictionary() {
        let ike = dict(&[("LifeTimeInMinutes", 480.into())]);
        let child = dict(&[("LifeTimeInMinutes", 45.into())]);
        let ikev2 = dict(&[
            (
                "IKESecurityAssociationParameters",
                plist::Value::Dictionary(ike.clone()),
            ),
            (
                "ChildSecurityAssociationParameters",
                plist::Value::Dictionary(child),
            ),
        ]);
        let m = run(&ikev2, Options::default()).unwrap();
        assert_eq!((m.ike_minutes, m.child_minutes), (Some(480), Some(45)));

        // Without a Child dictionary the IKE one applies to the Child SA too.
        let ikev2 = dict(&[(
            "IKESecurityAssociationParameters",
            plist::Value::Dictionary(ike),
        )]);
        let m = run(&ikev2, Options::default()).unwrap();
        assert_eq!((m.ike_minutes, m.child_minutes), (Some(480), Some(480)));

        // Only a Child dictionary: the IKE SA keeps Corridor's default.
        let child = dict(&[("LifeTimeInMinutes", 30.into())]);
        let ikev2 = dict(&[(
            "ChildSecurityAssociationParameters",
            plist::Value::Dictionary(child),
        )]);
        let m = run(&ikev2, Options::default()).unwrap();
        assert_eq!((m.ike_minutes, m.child_minutes), (None, Some(30)));
    }

    #[test]
    fn lifetimes_outside_apples_range_are_refused() {
        for bad in [0, 9, 1441, -5] {
            let child = dict(&[("LifeTimeInMinutes", bad.into())]);
            let ikev2 = dict(&[(
                "ChildSecurityAssociationParameters",
                plist::Value::Dictionary(child),
            )]);
            let err = run(&ikev2, Options::default()).unwrap_err();
            assert_eq!(
                err.field(),
                Some("IKEv2.ChildSecurityAssociationParameters.LifeTimeInMinutes")
            );
            assert!(
                err.to_string().contains(&format!(
                    "{bad} minutes is outside Apple's range of 10 to 1440 minutes"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn refused_algorithms_name_their_key() {
        let ike = dict(&[("DiffieHellmanGroup", 1.into())]);
        let ikev2 = dict(&[(
            "IKESecurityAssociationParameters",
            plist::Value::Dictionary(ike),
        )]);
        let err = run(&ikev2, Options::default()).unwrap_err();
        assert_eq!(
            err.field(),
            Some("IKEv2.IKESecurityAssociationParameters.DiffieHellmanGroup")
        );
    }
}

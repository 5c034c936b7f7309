//! PKCS#12 (PFX, RFC 7292) containers holding the client certificate and key.
//!
//! Decryption uses the `p12-keystore` crate (pure Rust, maintained; reads the PBES2
//! AES-256-CBC/PBKDF2 containers OpenSSL 3 writes by default as well as the legacy
//! 3DES/RC2 ones, and bounds KDF iteration counts so a hostile file cannot burn minutes of
//! CPU). Without a password only the outer DER structure can be checked; that is done
//! here with a small walker so that a truncated or foreign file is refused at import with
//! a precise reason.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;

use crate::certs::{self, CertInfo};

/// Why a container could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pkcs12Failure {
    /// The structure is broken or unsupported; the text says how.
    Malformed(String),
    /// The integrity check (MAC) failed, or decryption did, so the password is wrong.
    WrongPassword,
}

/// One DER element: its tag and where its contents are.
struct Tlv {
    tag: u8,
    start: usize,
    end: usize,
}

/// Reads the element at `pos`, checking that it fits inside `limit`.
fn read_tlv(data: &[u8], pos: usize, limit: usize, what: &str) -> Result<Tlv, String> {
    let truncated = || format!("PKCS#12 data is truncated (in the {what})");
    let tag = *data.get(pos).ok_or_else(truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(format!("unexpected DER tag in the {what}"));
    }
    let first = *data.get(pos + 1).ok_or_else(truncated)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else if first == 0x80 {
        return Err(format!(
            "the {what} uses BER indefinite lengths, which Corridor cannot read; re-export the file with OpenSSL"
        ));
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 {
            return Err(format!("the {what} has an impossible length"));
        }
        let bytes = data.get(pos + 2..pos + 2 + n).ok_or_else(truncated)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            2 + n,
        )
    };
    let start = pos + header;
    let end = start.checked_add(len).ok_or_else(truncated)?;
    if end > limit {
        return Err(format!(
            "PKCS#12 data is truncated: the {what} needs {len} bytes but only {} remain",
            limit.saturating_sub(start)
        ));
    }
    Ok(Tlv { tag, start, end })
}

/// Checks the outer PFX structure (RFC 7292 §4):
/// `PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }`.
pub(crate) fn check_structure(data: &[u8]) -> Result<(), String> {
    if data.is_empty() {
        return Err("PKCS#12 data is empty".to_string());
    }
    if certs::is_pem(data) {
        return Err("this is PEM text, not a PKCS#12 container".to_string());
    }
    if data[0] != 0x30 {
        return Err("not a PKCS#12 container (it does not start with a DER SEQUENCE)".to_string());
    }
    let pfx = read_tlv(data, 0, data.len(), "PFX")?;
    if pfx.end < data.len() {
        return Err(format!(
            "{} unexpected bytes after the PKCS#12 container",
            data.len() - pfx.end
        ));
    }
    let version = read_tlv(data, pfx.start, pfx.end, "PFX version")?;
    if version.tag != 0x02 || version.end - version.start != 1 {
        return Err("not a PKCS#12 container (no version number)".to_string());
    }
    if data[version.start] != 3 {
        return Err(format!(
            "PKCS#12 version {} is not supported (expected 3)",
            data[version.start]
        ));
    }
    let auth_safe = read_tlv(data, version.end, pfx.end, "authenticated safe")?;
    if auth_safe.tag != 0x30 {
        return Err("not a PKCS#12 container (no authenticated safe)".to_string());
    }
    let content_type = read_tlv(data, auth_safe.start, auth_safe.end, "content type")?;
    if content_type.tag != 0x06 {
        return Err("not a PKCS#12 container (no content type)".to_string());
    }
    if content_type.end < auth_safe.end {
        read_tlv(
            data,
            content_type.end,
            auth_safe.end,
            "authenticated safe content",
        )?;
    }
    if auth_safe.end < pfx.end {
        let mac = read_tlv(data, auth_safe.end, pfx.end, "MAC data")?;
        if mac.tag != 0x30 || mac.end != pfx.end {
            return Err(
                "not a PKCS#12 container (unexpected data after the authenticated safe)"
                    .to_string(),
            );
        }
    }
    Ok(())
}

/// Opens the container with `password` and describes the client certificate: the one
/// whose local key id matches the first private key, or else the only end-entity
/// certificate.
pub(crate) fn open(data: &[u8], password: &str) -> Result<CertInfo, Pkcs12Failure> {
    open_credential(data, password).map(|opened| opened.leaf)
}

/// What [`open_credential`] finds in a container.
pub(crate) struct Opened {
    /// The client certificate's description.
    pub(crate) leaf: CertInfo,
    /// The private key as PKCS#8 DER.
    pub(crate) key_pkcs8: Vec<u8>,
    /// The client certificate first, then the container's other certificates (its chain),
    /// each DER.
    pub(crate) chain: Vec<Vec<u8>>,
}

/// Opens the container with `password` and returns the client certificate, its key and
/// the other certificates, as a connection needs them.
pub(crate) fn open_credential(data: &[u8], password: &str) -> Result<Opened, Pkcs12Failure> {
    check_structure(data).map_err(Pkcs12Failure::Malformed)?;
    let archive = Pkcs12Archive::from_pkcs12(data, password).map_err(|e| match e {
        P12Error::MacError(_) | P12Error::UnpadError => Pkcs12Failure::WrongPassword,
        P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
            Pkcs12Failure::Malformed(format!(
                "the PKCS#12 container uses an unsupported algorithm ({e}); re-export it with OpenSSL 3 defaults"
            ))
        }
        other => Pkcs12Failure::Malformed(format!("cannot decode the PKCS#12 container: {other}")),
    })?;
    let Some(key) = archive.keys.first() else {
        return Err(Pkcs12Failure::Malformed(
            "the PKCS#12 container holds no private key".to_string(),
        ));
    };
    let by_key_id = key.local_key_id.as_ref().and_then(|id| {
        archive
            .certs
            .iter()
            .find(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
    });
    let mut described = Vec::new();
    let (leaf, leaf_der) = match by_key_id {
        Some(bag) => (
            certs::describe(bag.cert.as_der()).map_err(Pkcs12Failure::Malformed)?,
            bag.cert.as_der(),
        ),
        None => {
            for bag in &archive.certs {
                described.push((
                    certs::describe(bag.cert.as_der()).map_err(Pkcs12Failure::Malformed)?,
                    bag.cert.as_der(),
                ));
            }
            let mut leaves = described.into_iter().filter(|(c, _)| !c.is_ca);
            match (leaves.next(), leaves.next()) {
                (Some(only), None) => only,
                (None, _) => {
                    return Err(Pkcs12Failure::Malformed(
                        "the PKCS#12 container holds no client certificate".to_string(),
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(Pkcs12Failure::Malformed(
                        "the PKCS#12 container holds several client certificates and none is linked to the key".to_string(),
                    ));
                }
            }
        }
    };
    let mut chain = vec![leaf_der.to_vec()];
    chain.extend(
        archive
            .certs
            .iter()
            .map(|bag| bag.cert.as_der())
            .filter(|der| *der != leaf_der)
            .map(<[u8]>::to_vec),
    );
    Ok(Opened {
        leaf,
        key_pkcs8: key.key.as_der().to_vec(),
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_errors() {
        assert_eq!(
            check_structure(b""),
            Err("PKCS#12 data is empty".to_string())
        );
        assert_eq!(
            check_structure(b"-----BEGIN CERTIFICATE-----\n"),
            Err("this is PEM text, not a PKCS#12 container".to_string())
        );
        assert_eq!(
            check_structure(b"\x02\x01\x03"),
            Err("not a PKCS#12 container (it does not start with a DER SEQUENCE)".to_string())
        );
        assert_eq!(
            check_structure(b"\x30\x82\x01\x00\x02\x01\x03"),
            Err("PKCS#12 data is truncated: the PFX needs 256 bytes but only 3 remain".to_string())
        );
        assert_eq!(
            check_structure(b"\x30\x80\x02\x01\x03"),
            Err("the PFX uses BER indefinite lengths, which Corridor cannot read; re-export the file with OpenSSL".to_string())
        );
        assert_eq!(
            check_structure(b"\x30\x03\x02\x01\x02"),
            Err("PKCS#12 version 2 is not supported (expected 3)".to_string())
        );
        assert_eq!(
            check_structure(b"\x30\x03\x02\x01\x03\x00"),
            Err("1 unexpected bytes after the PKCS#12 container".to_string())
        );
    }
}

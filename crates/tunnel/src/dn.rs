//! strongSwan's text form of a distinguished name (`C=CH, O=Example, CN=vpn.example.com`)
//! encoded as the DER `Name` an ID_DER_ASN1_DN identity carries (RFC 7296 §3.5).
//!
//! Only the attribute keywords gateways use are known; values are PrintableString when
//! every character allows it and UTF8String otherwise (strongSwan makes the same choice),
//! e-mail addresses and domain components IA5String. Escaped commas are not supported.

/// The DER encoding of `text`, or why it cannot be encoded.
pub(crate) fn encode(text: &str) -> Result<Vec<u8>, String> {
    let mut rdns = Vec::new();
    for part in text
        .split([',', '/'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("\"{part}\" is not KEY=VALUE"))?;
        let (oid, kind) =
            attribute(key.trim()).ok_or_else(|| format!("unknown attribute \"{}\"", key.trim()))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("attribute {} has no value", key.trim()));
        }
        let tag = match kind {
            Kind::Ia5 => 0x16,
            Kind::Text if value.chars().all(printable) => 0x13,
            Kind::Text => 0x0c,
        };
        let mut atv = tlv(0x06, oid);
        atv.extend(tlv(tag, value.as_bytes()));
        rdns.extend(tlv(0x31, &tlv(0x30, &atv)));
    }
    if rdns.is_empty() {
        return Err("no attribute".into());
    }
    Ok(tlv(0x30, &rdns))
}

enum Kind {
    Text,
    Ia5,
}

/// The encoded OID of an attribute keyword (RFC 4519 names, strongSwan's aliases).
fn attribute(key: &str) -> Option<(&'static [u8], Kind)> {
    let k = key.to_ascii_uppercase();
    Some(match k.as_str() {
        "CN" => (&[0x55, 0x04, 0x03], Kind::Text),
        "SN" => (&[0x55, 0x04, 0x04], Kind::Text),
        "SERIALNUMBER" => (&[0x55, 0x04, 0x05], Kind::Text),
        "C" => (&[0x55, 0x04, 0x06], Kind::Text),
        "L" => (&[0x55, 0x04, 0x07], Kind::Text),
        "ST" => (&[0x55, 0x04, 0x08], Kind::Text),
        "O" => (&[0x55, 0x04, 0x0a], Kind::Text),
        "OU" => (&[0x55, 0x04, 0x0b], Kind::Text),
        "T" | "TITLE" => (&[0x55, 0x04, 0x0c], Kind::Text),
        "G" | "GN" => (&[0x55, 0x04, 0x2a], Kind::Text),
        "E" | "EMAIL" | "EMAILADDRESS" => (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
            Kind::Ia5,
        ),
        "DC" => (
            &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
            Kind::Ia5,
        ),
        _ => return None,
    })
}

/// X.680 §41.4: the PrintableString character set.
fn printable(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::{FromDer, X509Name};

    #[test]
    fn round_trips_through_a_parser() {
        let der = encode("C=CH, O=Corridor Lab, CN=vpn.corp.example").unwrap();
        let (rest, name) = X509Name::from_der(&der).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            name.to_string(),
            "C=CH, O=Corridor Lab, CN=vpn.corp.example"
        );
    }

    #[test]
    fn rejects_unknown_attributes() {
        assert!(encode("XX=1").unwrap_err().contains("XX"));
        assert!(encode("").is_err());
        assert!(encode("CN").is_err());
    }
}

//! IKE identities (IDi / IDr, RFC 7296 §3.5).
//!
//! In a Corridor profile an identity is a tagged value (`{"fqdn": "vpn.example.com"}`), so
//! its type is never guessed. Imported formats and the command line use strongSwan's
//! untyped text (`@vpn.example.com`, `alice@example.com`, `C=CH, CN=gw`), which
//! [`Identity::parse_strongswan`] turns into the same type with strongSwan's rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bytes::HexBytes;

/// An IKEv2 identity of one of the types remote-access gateways use.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// A fully-qualified domain name (`ID_FQDN`), e.g. `vpn.example.com`.
    Fqdn(String),
    /// An e-mail address / user FQDN (`ID_RFC822_ADDR`), e.g. `alice@example.com`.
    Email(String),
    /// An IPv4 address (`ID_IPV4_ADDR`).
    Ipv4(Ipv4Addr),
    /// An IPv6 address (`ID_IPV6_ADDR`).
    Ipv6(Ipv6Addr),
    /// An X.500 distinguished name (`ID_DER_ASN1_DN`) in strongSwan's text form,
    /// e.g. `C=CH, O=Example, CN=vpn.example.com`.
    Dn(String),
    /// An opaque key id (`ID_KEY_ID`) as hexadecimal.
    KeyId(HexBytes),
}

/// Why an identity is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Nothing was given.
    #[error("identity is empty")]
    Empty,
    /// strongSwan's wildcard identities have no place in a client profile.
    #[error("'{0}' matches any identity; a profile must name the identity the peer has to prove")]
    Wildcard(String),
    /// A prefix strongSwan knows but Corridor does not support.
    #[error("identity type '{0}' is not supported (use fqdn, email, ipv4, ipv6, dn or keyid)")]
    UnsupportedType(String),
    /// The FQDN is not a valid host name.
    #[error("'{0}' is not a valid domain name")]
    BadFqdn(String),
    /// The e-mail identity has no `@` or an empty side.
    #[error("'{0}' is not an e-mail address (user@domain)")]
    BadEmail(String),
    /// An address identity does not hold an address of that family.
    #[error("'{text}' is not an {family} address")]
    BadAddress {
        /// The text given.
        text: String,
        /// "IPv4" or "IPv6".
        family: &'static str,
    },
    /// The distinguished name cannot be parsed.
    #[error("invalid distinguished name '{dn}': {reason}")]
    BadDn {
        /// The text given.
        dn: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key id is not hexadecimal.
    #[error("invalid key id: {0}")]
    BadKeyId(String),
}

/// Attribute types strongSwan accepts in distinguished names (its `x501rdns` table).
const DN_ATTRIBUTES: &[&str] = &[
    "ND",
    "UID",
    "DC",
    "CN",
    "SN",
    "serialNumber",
    "C",
    "L",
    "ST",
    "STREET",
    "O",
    "OU",
    "organizationIdentifier",
    "T",
    "D",
    "postalAddress",
    "postalCode",
    "N",
    "G",
    "I",
    "dnQualifier",
    "dmdName",
    "pseudonym",
    "ID",
    "EN",
    "employeeNumber",
    "E",
    "Email",
    "emailAddress",
    "UN",
    "unstructuredName",
    "UA",
    "unstructuredAddress",
    "TCGID",
];

impl Identity {
    /// The IKEv2 ID Type number (RFC 7296 §3.5).
    pub fn id_type(&self) -> u8 {
        match self {
            Identity::Ipv4(_) => 1,
            Identity::Fqdn(_) => 2,
            Identity::Email(_) => 3,
            Identity::Ipv6(_) => 5,
            Identity::Dn(_) => 9,
            Identity::KeyId(_) => 11,
        }
    }

    /// The identity a bare host name or address stands for: an IP identity for an address,
    /// an FQDN otherwise. Gateways are checked against this when a profile names no
    /// gateway identity.
    pub fn for_host(host: &str) -> Result<Identity, IdentityError> {
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => Ok(Identity::Ipv4(a)),
            Ok(IpAddr::V6(a)) => Ok(Identity::Ipv6(a)),
            Err(_) => {
                let id = Identity::Fqdn(host.to_string());
                id.check()?;
                Ok(id)
            }
        }
    }

    /// Checks the value against the rules of its type.
    pub fn check(&self) -> Result<(), IdentityError> {
        match self {
            Identity::Fqdn(name) => check_fqdn(name),
            Identity::Email(addr) => check_email(addr),
            Identity::Ipv4(_) | Identity::Ipv6(_) => Ok(()),
            Identity::Dn(dn) => check_dn(dn),
            Identity::KeyId(id) if id.0.is_empty() => Err(IdentityError::BadKeyId("empty".into())),
            Identity::KeyId(_) => Ok(()),
        }
    }

    /// Parses strongSwan's identity text (`identification_create_from_string`).
    ///
    /// Typed prefixes (`fqdn:`, `dns:`, `email:`, `rfc822:`, `userfqdn:`, `ipv4:`, `ipv6:`,
    /// `asn1dn:`, `keyid:`, each optionally followed by `#hex`) are honoured first. Without a
    /// prefix: text containing `=` is a DN; text without `@` is an IP address if it parses as
    /// one and an FQDN otherwise; `@#hex` is a key id, `@@user` an e-mail address, `@name`
    /// an FQDN, and any other text with `@` an e-mail address. Wildcards (`%any`, `*`,
    /// `0.0.0.0`, `::`) are rejected, as are types Corridor cannot send or match.
    pub fn parse_strongswan(text: &str) -> Result<Identity, IdentityError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IdentityError::Empty);
        }
        let id = parse_untyped_or_prefixed(text)?;
        id.check()?;
        Ok(id)
    }
}

fn parse_untyped_or_prefixed(text: &str) -> Result<Identity, IdentityError> {
    if let Some(id) = parse_prefixed(text)? {
        return Ok(id);
    }
    if text.starts_with('{') {
        return Err(IdentityError::UnsupportedType(text.to_string()));
    }
    if matches!(text, "%any" | "%any6" | "0.0.0.0" | "*" | "::" | "0::0") {
        return Err(IdentityError::Wildcard(text.to_string()));
    }
    if text.contains('=') {
        return Ok(Identity::Dn(text.to_string()));
    }
    if let Some(rest) = text.strip_prefix('@') {
        if let Some(hex) = rest.strip_prefix('#') {
            return key_id_hex(hex);
        }
        if let Some(user) = rest.strip_prefix('@') {
            return Ok(Identity::Email(user.to_string()));
        }
        return Ok(Identity::Fqdn(rest.to_string()));
    }
    if text.contains('@') {
        return Ok(Identity::Email(text.to_string()));
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(Identity::Ipv4(a)),
        Ok(IpAddr::V6(a)) => Ok(Identity::Ipv6(a)),
        // strongSwan falls back to a key id for text with ':' that is no IPv6 address; that
        // is nearly always a mistyped address, so say so instead of guessing.
        Err(_) if text.contains(':') => Err(IdentityError::BadAddress {
            text: text.to_string(),
            family: "IPv6",
        }),
        Err(_) => Ok(Identity::Fqdn(text.to_string())),
    }
}

fn parse_prefixed(text: &str) -> Result<Option<Identity>, IdentityError> {
    let Some((prefix, value)) = text.split_once(':') else {
        return Ok(None);
    };
    let lower = prefix.to_ascii_lowercase();
    let raw = |v: &str| -> Result<String, IdentityError> {
        match v.strip_prefix('#') {
            Some(hex) => {
                let bytes =
                    HexBytes::decode(hex).map_err(|e| IdentityError::BadKeyId(e.to_string()))?;
                String::from_utf8(bytes.0).map_err(|_| IdentityError::BadKeyId(v.to_string()))
            }
            None => Ok(v.to_string()),
        }
    };
    let id = match lower.as_str() {
        "fqdn" | "dns" => Identity::Fqdn(raw(value)?),
        "email" | "rfc822" | "userfqdn" => Identity::Email(raw(value)?),
        "asn1dn" => Identity::Dn(raw(value)?),
        "ipv4" => Identity::Ipv4(value.parse().map_err(|_| IdentityError::BadAddress {
            text: value.to_string(),
            family: "IPv4",
        })?),
        "ipv6" => Identity::Ipv6(value.parse().map_err(|_| IdentityError::BadAddress {
            text: value.to_string(),
            family: "IPv6",
        })?),
        "keyid" => match value.strip_prefix('#') {
            Some(hex) => key_id_hex(hex)?,
            None => Identity::KeyId(HexBytes(value.as_bytes().to_vec())),
        },
        "ipv4net" | "ipv6net" | "ipv4range" | "ipv6range" | "asn1gn" | "xmppaddr" | "uri" => {
            return Err(IdentityError::UnsupportedType(prefix.to_string()));
        }
        _ => return Ok(None),
    };
    Ok(Some(id))
}

fn key_id_hex(hex: &str) -> Result<Identity, IdentityError> {
    HexBytes::decode(hex)
        .map(Identity::KeyId)
        .map_err(|e| IdentityError::BadKeyId(e.to_string()))
}

/// Host-name rules (RFC 1123 §2.1): dot-separated labels of 1–63 letters, digits and
/// hyphens, not starting or ending with a hyphen, at most 253 characters. A trailing dot is
/// allowed. Underscores are tolerated because internal DNS names often carry them.
pub fn is_valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn check_fqdn(name: &str) -> Result<(), IdentityError> {
    if name.is_empty() {
        return Err(IdentityError::Empty);
    }
    if is_valid_hostname(name) {
        Ok(())
    } else {
        Err(IdentityError::BadFqdn(name.to_string()))
    }
}

fn check_email(addr: &str) -> Result<(), IdentityError> {
    match addr.rsplit_once('@') {
        Some((user, domain))
            if !user.is_empty()
                && !domain.is_empty()
                && !addr.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(IdentityError::BadEmail(addr.to_string())),
    }
}

/// Checks a DN in strongSwan's text syntax: `attr=value` pairs separated by `,` (or `/`
/// when the text starts with `/`, the OpenSSL `-subject` style). Attribute types are those
/// strongSwan knows, matched case-insensitively, or dotted OIDs.
fn check_dn(dn: &str) -> Result<(), IdentityError> {
    let bad = |reason: String| IdentityError::BadDn {
        dn: dn.to_string(),
        reason,
    };
    let trimmed = dn.trim();
    if trimmed.is_empty() {
        return Err(IdentityError::Empty);
    }
    let (body, sep) = match trimmed.strip_prefix('/') {
        Some(rest) => (rest, '/'),
        None => (trimmed, ','),
    };
    for rdn in split_unescaped(body, sep) {
        for ava in split_unescaped(rdn, '+') {
            let Some((attr, value)) = ava.split_once('=') else {
                return Err(bad(format!(
                    "'{}' is not of the form attribute=value",
                    ava.trim()
                )));
            };
            let attr = attr.trim();
            let known =
                DN_ATTRIBUTES.iter().any(|a| a.eq_ignore_ascii_case(attr)) || is_dotted_oid(attr);
            if !known {
                return Err(bad(format!("unknown attribute type '{attr}'")));
            }
            if value.trim().is_empty() {
                return Err(bad(format!("attribute '{attr}' has an empty value")));
            }
        }
    }
    Ok(())
}

fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn is_dotted_oid(text: &str) -> bool {
    let mut arcs = 0;
    for arc in text.split('.') {
        if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        arcs += 1;
    }
    arcs >= 2
}

impl fmt::Display for Identity {
    /// Prints the identity in strongSwan's typed-prefix syntax, which
    /// [`Identity::parse_strongswan`] reads back unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Fqdn(n) => write!(f, "fqdn:{n}"),
            Identity::Email(e) => write!(f, "email:{e}"),
            Identity::Ipv4(a) => write!(f, "ipv4:{a}"),
            Identity::Ipv6(a) => write!(f, "ipv6:{a}"),
            Identity::Dn(d) => write!(f, "asn1dn:{d}"),
            Identity::KeyId(k) => write!(f, "keyid:#{}", k.encode()),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Identity {
        Identity::parse_strongswan(s).unwrap()
    }

    fn e(s: &str) -> String {
        Identity::parse_strongswan(s).unwrap_err().to_string()
    }

    #[test]
    fn untyped_rules_follow_strongswan() {
        assert_eq!(
            p("vpn.example.com"),
            Identity::Fqdn("vpn.example.com".into())
        );
        assert_eq!(
            p("@vpn.example.com"),
            Identity::Fqdn("vpn.example.com".into())
        );
        assert_eq!(
            p("alice@example.com"),
            Identity::Email("alice@example.com".into())
        );
        assert_eq!(
            p("@@alice@example.com"),
            Identity::Email("alice@example.com".into())
        );
        assert_eq!(p("192.0.2.1"), Identity::Ipv4("192.0.2.1".parse().unwrap()));
        assert_eq!(
            p("2001:db8::1"),
            Identity::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            p("C=CH, O=Example, CN=gw"),
            Identity::Dn("C=CH, O=Example, CN=gw".into())
        );
        assert_eq!(p("@#0a1B"), Identity::KeyId(HexBytes(vec![0x0a, 0x1b])));
    }

    #[test]
    fn typed_prefixes() {
        assert_eq!(p("fqdn:gw"), Identity::Fqdn("gw".into()));
        assert_eq!(
            p("DNS:gw.example.com"),
            Identity::Fqdn("gw.example.com".into())
        );
        assert_eq!(p("email:a@b"), Identity::Email("a@b".into()));
        assert_eq!(p("rfc822:a@b"), Identity::Email("a@b".into()));
        assert_eq!(p("userfqdn:a@b"), Identity::Email("a@b".into()));
        assert_eq!(
            p("ipv4:192.0.2.1"),
            Identity::Ipv4("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            p("ipv6:2001:db8::1"),
            Identity::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(p("asn1dn:/C=CH/CN=gw"), Identity::Dn("/C=CH/CN=gw".into()));
        assert_eq!(p("keyid:#0102"), Identity::KeyId(HexBytes(vec![1, 2])));
        assert_eq!(p("keyid:ab"), Identity::KeyId(HexBytes(b"ab".to_vec())));
        assert_eq!(p("fqdn:#67772e6578"), Identity::Fqdn("gw.ex".into()));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "fqdn:gw.example.com",
            "email:a@b.c",
            "ipv4:192.0.2.1",
            "ipv6:2001:db8::1",
        ]
        .into_iter()
        .chain(["asn1dn:C=CH, CN=gw", "keyid:#0a0b"])
        {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(e(""), "identity is empty");
        assert_eq!(
            e("%any"),
            "'%any' matches any identity; a profile must name the identity the peer has to prove"
        );
        assert_eq!(
            e("ipv4net:10.0.0.0/8"),
            "identity type 'ipv4net' is not supported (use fqdn, email, ipv4, ipv6, dn or keyid)"
        );
        assert_eq!(e("ipv4:300.1.1.1"), "'300.1.1.1' is not an IPv4 address");
        assert_eq!(e("2001:db8::zz"), "'2001:db8::zz' is not an IPv6 address");
        assert_eq!(e("bad_host!"), "'bad_host!' is not a valid domain name");
        assert_eq!(
            e("@#abc"),
            "invalid key id: odd number of hexadecimal digits"
        );
        assert_eq!(
            e("C=CH, XX=y"),
            "invalid distinguished name 'C=CH, XX=y': unknown attribute type 'XX'"
        );
        assert_eq!(
            e("C=CH, CN="),
            "invalid distinguished name 'C=CH, CN=': attribute 'CN' has an empty value"
        );
        assert_eq!(
            e("CN=a, b"),
            "invalid distinguished name 'CN=a, b': 'b' is not of the form attribute=value"
        );
        assert_eq!(
            e("email:nobody"),
            "'nobody' is not an e-mail address (user@domain)"
        );
    }

    #[test]
    fn dn_accepts_escapes_quotes_and_oids() {
        p(r"CN=Doe\, John, O=Example");
        p(r#"CN="Doe, John", O=Example"#);
        p("2.5.4.3=gw, emailaddress=a@b");
        p("CN=a+UID=b");
    }

    #[test]
    fn for_host() {
        assert_eq!(Identity::for_host("192.0.2.1").unwrap(), p("192.0.2.1"));
        assert_eq!(
            Identity::for_host("vpn.example.com").unwrap(),
            p("vpn.example.com")
        );
        assert!(Identity::for_host("not a host").is_err());
    }

    #[test]
    fn hostnames() {
        assert!(is_valid_hostname("vpn.example.com"));
        assert!(is_valid_hostname("vpn.example.com."));
        assert!(is_valid_hostname("a_b.internal"));
        assert!(!is_valid_hostname("-a.example"));
        assert!(!is_valid_hostname("a..b"));
        assert!(!is_valid_hostname(&"a".repeat(64)));
        assert!(!is_valid_hostname("a b"));
    }
}

//! The `.sswan` file as strongSwan's Android app reads it (`VpnProfileImportActivity`).
//!
//! The app reads values with `org.json`'s `opt*` accessors, which coerce: a boolean may be
//! written `"true"`, a number `"4500"`, and lists (DNS servers, subnets, apps) either as an
//! array or as one space-separated string. These types accept the same, and reject what
//! the app would silently turn into a default, so a typo is reported instead of ignored.

use std::fmt;

use corridor_model::Secret;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Every key the strongSwan apps read, with `.` between levels; used to report unknown
/// keys.
pub(crate) const KNOWN_KEYS: &[&str] = &[
    "uuid",
    "name",
    "type",
    "remote",
    "remote.addr",
    "remote.port",
    "remote.id",
    "remote.cert",
    "remote.certreq",
    "remote.revocation",
    "remote.revocation.crl",
    "remote.revocation.ocsp",
    "remote.revocation.strict",
    "local",
    "local.id",
    "local.eap_id",
    "local.shared_secret",
    "local.p12",
    "local.rsa-pss",
    "ike-proposal",
    "esp-proposal",
    "dns-servers",
    "mtu",
    "nat-keepalive",
    "ipv6-transport",
    "proxy",
    "proxy.host",
    "proxy.port",
    "proxy.exclusions",
    "split-tunneling",
    "split-tunneling.subnets",
    "split-tunneling.excluded",
    "split-tunneling.block-ipv4",
    "split-tunneling.block-ipv6",
    "apps",
    "excluded-apps",
];

/// The top level of a `.sswan` file. Every key is optional here; required ones are checked
/// while mapping so the error can name the key.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a .sswan profile object")]
pub(crate) struct Sswan {
    pub uuid: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub remote: Option<Remote>,
    pub local: Option<Local>,
    #[serde(rename = "ike-proposal")]
    pub ike_proposal: Option<String>,
    #[serde(rename = "esp-proposal")]
    pub esp_proposal: Option<String>,
    #[serde(rename = "dns-servers")]
    pub dns_servers: Option<StringList>,
    pub mtu: Option<Int>,
    #[serde(rename = "nat-keepalive")]
    pub nat_keepalive: Option<Int>,
    #[serde(rename = "ipv6-transport")]
    pub ipv6_transport: Option<Bool>,
    pub proxy: Option<Proxy>,
    #[serde(rename = "split-tunneling")]
    pub split_tunneling: Option<Split>,
    pub apps: Option<StringList>,
    #[serde(rename = "excluded-apps")]
    pub excluded_apps: Option<StringList>,
}

/// `remote.*`: the gateway.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the gateway settings object")]
pub(crate) struct Remote {
    pub addr: Option<String>,
    pub port: Option<Int>,
    pub id: Option<String>,
    pub cert: Option<String>,
    pub certreq: Option<Bool>,
    pub revocation: Option<Revocation>,
}

/// `remote.revocation.*`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an object with crl, ocsp and strict")]
pub(crate) struct Revocation {
    pub crl: Option<Bool>,
    pub ocsp: Option<Bool>,
    pub strict: Option<Bool>,
}

/// `local.*`: the client.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the client settings object")]
pub(crate) struct Local {
    pub id: Option<String>,
    pub eap_id: Option<String>,
    pub shared_secret: Option<Secret>,
    pub p12: Option<String>,
    #[serde(rename = "rsa-pss")]
    pub rsa_pss: Option<Bool>,
}

/// `proxy.*`: an HTTP proxy for apps (Android only).
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the proxy settings object")]
pub(crate) struct Proxy {
    pub host: Option<String>,
    pub port: Option<Int>,
    pub exclusions: Option<StringList>,
}

/// `split-tunneling.*`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "the split-tunneling settings object")]
pub(crate) struct Split {
    pub subnets: Option<StringList>,
    pub excluded: Option<StringList>,
    #[serde(rename = "block-ipv4")]
    pub block_ipv4: Option<Bool>,
    #[serde(rename = "block-ipv6")]
    pub block_ipv6: Option<Bool>,
}

/// A boolean, also written as the string `"true"` or `"false"` (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bool(pub bool);

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Bool, E> {
                Ok(Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bool, E> {
                if v.eq_ignore_ascii_case("true") {
                    Ok(Bool(true))
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(Bool(false))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A whole number, also written as a string of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.trim()
                    .parse()
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of strings: a JSON array of strings, or one string of whitespace-separated
/// items. As in the app, spaces inside array items are removed (so
/// `"10.0.0.1 - 10.0.0.9"` is a range).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings or a space-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(
                    v.split_whitespace().map(str::to_string).collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    let item: String = item.chars().filter(|c| *c != ' ').collect();
                    if !item.is_empty() {
                        out.push(item);
                    }
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_values() {
        let b: Vec<Bool> = serde_json::from_str(r#"[true, "false", "TRUE"]"#).unwrap();
        assert_eq!(b, [Bool(true), Bool(false), Bool(true)]);
        assert!(serde_json::from_str::<Bool>(r#""yes""#).is_err());
        let i: Vec<Int> = serde_json::from_str(r#"[4500, "4500", " 20 "]"#).unwrap();
        assert_eq!(i, [Int(4500), Int(4500), Int(20)]);
        assert!(serde_json::from_str::<Int>("1.5").is_err());
        let l: StringList = serde_json::from_str(r#""a  b\tc""#).unwrap();
        assert_eq!(l.0, ["a", "b", "c"]);
        let l: StringList = serde_json::from_str(r#"["10.0.0.1 - 10.0.0.9", " ", "x"]"#).unwrap();
        assert_eq!(l.0, ["10.0.0.1-10.0.0.9", "x"]);
    }
}

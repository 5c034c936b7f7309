//! Byte strings and secrets as they appear in JSON.
//!
//! Profiles carry binary data (certificates, PKCS#12 containers, key ids) as text, and the
//! one secret a profile may hold (a pre-shared key). These wrappers keep the encoding rules
//! and the "never print a secret" rule in one place, so every field that uses them behaves
//! the same way.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string (a pre-shared key, or a password passed in by the caller).
///
/// `Debug` and `Display` print `***` so that a secret can never reach a log line or an error
/// message by accident; [`Secret::expose`] is the one explicit way to read it. It serializes
/// as a plain string because the one place it is stored (a profile's PSK) has to round-trip.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value. Call this only where the value is used, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    /// The value is wiped from memory when the secret goes away.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl JsonSchema for Secret {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "writeOnly": true })
    }
}

/// Binary data carried in JSON as standard (RFC 4648 §4) base64 with padding.
///
/// Line breaks and spaces inside the text are ignored, because base64 copied out of PEM
/// files or e-mails usually carries them. `Debug` prints only the length: the data is
/// usually a certificate or an encrypted key container, and dumping kilobytes of base64 into
/// a log helps nobody.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    /// Decodes base64 text, ignoring ASCII whitespace.
    pub fn decode(text: &str) -> Result<Self, base64::DecodeError> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD.decode(compact.as_bytes()).map(Self)
    }

    /// Encodes the bytes as base64 without line breaks.
    pub fn encode(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The decoded bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parsed_string(deserializer, "base64 text", |text| {
            Self::decode(text).map_err(|e| format!("invalid base64: {e}"))
        })
    }
}

impl JsonSchema for Base64Bytes {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Base64".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "contentEncoding": "base64",
            "pattern": "^[A-Za-z0-9+/=\\s]*$"
        })
    }
}

/// Binary data carried in JSON as hexadecimal text (for example a key id).
///
/// Upper and lower case are accepted, as are `:` separators (`0a:1b:2c`), the way OpenSSL
/// prints key identifiers. It is written back in lower case without separators.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

/// Why hexadecimal text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A character is not a hex digit or `:`.
    #[error("'{0}' is not a hexadecimal digit")]
    BadDigit(char),
    /// An odd number of digits cannot form whole bytes.
    #[error("odd number of hexadecimal digits")]
    OddLength,
}

impl HexBytes {
    /// Decodes hexadecimal text, allowing `:` separators.
    pub fn decode(text: &str) -> Result<Self, HexError> {
        let mut nibbles = Vec::with_capacity(text.len());
        for c in text.chars().filter(|&c| c != ':') {
            let v = c.to_digit(16).ok_or(HexError::BadDigit(c))?;
            // A hex digit is < 16, so it fits in a byte.
            nibbles.push(v as u8);
        }
        if nibbles.len() % 2 != 0 {
            return Err(HexError::OddLength);
        }
        Ok(Self(
            nibbles
                .chunks_exact(2)
                .map(|p| (p[0] << 4) | p[1])
                .collect(),
        ))
    }

    /// Encodes the bytes as lower-case hex without separators.
    pub fn encode(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::parsed_string(deserializer, "hexadecimal text", |text| {
            Self::decode(text).map_err(|e| format!("invalid hex: {e}"))
        })
    }
}

impl JsonSchema for HexBytes {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Hex".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^([0-9A-Fa-f]{2}:?)+$" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn base64_ignores_whitespace() {
        let b = Base64Bytes::decode("aGVs\nbG8=\r\n").unwrap();
        assert_eq!(b.as_slice(), b"hello");
        assert_eq!(b.encode(), "aGVsbG8=");
        assert_eq!(format!("{b:?}"), "<5 bytes>");
        assert!(Base64Bytes::decode("a$b=").is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = HexBytes::decode("0A:1b:2C").unwrap();
        assert_eq!(h.0, vec![0x0a, 0x1b, 0x2c]);
        assert_eq!(h.encode(), "0a1b2c");
        assert_eq!(HexBytes::decode("abc"), Err(HexError::OddLength));
        assert_eq!(HexBytes::decode("zz"), Err(HexError::BadDigit('z')));
    }
}

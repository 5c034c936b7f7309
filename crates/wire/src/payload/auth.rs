//! The Authentication payload (RFC 7296 §3.8) and RFC 7427 signature data.

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{AuthMethod, PayloadType};

const AT: Structure = Structure::Payload(PayloadType::AUTH);

/// An AUTH payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    method: AuthMethod,
    data: &'a [u8],
}

/// Splits RFC 7427 Authentication Data into AlgorithmIdentifier and Signature Value.
///
/// RFC 7427 §3 lays the Authentication Data of the Digital Signature method out as a
/// one-octet ASN.1 Length, the DER AlgorithmIdentifier of that length, and the Signature
/// Value.
fn split_digital_signature(data: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let mut r = Reader::new(data, AT);
    let len = usize::from(r.u8("ASN.1 length")?);
    if len == 0 {
        return Err(Error::BadLength {
            at: AT,
            field: "ASN.1 length",
            length: 0,
            reason: "an AlgorithmIdentifier is never empty",
        });
    }
    let algorithm = r.take(len, "AlgorithmIdentifier")?;
    let signature = r.rest();
    if signature.is_empty() {
        return Err(Error::BadLength {
            at: AT,
            field: "signature value",
            length: 0,
            reason: "the signature is missing",
        });
    }
    Ok((algorithm, signature))
}

impl<'a> Auth<'a> {
    /// Parses an AUTH payload body; Digital Signature data (RFC 7427) is checked too.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, AT);
        let method = AuthMethod::new(r.u8("auth method")?);
        let _reserved = r.array::<3>("reserved")?;
        let data = r.rest();
        if data.is_empty() {
            return Err(Error::BadLength {
                at: AT,
                field: "authentication data",
                length: 0,
                reason: "an AUTH payload carries a signature or MAC",
            });
        }
        if method == AuthMethod::DIGITAL_SIGNATURE {
            split_digital_signature(data)?;
        }
        Ok(Self { method, data })
    }

    /// Auth Method.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Authentication Data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// For Digital Signature (14), the DER AlgorithmIdentifier and the signature value.
    pub fn digital_signature(&self) -> Option<(&'a [u8], &'a [u8])> {
        if self.method == AuthMethod::DIGITAL_SIGNATURE {
            split_digital_signature(self.data).ok()
        } else {
            None
        }
    }
}

/// An AUTH payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthBuilder {
    /// Auth Method.
    pub method: AuthMethod,
    /// Authentication Data.
    pub data: Vec<u8>,
}

impl AuthBuilder {
    /// A Digital Signature (RFC 7427) AUTH payload.
    pub fn digital_signature(algorithm_identifier: &[u8], signature: &[u8]) -> Result<Self, Error> {
        let len = u8::try_from(algorithm_identifier.len()).map_err(|_| Error::TooLong {
            at: AT,
            field: "AlgorithmIdentifier",
            length: algorithm_identifier.len(),
            max: 255,
        })?;
        let mut data = Vec::with_capacity(1 + algorithm_identifier.len() + signature.len());
        data.push(len);
        data.extend_from_slice(algorithm_identifier);
        data.extend_from_slice(signature);
        Ok(Self {
            method: AuthMethod::DIGITAL_SIGNATURE,
            data,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.data.is_empty() {
            return Err(Error::Unencodable {
                at: AT,
                reason: "empty authentication data",
            });
        }
        if self.method == AuthMethod::DIGITAL_SIGNATURE {
            split_digital_signature(&self.data).map_err(|_| Error::Unencodable {
                at: AT,
                reason: "malformed RFC 7427 data",
            })?;
        }
        out.push(self.method.get());
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

impl From<&Auth<'_>> for AuthBuilder {
    fn from(a: &Auth<'_>) -> Self {
        Self {
            method: a.method,
            data: a.data.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_signature() {
        // sha256WithRSAEncryption AlgorithmIdentifier.
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
            0x00,
        ];
        let built = AuthBuilder::digital_signature(&alg, &[9; 256]).unwrap();
        let mut out = Vec::new();
        built.encode(&mut out).unwrap();
        let auth = Auth::parse(&out).unwrap();
        assert_eq!(auth.method(), AuthMethod::DIGITAL_SIGNATURE);
        let (a, s) = auth.digital_signature().unwrap();
        assert_eq!(a, alg);
        assert_eq!(s, &[9; 256]);
        assert_eq!(AuthBuilder::from(&auth), built);
    }

    #[test]
    fn rejects_malformed() {
        // ASN.1 length beyond the data.
        assert!(matches!(
            Auth::parse(&[14, 0, 0, 0, 20, 1, 2]),
            Err(Error::Truncated {
                field: "AlgorithmIdentifier",
                ..
            })
        ));
        // No signature after the AlgorithmIdentifier.
        assert!(Auth::parse(&[14, 0, 0, 0, 2, 1, 2]).is_err());
        assert!(Auth::parse(&[14, 0, 0, 0, 0, 1, 2]).is_err());
        assert!(Auth::parse(&[2, 0, 0, 0]).is_err());
        assert!(Auth::parse(&[2, 0, 0]).is_err());
        let psk = Auth::parse(&[2, 0, 0, 0, 1, 2, 3]).unwrap();
        assert_eq!(psk.method(), AuthMethod::SHARED_KEY_MESSAGE_INTEGRITY_CODE);
        assert_eq!(psk.digital_signature(), None);
    }
}

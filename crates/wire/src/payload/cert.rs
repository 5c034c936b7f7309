//! Certificate and Certificate Request payloads (RFC 7296 §3.6, §3.7).

use crate::error::{Error, Structure};
use crate::reader::Reader;
use crate::registry::{CertEncoding, PayloadType};

/// Length of a SHA-1 hash, the unit of Hash and URL data and of CERTREQ authorities.
pub const SHA1_LEN: usize = 20;

/// A Certificate payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cert<'a> {
    encoding: CertEncoding,
    data: &'a [u8],
}

impl<'a> Cert<'a> {
    /// Parses a CERT payload body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let at = Structure::Payload(PayloadType::CERT);
        let mut r = Reader::new(body, at);
        let encoding = CertEncoding::new(r.u8("cert encoding")?);
        let data = r.rest();
        if data.is_empty() {
            return Err(Error::BadLength {
                at,
                field: "certificate data",
                length: 0,
                reason: "a CERT payload carries certificate data",
            });
        }
        Ok(Self { encoding, data })
    }

    /// Certificate Encoding.
    pub fn encoding(&self) -> CertEncoding {
        self.encoding
    }

    /// Certificate Data (a DER certificate for X509_CERTIFICATE_SIGNATURE).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The SHA-1 hash and URL of a Hash and URL encoding (12 or 13).
    ///
    /// RFC 7296 §3.6: "Hash and URL encodings allow IKE messages to remain short by
    /// replacing long data structures with a 20-octet SHA-1 hash (see \[SHA\]) of the
    /// replaced value followed by a variable-length URL that resolves to the DER-encoded
    /// data structure itself."
    pub fn hash_and_url(&self) -> Result<(&'a [u8; SHA1_LEN], &'a [u8]), Error> {
        let at = Structure::Payload(PayloadType::CERT);
        if !matches!(
            self.encoding,
            CertEncoding::HASH_AND_URL_X509_CERTIFICATE | CertEncoding::HASH_AND_URL_X509_BUNDLE
        ) {
            return Err(Error::InvalidValue {
                at,
                field: "cert encoding",
                value: self.encoding.get().into(),
                reason: "not a Hash and URL encoding",
            });
        }
        let mut r = Reader::new(self.data, at);
        let hash = r.take(SHA1_LEN, "SHA-1 hash")?;
        let url = r.rest();
        let hash = hash.try_into().map_err(|_| Error::Truncated {
            at,
            field: "SHA-1 hash",
            needed: SHA1_LEN,
            available: hash.len(),
        })?;
        Ok((hash, url))
    }
}

/// A Certificate payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertBuilder {
    /// Certificate Encoding.
    pub encoding: CertEncoding,
    /// Certificate Data.
    pub data: Vec<u8>,
}

impl CertBuilder {
    /// A DER-encoded X.509 certificate.
    pub fn x509(der: impl Into<Vec<u8>>) -> Self {
        Self {
            encoding: CertEncoding::X509_CERTIFICATE_SIGNATURE,
            data: der.into(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.data.is_empty() {
            return Err(Error::Unencodable {
                at: Structure::Payload(PayloadType::CERT),
                reason: "empty certificate data",
            });
        }
        out.push(self.encoding.get());
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

impl From<&Cert<'_>> for CertBuilder {
    fn from(c: &Cert<'_>) -> Self {
        Self {
            encoding: c.encoding,
            data: c.data.to_vec(),
        }
    }
}

/// A Certificate Request payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertReq<'a> {
    encoding: CertEncoding,
    authorities: &'a [u8],
}

impl<'a> CertReq<'a> {
    /// Parses a CERTREQ payload body. The authority field may be empty (a request for any
    /// certificate of that encoding).
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body, Structure::Payload(PayloadType::CERTREQ));
        let encoding = CertEncoding::new(r.u8("cert encoding")?);
        Ok(Self {
            encoding,
            authorities: r.rest(),
        })
    }

    /// Certificate Encoding requested.
    pub fn encoding(&self) -> CertEncoding {
        self.encoding
    }

    /// The raw Certification Authority field.
    pub fn authorities(&self) -> &'a [u8] {
        self.authorities
    }

    /// The trust anchors' public key hashes.
    ///
    /// RFC 7296 §3.7: "The Certification Authority value is a concatenated list of SHA-1
    /// hashes of the public keys of trusted Certification Authorities (CAs). [...] The
    /// 20-octet hashes are concatenated and included with no other formatting."
    pub fn ca_hashes(&self) -> Result<impl Iterator<Item = &'a [u8]> + 'a, Error> {
        if !self.authorities.len().is_multiple_of(SHA1_LEN) {
            return Err(Error::BadLength {
                at: Structure::Payload(PayloadType::CERTREQ),
                field: "certification authority",
                length: self.authorities.len(),
                reason: "not a whole number of 20-byte SHA-1 hashes",
            });
        }
        Ok(self.authorities.chunks_exact(SHA1_LEN))
    }
}

/// A Certificate Request payload to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertReqBuilder {
    /// Certificate Encoding requested.
    pub encoding: CertEncoding,
    /// Certification Authority field (concatenated SHA-1 hashes for X.509).
    pub authorities: Vec<u8>,
}

impl CertReqBuilder {
    /// A request for X.509 certificates chaining to the CAs whose SubjectPublicKeyInfo
    /// SHA-1 hashes are given.
    pub fn x509<'h>(hashes: impl IntoIterator<Item = &'h [u8; SHA1_LEN]>) -> Self {
        Self {
            encoding: CertEncoding::X509_CERTIFICATE_SIGNATURE,
            authorities: hashes.into_iter().flatten().copied().collect(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(self.encoding.get());
        out.extend_from_slice(&self.authorities);
        Ok(())
    }
}

impl From<&CertReq<'_>> for CertReqBuilder {
    fn from(c: &CertReq<'_>) -> Self {
        Self {
            encoding: c.encoding,
            authorities: c.authorities.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert() {
        assert!(Cert::parse(&[4]).is_err());
        assert!(Cert::parse(&[]).is_err());
        let c = Cert::parse(&[4, 0x30, 0x00]).unwrap();
        assert_eq!(c.encoding(), CertEncoding::X509_CERTIFICATE_SIGNATURE);
        assert!(c.hash_and_url().is_err());
        let mut body = vec![12];
        body.extend_from_slice(&[7; 20]);
        body.extend_from_slice(b"http://ca/x.der");
        let (hash, url) = Cert::parse(&body).unwrap().hash_and_url().unwrap();
        assert_eq!(hash, &[7; 20]);
        assert_eq!(url, b"http://ca/x.der");
        assert!(Cert::parse(&body[..10]).unwrap().hash_and_url().is_err());
    }

    #[test]
    fn certreq() {
        let req = CertReqBuilder::x509([&[1; 20], &[2; 20]]);
        let mut out = Vec::new();
        req.encode(&mut out).unwrap();
        let parsed = CertReq::parse(&out).unwrap();
        let hashes: Vec<_> = parsed.ca_hashes().unwrap().collect();
        assert_eq!(hashes, [&[1; 20][..], &[2; 20][..]]);
        assert!(CertReq::parse(&out[..30]).unwrap().ca_hashes().is_err());
        assert_eq!(
            CertReq::parse(&[4]).unwrap().ca_hashes().unwrap().count(),
            0
        );
        assert!(CertReq::parse(&[]).is_err());
    }
}

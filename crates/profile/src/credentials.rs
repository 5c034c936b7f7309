//! The certificates and keys a connection needs, read from a stored profile.
//!
//! An import checks that every referenced file and container is readable; a connection
//! reads them again, because files may have changed since, and because the PKCS#12
//! password is only known at connection time (typed by the user or taken from the OS
//! keychain). Failures are [`InputError`]s naming the profile, the field and the reason.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use corridor_model::{Blob, CertificateSource, ClientCertificate, Profile, Secret};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

use crate::certs;
use crate::error::{InputError, InputErrorKind};
use crate::input::MAX_PROFILE_BYTES;
use crate::pkcs12::{self, Pkcs12Failure};

/// The client's private key and certificate chain.
#[derive(Clone)]
pub struct ClientCredential {
    /// The private key, DER: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    private_key_der: Vec<u8>,
    /// The client certificate first, then intermediates, DER.
    pub chain: Vec<Vec<u8>>,
}

impl ClientCredential {
    /// The private key as DER (PKCS#8, PKCS#1 or SEC1). Use it only to load a signing
    /// key; never print it.
    pub fn private_key_der(&self) -> &[u8] {
        &self.private_key_der
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredential")
            .field("private_key_der", &"***")
            .field("chain", &format_args!("{} certificates", self.chain.len()))
            .finish()
    }
}

/// The trusted CA certificates of `profile`, DER, in profile order (a PEM source may
/// hold several).
pub fn trusted_ca_certificates(profile: &Profile) -> Result<Vec<Vec<u8>>, InputError> {
    let origin = origin(profile);
    let mut out = Vec::new();
    for (i, source) in profile.trust.ca.iter().enumerate() {
        let field = format!("trust.ca[{i}]");
        out.extend(certificates(&origin, &field, source)?);
    }
    Ok(out)
}

/// The client certificate and key of `profile`, if it has one. A PKCS#12 container
/// needs `p12_password`; without it the error says so.
pub fn client_credential(
    profile: &Profile,
    p12_password: Option<&Secret>,
) -> Result<Option<ClientCredential>, InputError> {
    let origin = origin(profile);
    let Some(cert) = &profile.auth.client_certificate else {
        return Ok(None);
    };
    match cert {
        ClientCertificate::Pkcs12(blob) => {
            let field = "auth.client_certificate.pkcs12";
            let data = match blob {
                Blob::Base64(data) => data.0.clone(),
                Blob::File(path) => read(&origin, field, path)?,
            };
            let Some(password) = p12_password else {
                return Err(InputError::at_field(
                    &origin,
                    field,
                    InputErrorKind::Invalid(
                        "the PKCS#12 password is needed to open the client certificate".to_string(),
                    ),
                ));
            };
            let opened = pkcs12::open_credential(&data, password.expose()).map_err(|e| {
                let kind = match e {
                    Pkcs12Failure::WrongPassword => InputErrorKind::Pkcs12WrongPassword,
                    Pkcs12Failure::Malformed(reason) => InputErrorKind::Pkcs12Malformed(reason),
                };
                InputError::at_field(&origin, field, kind)
            })?;
            Ok(Some(ClientCredential {
                private_key_der: opened.key_pkcs8,
                chain: opened.chain,
            }))
        }
        ClientCertificate::Pem(pem) => {
            let chain = certificates(
                &origin,
                "auth.client_certificate.pem.certificate",
                &pem.certificate,
            )?;
            let key_field = "auth.client_certificate.pem.private_key_file";
            let data = read(&origin, key_field, &pem.private_key_file)?;
            let key = PrivateKeyDer::from_pem_slice(&data).map_err(|e| {
                InputError::at_field(
                    &origin,
                    key_field,
                    InputErrorKind::Certificate(format!(
                        "{}: not a usable PEM private key ({e})",
                        pem.private_key_file.display()
                    )),
                )
            })?;
            Ok(Some(ClientCredential {
                private_key_der: key.secret_der().to_vec(),
                chain,
            }))
        }
    }
}

fn origin(profile: &Profile) -> String {
    format!("profile \"{}\"", profile.name)
}

fn certificates(
    origin: &str,
    field: &str,
    source: &CertificateSource,
) -> Result<Vec<Vec<u8>>, InputError> {
    let (field, data) = match source {
        CertificateSource::Pem(text) => (format!("{field}.pem"), text.as_bytes().to_vec()),
        CertificateSource::Der(der) => (format!("{field}.der"), der.0.clone()),
        CertificateSource::File(path) => {
            let field = format!("{field}.file");
            let data = read(origin, &field, path)?;
            (field, data)
        }
    };
    let ders = certs::certificate_ders(&data).map_err(|reason| {
        InputError::at_field(origin, &field, InputErrorKind::Certificate(reason))
    })?;
    Ok(ders.into_iter().map(|der| der.as_ref().to_vec()).collect())
}

fn read(origin: &str, field: &str, path: &Path) -> Result<Vec<u8>, InputError> {
    let fail = |source| {
        InputError::at_field(
            origin,
            field,
            InputErrorKind::ReferencedFile {
                path: path.to_path_buf(),
                source,
            },
        )
    };
    let file = File::open(path).map_err(fail)?;
    let mut data = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(fail)?;
    if data.len() as u64 > MAX_PROFILE_BYTES {
        return Err(fail(std::io::Error::other(format!(
            "larger than {MAX_PROFILE_BYTES} bytes"
        ))));
    }
    Ok(data)
}

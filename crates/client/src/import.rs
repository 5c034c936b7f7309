//! Reading a profile file for the service, with the user's own rights.
//!
//! The service (root) never opens a path on a client's behalf: a user could aim it at a
//! file they cannot read themselves. So the client reads the file, resolves the files
//! it refers to (CA certificates, a PKCS#12 container) and sends one self-contained
//! Corridor profile. A signed file goes as it is, because its signature covers exactly
//! those bytes and only the service knows which signers this computer trusts.

use std::path::Path;

use corridor_model::{Base64Bytes, Blob, CertificateSource, ClientCertificate, Policy, Profile};
use corridor_profile::{ImportOptions, Imported, import_file, is_envelope, to_json};

/// A profile file read and ready to hand to the service.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The name the service's messages use for it (`work.sswan`, or
    /// `work.sswan (as a Corridor profile)` when it was converted here).
    pub file_name: String,
    /// The bytes to send in the import request.
    pub request_contents: Vec<u8>,
    /// The file is a signed Corridor envelope, sent unchanged.
    pub signed: bool,
    /// What the local import found: the profile, the report of every source key, and
    /// the secrets the file carried (never sent to the service).
    pub local: Imported,
}

/// Reads `path` like an import would, with the computer's policy left to the service
/// (which applies it to the request), and embeds every file the profile refers to.
///
/// # Errors
/// The file cannot be read, is no valid profile, or refers to a file that cannot be
/// read or handed over; the text names the file, the field and the reason.
pub fn prepare(path: &Path, options: &ImportOptions) -> Result<Prepared, String> {
    let options = ImportOptions {
        policy: Policy {
            allow_unsigned_imports: true,
            allow_legacy_crypto: true,
            ..options.policy.clone()
        },
        ..options.clone()
    };
    let mut local = import_file(path, &options).map_err(|e| e.to_string())?;
    embed_files(&mut local.profile)?;
    let base_name = path.file_name().map_or_else(
        || "profile".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let signed = std::str::from_utf8(&raw).is_ok_and(is_envelope);
    Ok(if signed {
        Prepared {
            file_name: base_name,
            request_contents: raw,
            signed,
            local,
        }
    } else {
        Prepared {
            file_name: format!("{base_name} (as a Corridor profile)"),
            request_contents: to_json(&local.profile).into_bytes(),
            signed,
            local,
        }
    })
}

/// Replaces every file reference the service would refuse with the file's contents,
/// read now with the caller's rights.
///
/// # Errors
/// A referenced file cannot be read, or is a PEM private key (which stays a file).
pub fn embed_files(profile: &mut Profile) -> Result<(), String> {
    for ca in &mut profile.trust.ca {
        if let CertificateSource::File(path) = ca {
            let bytes = read(path, "trust.ca")?;
            *ca = match String::from_utf8(bytes) {
                Ok(text) if text.contains("-----BEGIN") => CertificateSource::Pem(text),
                Ok(text) => CertificateSource::Der(Base64Bytes(text.into_bytes())),
                Err(e) => CertificateSource::Der(Base64Bytes(e.into_bytes())),
            };
        }
    }
    match &mut profile.auth.client_certificate {
        Some(ClientCertificate::Pkcs12(blob)) => {
            if let Blob::File(path) = blob {
                *blob = Blob::Base64(Base64Bytes(read(path, "auth.client_certificate")?));
            }
        }
        Some(ClientCertificate::Pem(_)) => {
            return Err(
                "auth.client_certificate.pem: a PEM private key stays a file and \
                        cannot be handed to the service; convert the certificate and key to \
                        PKCS#12 (openssl pkcs12 -export) and refer to that"
                    .to_string(),
            );
        }
        None => {}
    }
    Ok(())
}

fn read(path: &Path, field: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{field}: cannot read {}: {e}", path.display()))
}

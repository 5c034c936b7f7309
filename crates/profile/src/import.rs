//! Reading any supported profile file into a validated [`Profile`] with a report.
//!
//! The steps: read the file safely, detect the format from its content, parse (and for
//! `.sswan`, map), check the certificates and containers it embeds or refers to, fill in
//! what can be derived (the local identity from the client certificate), and validate.
//! Nothing is written anywhere; storing is the caller's next step (see [`crate::Store`]).

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use corridor_model::{
    Blob, CertificateSource, ClientCertificate, Policy, Profile, Secret, SignedBy,
};

use crate::certs::{self, CertInfo};
use crate::error::{InputError, InputErrorKind};
use crate::format::{self, Detected};
use crate::input::{self, Input, MAX_PROFILE_BYTES};
use crate::mapped::Mapped;
use crate::pkcs12::{self, Pkcs12Failure};
use crate::posture::{self, Posture};
use crate::report::{ImportReport, Outcome, ReportEntry, SourceFormat};
use crate::signed;
use crate::validate::validate;
use crate::{mobileconfig, powershell, profilexml, sswan, windows};

/// Choices for an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The password of the profile's PKCS#12 container. With it the container is opened:
    /// a wrong password is an error, and the certificate's subject becomes the default
    /// local identity. Without it only the container's structure is checked.
    pub p12_password: Option<Secret>,
    /// The directory relative file references are resolved against; by default the
    /// directory of the profile file.
    pub base_dir: Option<PathBuf>,
    /// A PKCS#12 file to use as the client certificate when the profile has none (a
    /// `.sswan` of a certificate type usually leaves it to be picked on the phone).
    pub client_certificate_file: Option<PathBuf>,
    /// CA certificate files (PEM or DER) to trust for the gateway, added to whatever the
    /// profile names. Windows formats never carry the gateway's CA (Windows checks
    /// against its own certificate store), so their imports need this to avoid trusting
    /// the system's roots.
    pub ca_files: Vec<PathBuf>,
    /// The name to give the profile instead of the one the file has (a ProfileXML has
    /// none; IT's files often call every profile "VPN").
    pub name: Option<String>,
    /// The computer's profile policy: which signatures are trusted, whether unsigned
    /// profiles and legacy algorithms are allowed. The default accepts unsigned profiles
    /// and refuses legacy algorithms.
    pub policy: Policy,
}

/// Secrets found in an imported file that are not kept in the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportedSecrets {
    /// The EAP password the file carried (`.sswan` `local.shared_secret`, `.mobileconfig`
    /// `AuthPassword`); the caller may offer to store it in the OS keychain.
    pub eap_password: Option<Secret>,
    /// The password of the PKCS#12 container the file carried (a `.mobileconfig`'s
    /// `com.apple.security.pkcs12` payload may hold it); used to open the container
    /// during the import when none was given, and offered to the keychain like the
    /// EAP password.
    pub p12_password: Option<Secret>,
}

/// A profile read from a file, with what the import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The validated profile, ready to be stored.
    pub profile: Profile,
    /// What was mapped, derived, checked and dropped.
    pub report: ImportReport,
    /// Secrets that were in the file but are not part of the profile.
    pub secrets: ImportedSecrets,
    /// How strong the profile's algorithms are.
    pub posture: Posture,
    /// The policy's name for the trusted key that signed the file, if it was signed by
    /// one.
    pub signed_by: Option<String>,
}

/// Reads, checks and validates a profile file of any supported format.
///
/// The format is detected from the content. Every failure is one [`InputError`] naming
/// the file, the field and the reason.
pub fn import_file(path: &Path, options: &ImportOptions) -> Result<Imported, InputError> {
    let input = input::read_file(path)?;
    import_verified(&input, options)
}

/// Like [`import_file`] for bytes from elsewhere (standard input, a download); `origin`
/// names them in errors. Relative file references need `options.base_dir`, else they are
/// resolved against the current directory.
pub fn import_bytes(
    origin: &str,
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<Imported, InputError> {
    let input = input::from_bytes(origin.to_string(), bytes.to_vec(), None)?;
    import_verified(&input, options)
}

/// Reads a Corridor profile file without checking referenced files or containers, for
/// the store, which only holds profiles that passed an import.
pub(crate) fn read_stored(path: &Path) -> Result<Profile, InputError> {
    let input = input::read_file(path)?;
    match format::detect(&input)? {
        (Detected::Corridor, _) => {
            let profile = format::read_corridor(&input)?;
            validate(&input.origin, &profile)?;
            Ok(profile)
        }
        _ => Err(InputError::new(
            input.origin.clone(),
            InputErrorKind::UnknownFormat(
                "not a stored Corridor profile (another client's format); import it".to_string(),
            ),
        )),
    }
}

/// Opens a signed profile and imports the file inside, or imports an unsigned file when
/// the policy allows unsigned ones.
///
/// A signature by a key the policy does not trust proves nothing to this computer: the
/// file counts as unsigned (allowed or not by the same rule), and the report says whose
/// key it was. A signature that does not verify is always refused.
fn import_verified(input: &Input, options: &ImportOptions) -> Result<Imported, InputError> {
    if input.binary || !signed::is_envelope(&input.text) {
        signed::require_signature(&options.policy, &input.origin)?;
        return import_input(input, options);
    }
    let (bytes, signed_by, note) = match signed::open(&input.origin, &input.text, &options.policy) {
        Ok(opened) => (
            opened.bytes,
            Some(SignedBy {
                signer: opened.signer.clone(),
                fingerprint: opened.fingerprint.clone(),
            }),
            format!("signed by {} ({})", opened.signer, opened.fingerprint),
        ),
        Err(e) => match e.kind() {
            InputErrorKind::UntrustedSigner { fingerprint }
                if options.policy.allow_unsigned_imports =>
            {
                let note = format!(
                    "signed by a key this computer does not trust ({fingerprint}); imported as \
                     an unsigned profile, which the policy allows"
                );
                let bytes = signed::payload(&input.text).ok_or(e)?;
                (bytes, None, note)
            }
            _ => return Err(e),
        },
    };
    let inner = input::from_bytes(input.origin.clone(), bytes, input.base_dir.clone())?;
    let mut imported = import_input(&inner, options)?;
    imported.report.entries.insert(
        0,
        ReportEntry {
            key: "signature".to_string(),
            outcome: Outcome::Checked { note },
        },
    );
    imported.signed_by = signed_by.as_ref().map(|s| s.signer.clone());
    imported.profile.signed_by = signed_by;
    Ok(imported)
}

fn import_input(input: &Input, options: &ImportOptions) -> Result<Imported, InputError> {
    let (detected, value) = format::detect(input)?;
    let mapped = match (detected, value) {
        (Detected::Corridor, _) => {
            let mut profile = format::read_corridor(input)?;
            let mut report = ImportReport::new(SourceFormat::Corridor);
            if profile.signed_by.take().is_some() {
                report.not_mapped(
                    "signed_by",
                    "recorded by Corridor when it verifies a signature; a file cannot claim it",
                );
            }
            Mapped {
                profile,
                report,
                secrets: ImportedSecrets::default(),
            }
        }
        (Detected::Sswan, Some(value)) => sswan::read(input, &value)?,
        (Detected::Sswan, None) => {
            // detect() always parses JSON formats.
            return Err(InputError::new(
                input.origin.clone(),
                InputErrorKind::Syntax("the JSON could not be parsed".to_string()),
            ));
        }
        (Detected::Mobileconfig, _) => mobileconfig::read(input)?,
        (Detected::ProfileXml, _) => profilexml::read(input)?,
        (Detected::PowerShell, _) => powershell::read(input)?,
    };
    let Mapped {
        mut profile,
        mut report,
        secrets,
    } = mapped;
    // Errors found after mapping name the source key the user has to fix.
    let source_key = |field: &str| -> Option<&'static str> {
        match detected {
            Detected::Corridor => None,
            Detected::Sswan => sswan::source_key(field),
            Detected::Mobileconfig => mobileconfig::source_key(field),
            Detected::ProfileXml => profilexml::source_key(field),
            Detected::PowerShell => powershell::source_key(field),
        }
    };
    let rename = |e: InputError| match e.field().and_then(source_key) {
        Some(key) => e.with_field(key),
        None => e,
    };
    let base = options
        .base_dir
        .clone()
        .or_else(|| input.base_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let checker = Materials {
        origin: &input.origin,
        base: &base,
        p12_password: options
            .p12_password
            .as_ref()
            .or(secrets.p12_password.as_ref()),
    };
    add_trust(detected, &mut profile, &mut report, &options.ca_files);
    if let Some(name) = &options.name {
        report.derived("name", format!("\"{name}\", given for the import"));
        profile.name.clone_from(name);
    }
    if profile.auth.client_certificate.is_none()
        && profile.auth.method.uses_certificate()
        && let Some(file) = &options.client_certificate_file
    {
        profile.auth.client_certificate = Some(ClientCertificate::Pkcs12(Blob::File(file.clone())));
        report.derived(
            "auth.client_certificate",
            format!("the PKCS#12 file {} given for the import", file.display()),
        );
    }
    checker.check(&mut profile, &mut report).map_err(rename)?;
    validate(&input.origin, &profile).map_err(rename)?;
    let posture = posture::enforce(&options.policy, &input.origin, &profile).map_err(rename)?;
    // Worth a line only when the policy let legacy algorithms through.
    if posture.grade == posture::Grade::Legacy {
        report.checked("proposals", format!("algorithms: {posture}"));
    }
    Ok(Imported {
        profile,
        report,
        secrets,
        posture,
        signed_by: None,
    })
}

/// Adds the CA files given for the import; without them, a Windows format (which cannot
/// carry the gateway's CA) trusts the system's roots, as Windows would, and says so.
fn add_trust(
    detected: Detected,
    profile: &mut Profile,
    report: &mut ImportReport,
    ca_files: &[PathBuf],
) {
    for file in ca_files {
        profile.trust.ca.push(CertificateSource::File(file.clone()));
        report.derived(
            &format!("trust.ca[{}]", profile.trust.ca.len() - 1),
            format!("the CA file {} given for the import", file.display()),
        );
    }
    let windows = matches!(detected, Detected::ProfileXml | Detected::PowerShell);
    if windows && profile.trust.ca.is_empty() && !profile.trust.system_roots {
        profile.trust.system_roots = true;
        report.derived("trust.system_roots", windows::SYSTEM_ROOTS_NOTE);
    }
}

/// Checks the certificates, keys and containers a profile embeds or refers to.
struct Materials<'a> {
    origin: &'a str,
    base: &'a Path,
    /// The container's password: given for the import, or found in the file.
    p12_password: Option<&'a Secret>,
}

impl Materials<'_> {
    fn error(&self, field: &str, kind: InputErrorKind) -> InputError {
        InputError::at_field(self.origin, field, kind)
    }

    /// Makes a relative path absolute against the base directory and reads the file,
    /// refusing files larger than a profile may be.
    fn load(&self, field: &str, path: &mut PathBuf) -> Result<Vec<u8>, InputError> {
        if path.is_relative() {
            let joined = self.base.join(&*path);
            // Stored profiles keep the absolute, resolved path so they work from anywhere
            // (on Windows `C:\...`, not the `\\?\C:\...` form canonicalize gives).
            *path = dunce::canonicalize(&joined)
                .or_else(|_| std::path::absolute(&joined))
                .unwrap_or(joined);
        }
        let fail = |source| {
            self.error(
                field,
                InputErrorKind::ReferencedFile {
                    path: path.clone(),
                    source,
                },
            )
        };
        let file = File::open(&*path).map_err(fail)?;
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

    fn certificates(
        &self,
        field: &str,
        source: &mut CertificateSource,
    ) -> Result<Vec<CertInfo>, InputError> {
        let (field, data, file) = match source {
            CertificateSource::Pem(text) => {
                (format!("{field}.pem"), text.as_bytes().to_vec(), None)
            }
            CertificateSource::Der(der) => (format!("{field}.der"), der.0.clone(), None),
            CertificateSource::File(path) => {
                let field = format!("{field}.file");
                let data = self.load(&field, path)?;
                (field, data, Some(path.display().to_string()))
            }
        };
        certs::read_certificates(&data).map_err(|reason| {
            let reason = match file {
                Some(f) => format!("{f}: {reason}"),
                None => reason,
            };
            self.error(&field, InputErrorKind::Certificate(reason))
        })
    }

    fn check(&self, profile: &mut Profile, report: &mut ImportReport) -> Result<(), InputError> {
        for (i, ca) in profile.trust.ca.iter_mut().enumerate() {
            let field = format!("trust.ca[{i}]");
            let infos = self.certificates(&field, ca)?;
            let summary: Vec<String> = infos.iter().map(CertInfo::summary).collect();
            report.checked(
                &field,
                format!("trusted certificate {}", summary.join("; ")),
            );
        }
        let Some(cred) = profile.auth.client_certificate.as_mut() else {
            return Ok(());
        };
        let leaf = match cred {
            ClientCertificate::Pkcs12(blob) => self.pkcs12(blob, report)?,
            ClientCertificate::Pem(pem) => {
                let field = "auth.client_certificate.pem.certificate";
                let infos = self.certificates(field, &mut pem.certificate)?;
                let key_field = "auth.client_certificate.pem.private_key_file";
                let key = self.load(key_field, &mut pem.private_key_file)?;
                let kind = certs::check_private_key(&key).map_err(|reason| {
                    let reason = format!("{}: {reason}", pem.private_key_file.display());
                    self.error(key_field, InputErrorKind::Certificate(reason))
                })?;
                report.checked(
                    "auth.client_certificate",
                    format!("PEM certificate and {kind}"),
                );
                infos.into_iter().next()
            }
        };
        if let Some(leaf) = leaf {
            report.checked(
                "auth.client_certificate",
                format!("client certificate {}", leaf.summary()),
            );
            if profile.auth.local_identity.is_none()
                && let Some(id) = leaf.default_identity()
            {
                report.derived(
                    "auth.local_identity",
                    format!("{id}, from the client certificate"),
                );
                profile.auth.local_identity = Some(id);
            }
        }
        Ok(())
    }

    fn pkcs12(
        &self,
        blob: &mut Blob,
        report: &mut ImportReport,
    ) -> Result<Option<CertInfo>, InputError> {
        let (field, data) = match blob {
            Blob::Base64(data) => (
                "auth.client_certificate.pkcs12.base64".to_string(),
                data.0.clone(),
            ),
            Blob::File(path) => {
                let field = "auth.client_certificate.pkcs12.file".to_string();
                let data = self.load(&field, path)?;
                (field, data)
            }
        };
        let label = match blob {
            Blob::File(path) => format!("{}: ", path.display()),
            Blob::Base64(_) => String::new(),
        };
        let malformed = |reason: String| {
            self.error(
                &field,
                InputErrorKind::Pkcs12Malformed(format!("{label}{reason}")),
            )
        };
        match self.p12_password {
            None => {
                pkcs12::check_structure(&data).map_err(malformed)?;
                report.checked(
                    "auth.client_certificate",
                    "PKCS#12 structure is intact; its contents are checked once its password is given",
                );
                Ok(None)
            }
            Some(password) => match pkcs12::open(&data, password.expose()) {
                Ok(info) => Ok(Some(info)),
                Err(Pkcs12Failure::Malformed(reason)) => Err(malformed(reason)),
                Err(Pkcs12Failure::WrongPassword) => {
                    Err(self.error(&field, InputErrorKind::Pkcs12WrongPassword))
                }
            },
        }
    }
}

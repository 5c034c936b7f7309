//! Reading, validating, importing and storing Corridor VPN profiles.
//!
//! A profile reaches Corridor as a file from IT: Corridor's own JSON format
//! (`docs/profile-format.md`), a strongSwan `.sswan` file, an Apple `.mobileconfig`
//! (XML, binary or CMS-signed), a Windows VPNv2 ProfileXML, or a PowerShell script
//! calling `Add-VpnConnection`. [`import_file`] reads any of them (the format is
//! recognised from the content), maps it to a [`Profile`], checks the
//! certificates and PKCS#12 containers it carries, validates it, and returns it with an
//! [`ImportReport`] of what was mapped and what was not. [`Store`] keeps validated
//! profiles, one file each, written atomically.
//!
//! ```no_run
//! use corridor_profile::{ImportOptions, SaveMode, Store, import_file};
//!
//! # fn main() -> Result<(), corridor_profile::Error> {
//! let imported = import_file("vpn.sswan".as_ref(), &ImportOptions::default())?;
//! print!("{}", imported.report);
//! let store = Store::open_default()?;
//! store.save(&imported.profile, SaveMode::CreateNew)?;
//! for stored in store.list()?.profiles {
//!     println!("{} {}", stored.profile.id, stored.profile.name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Bad input of any kind (wrong types, unknown values, bad base64, truncated PKCS#12,
//! wrong password, huge, deeply nested, empty or non-UTF-8 files) is one [`InputError`]
//! naming the file, the field and the reason; nothing is written and nothing panics.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backup;
mod certs;
mod credentials;
mod edit;
mod error;
mod format;
mod import;
mod input;
mod mapped;
mod mobileconfig;
mod pkcs12;
pub mod policy;
pub mod posture;
mod powershell;
mod profilexml;
mod report;
pub mod signed;
mod sswan;
mod store;
mod validate;
mod windows;

pub use backup::{
    BACKUP_FORMAT, BACKUP_VERSION, MAX_BACKUP_BYTES, backup_json, export_file_name, read_backup,
    to_json_export,
};
pub use corridor_model as model;
pub use corridor_model::Profile;
pub use credentials::{ClientCredential, client_credential, trusted_ca_certificates};
pub use edit::{Edited, apply_edit, changed_paths, merge_patch, patch_for, patch_from_assignments};
pub use error::{Error, InputError, InputErrorKind, StoreError};
pub use format::{to_json, to_json_redacted};
pub use import::{ImportOptions, Imported, ImportedSecrets, import_bytes, import_file};
pub use input::{MAX_JSON_DEPTH, MAX_PROFILE_BYTES};
pub use policy::{DEFAULT_POLICY_PATH, Policy, PolicyFile, TrustedSigner};
pub use posture::{Grade, Posture, Weakness, assess, enforce};
pub use report::{ImportReport, Outcome, ReportEntry, SourceFormat};
pub use signed::{Opened, SignError, fingerprint, is_envelope, public_key_pem};
pub use store::{Backup, Listing, Restored, SaveMode, Saved, Store, StoredProfile};
pub use validate::{
    LIVENESS_CHECK_SECS, MAX_NAME_CHARS, MTU_IPV4, MTU_IPV6_MIN, NAT_KEEPALIVE_SECS, REKEY_MINUTES,
    validate,
};

//! Plain data types shared by Corridor's processes.
//!
//! Everything here is serde data that crosses a boundary: a profile file on disk, the IPC
//! channel between the app and the service. The crate does no I/O and depends on no OS,
//! socket or async crate (`scripts/check-boundaries` enforces this), so every process,
//! fuzzer and test can use it. Parsing of the few textual mini-languages a profile carries
//! (strongSwan proposal strings, identities, CIDR prefixes) lives here too, because it is
//! part of reading the data, not of any I/O.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bytes;
mod de;
mod identity;
pub mod managed;
mod net;
pub mod policy;
mod profile;
pub mod proposal;

pub use bytes::{Base64Bytes, HexBytes, HexError, Secret};
pub use identity::{Identity, IdentityError, is_valid_hostname};
pub use managed::{FieldPath, Managed};
pub use net::{IpNet, IpNetError};
pub use policy::{Policy, TrustedSigner};
pub use profile::{
    Auth, AuthMethod, Blob, CertificateSource, ClientCertificate, DEFAULT_CHILD_REKEY_MINUTES,
    DEFAULT_IKE_REKEY_MINUTES, DEFAULT_LIVENESS_CHECK_SECS, DEFAULT_NAT_KEEPALIVE_SECS,
    DEFAULT_PORT, Dns, FORMAT_NAME, FORMAT_VERSION, FormatName, Gateway, PemCredential, Profile,
    Proposals, Rekey, Revocation, Routing, SignedBy, Transport, Trust, TunnelMode,
};
pub use proposal::{EspProposal, IkeProposal, ProposalError};
pub use uuid::Uuid;

/// The JSON Schema of the profile format, generated from the types above.
///
/// `docs/profile.schema.json` is this value pretty-printed; a test fails when the two
/// differ.
pub fn profile_schema() -> schemars::Schema {
    schemars::schema_for!(Profile)
}

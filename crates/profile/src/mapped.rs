//! What every importer of a foreign format produces.

use corridor_model::Profile;

use crate::import::ImportedSecrets;
use crate::report::ImportReport;

/// A profile mapped from another client's format, before the certificate checks and
/// validation that every import runs.
pub(crate) struct Mapped {
    /// The profile.
    pub profile: Profile,
    /// Every source key and what became of it.
    pub report: ImportReport,
    /// Secrets the file carried that a profile does not keep.
    pub secrets: ImportedSecrets,
}

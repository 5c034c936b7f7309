//! What an import did, field by field.
//!
//! IT hands out profiles made for other clients; the person importing one (or the admin
//! testing it) must be able to see which settings carried over, which were dropped and
//! why, and what Corridor filled in by itself. The report lists each of those once, in
//! the order of the source file.

use std::fmt;

/// The format a profile was read from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SourceFormat {
    /// Corridor's own JSON format.
    Corridor,
    /// strongSwan's `.sswan` JSON format (Android and other strongSwan apps).
    Sswan,
    /// An Apple configuration profile (`.mobileconfig`).
    Mobileconfig,
    /// A Windows VPNv2 CSP ProfileXML (Intune, MDM, `New-CimInstance` scripts).
    ProfileXml,
    /// A PowerShell script calling `Add-VpnConnection` and its companions.
    PowerShell,
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceFormat::Corridor => "Corridor profile",
            SourceFormat::Sswan => "strongSwan .sswan profile",
            SourceFormat::Mobileconfig => "Apple configuration profile (.mobileconfig)",
            SourceFormat::ProfileXml => "Windows VPNv2 ProfileXML",
            SourceFormat::PowerShell => "PowerShell Add-VpnConnection script",
        })
    }
}

/// What happened to one source field.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The value was carried over to `to` (a Corridor field path), possibly with a remark.
    Mapped {
        /// The Corridor field that holds it.
        to: String,
        /// How it was converted, when that is not obvious.
        note: Option<String>,
    },
    /// Corridor filled in `to` by itself (a default or a value derived from other data).
    Derived {
        /// The Corridor field that was set.
        to: String,
        /// Where the value came from.
        note: String,
    },
    /// A check passed; nothing changed (e.g. a certificate was read successfully).
    Checked {
        /// What was checked and found.
        note: String,
    },
    /// The value was not carried over.
    NotMapped {
        /// Why.
        reason: String,
    },
}

/// One line of the report.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReportEntry {
    /// The key in the source file, with `.` between levels (`remote.addr`), or the
    /// Corridor field for derived values.
    pub key: String,
    /// What happened to it.
    pub outcome: Outcome,
}

/// The report of one import.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportReport {
    /// The format that was read.
    pub source: SourceFormat,
    /// One entry per source key (and per derived value), in file order.
    pub entries: Vec<ReportEntry>,
}

impl ImportReport {
    pub(crate) fn new(source: SourceFormat) -> Self {
        ImportReport {
            source,
            entries: Vec::new(),
        }
    }

    pub(crate) fn mapped(&mut self, key: &str, to: &str) {
        self.push(
            key,
            Outcome::Mapped {
                to: to.to_string(),
                note: None,
            },
        );
    }

    pub(crate) fn mapped_with(&mut self, key: &str, to: &str, note: impl Into<String>) {
        self.push(
            key,
            Outcome::Mapped {
                to: to.to_string(),
                note: Some(note.into()),
            },
        );
    }

    pub(crate) fn derived(&mut self, to: &str, note: impl Into<String>) {
        self.push(
            to,
            Outcome::Derived {
                to: to.to_string(),
                note: note.into(),
            },
        );
    }

    pub(crate) fn checked(&mut self, key: &str, note: impl Into<String>) {
        self.push(key, Outcome::Checked { note: note.into() });
    }

    pub(crate) fn not_mapped(&mut self, key: &str, reason: impl Into<String>) {
        self.push(
            key,
            Outcome::NotMapped {
                reason: reason.into(),
            },
        );
    }

    fn push(&mut self, key: &str, outcome: Outcome) {
        self.entries.push(ReportEntry {
            key: key.to_string(),
            outcome,
        });
    }

    /// The entry for a source key, if any.
    pub fn get(&self, key: &str) -> Option<&Outcome> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.outcome)
    }

    /// Entries whose value was not carried over.
    pub fn dropped(&self) -> impl Iterator<Item = &ReportEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::NotMapped { .. }))
    }
}

impl fmt::Display for ReportEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Mapped { to, note: None } => write!(f, "mapped      {} -> {to}", self.key),
            Outcome::Mapped { to, note: Some(n) } => {
                write!(f, "mapped      {} -> {to} ({n})", self.key)
            }
            Outcome::Derived { note, .. } => write!(f, "derived     {}: {note}", self.key),
            Outcome::Checked { note } => write!(f, "checked     {}: {note}", self.key),
            Outcome::NotMapped { reason } => write!(f, "not mapped  {}: {reason}", self.key),
        }
    }
}

impl fmt::Display for ImportReport {
    /// One line per entry, aligned, for the command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "read as {}", self.source)?;
        for entry in &self.entries {
            writeln!(f, "  {entry}")?;
        }
        Ok(())
    }
}

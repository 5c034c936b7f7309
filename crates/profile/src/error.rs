//! Errors: one shape for every problem with an input, one for the store.
//!
//! An input error always says which file (or other origin), where in it when known
//! (line and column for syntax and type errors, the field path such as `gateway.port`),
//! and why, in one line:
//!
//! ```text
//! vpn.json:7:15: gateway.port: invalid type: string "500", expected u16
//! vpn.sswan: remote.cert: invalid base64: Invalid symbol 36, offset 4.
//! corp.json: auth.client_certificate: method eap-tls needs a client certificate
//! ```

use std::fmt;
use std::io;
use std::path::PathBuf;

use corridor_model::Uuid;

/// A problem with a profile file or an in-memory profile.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    origin: String,
    position: Option<(usize, usize)>,
    field: Option<String>,
    /// Not a `#[source]`: the message already includes it, and error reporters that
    /// print the source chain would say the reason twice.
    kind: InputErrorKind,
}

/// What kind of problem an [`InputError`] is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] io::Error),
    /// The file is larger than any profile can be; it is not read.
    #[error("the file is {size} bytes, more than the {limit} bytes a profile may have")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is empty or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Arrays and objects are nested deeper than any profile needs.
    #[error("JSON is nested more than {limit} levels deep")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// The JSON is neither a Corridor profile nor a `.sswan` profile.
    #[error("{0}")]
    UnknownFormat(String),
    /// A Corridor profile of a format version this build cannot read.
    #[error(
        "format version {found} is not supported; this version of Corridor reads version {supported}"
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// A value has the wrong type or syntax, or breaks a rule of the format.
    #[error("{0}")]
    Invalid(String),
    /// A file the profile refers to could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReferencedFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A certificate or key could not be decoded.
    #[error("{0}")]
    Certificate(String),
    /// A PKCS#12 container is malformed (e.g. truncated).
    #[error("{0}")]
    Pkcs12Malformed(String),
    /// The PKCS#12 password is wrong.
    #[error("wrong PKCS#12 password (the container's integrity check failed)")]
    Pkcs12WrongPassword,
    /// A signed profile whose signature does not verify: it was changed after signing.
    #[error("the signature does not match: the profile was changed after it was signed")]
    Tampered,
    /// A signed profile whose key is not among the policy's trusted signers.
    #[error(
        "signed by a key this computer does not trust ({fingerprint}); an administrator can \
         trust it with `corridor policy trust-key`"
    )]
    UntrustedSigner {
        /// The key's fingerprint (`SHA256:…`).
        fingerprint: String,
    },
    /// An unsigned profile while the policy requires signatures.
    #[error(
        "unsigned profiles are not allowed by this computer's policy; ask IT for a signed \
         profile"
    )]
    UnsignedRefused,
    /// A proposal uses a legacy algorithm and the policy does not allow legacy ones.
    #[error(
        "{algorithm} is a legacy algorithm: {reason}; an administrator can allow legacy \
         algorithms (allow_legacy_crypto in the policy: `corridor policy set \
         --allow-legacy-crypto yes`)"
    )]
    LegacyCrypto {
        /// The algorithm (`modp1024`, `3des`).
        algorithm: String,
        /// Why it is legacy.
        reason: String,
    },
}

impl InputError {
    pub(crate) fn new(origin: impl Into<String>, kind: InputErrorKind) -> Self {
        InputError {
            origin: origin.into(),
            position: None,
            field: None,
            kind,
        }
    }

    pub(crate) fn at_field(
        origin: impl Into<String>,
        field: impl Into<String>,
        kind: InputErrorKind,
    ) -> Self {
        let field = field.into();
        let field = if field.is_empty() || field == "." {
            None
        } else {
            Some(field)
        };
        InputError {
            origin: origin.into(),
            position: None,
            field,
            kind,
        }
    }

    /// The same error reported at another field (used to name a `.sswan` key instead of
    /// the Corridor field it was mapped to).
    pub(crate) fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    pub(crate) fn with_position(mut self, line: usize, column: usize) -> Self {
        if line > 0 {
            self.position = Some((line, column));
        }
        self
    }

    /// The file (or other origin) the problem is in.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The field path (`gateway.port`, `routing.include[2]`), when the problem is in one
    /// field.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Line and column (1-based) in the file, for syntax and type errors.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.position
    }

    /// What went wrong.
    pub fn kind(&self) -> &InputErrorKind {
        &self.kind
    }

    /// The reason alone, without origin, position and field.
    pub fn reason(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// A problem with the profile store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Neither `$XDG_DATA_HOME` nor `$HOME` is set, so there is no default directory.
    #[error("cannot find the profile directory: neither XDG_DATA_HOME nor HOME is set")]
    NoDataDir,
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "read", "write", "remove", "list").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// No stored profile has this id or name.
    #[error("no profile with the name or id '{0}'")]
    NotFound(String),
    /// Several stored profiles match a name given without an exact match.
    #[error("'{query}' matches several profiles: {}; use the id", list(.matches))]
    Ambiguous {
        /// What was asked for.
        query: String,
        /// The matching profiles.
        matches: Vec<(Uuid, String)>,
    },
    /// A profile with this id is stored already.
    #[error(
        "a profile with id {id} is already stored (\"{name}\"); replace it explicitly to overwrite it"
    )]
    DuplicateId {
        /// The id.
        id: Uuid,
        /// The stored profile's name.
        name: String,
    },
    /// A different profile with this name is stored already.
    #[error(
        "a profile named \"{name}\" is already stored (id {id}); rename the new one or replace it explicitly"
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// The stored profile's id.
        id: Uuid,
    },
    /// The profile to save is invalid, or a stored file is corrupt.
    #[error(transparent)]
    Invalid(#[from] InputError),
}

fn list(matches: &[(Uuid, String)]) -> String {
    matches
        .iter()
        .map(|(id, name)| format!("\"{name}\" ({id})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Any error of this crate, for callers that handle both kinds alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A problem with an input file or profile.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A problem with the store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

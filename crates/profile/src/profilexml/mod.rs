//! Import of Windows VPNv2 CSP ProfileXML documents.

use crate::error::{InputError, InputErrorKind};
use crate::input::Input;
use crate::mapped::Mapped;

/// Maps a ProfileXML document (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input) -> Result<Mapped, InputError> {
    Err(InputError::new(
        input.origin.clone(),
        InputErrorKind::UnknownFormat("a Windows ProfileXML: not readable yet".to_string()),
    ))
}

/// The source key a Corridor field came from.
pub(crate) fn source_key(_field: &str) -> Option<&'static str> {
    None
}

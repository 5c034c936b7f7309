//! Import of PowerShell scripts that create a VPN connection with `Add-VpnConnection`.

use crate::error::{InputError, InputErrorKind};
use crate::input::Input;
use crate::mapped::Mapped;

/// Maps a PowerShell script (after format detection) to a profile and a report.
pub(crate) fn read(input: &Input) -> Result<Mapped, InputError> {
    Err(InputError::new(
        input.origin.clone(),
        InputErrorKind::UnknownFormat("a PowerShell script: not readable yet".to_string()),
    ))
}

/// The source key a Corridor field came from.
pub(crate) fn source_key(_field: &str) -> Option<&'static str> {
    None
}

//! Who may open the service's named pipe on Windows, as a security descriptor in SDDL
//! (MS-DTYP §2.5.1), and the well-known groups the service's `--group` may name.
//! Plain string work, so it is tested on every OS; the Windows transport turns the
//! string into a descriptor with `ConvertStringSecurityDescriptorToSecurityDescriptorW`.

/// What members of the users group may do on the pipe: read and write its data and
/// attributes (FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES |
/// FILE_WRITE_EA), but not FILE_APPEND_DATA, which on a pipe is
/// FILE_CREATE_PIPE_INSTANCE: with it a user could add a server instance of the pipe
/// and answer other users' clients in the service's name. (`GW` would include it.)
pub const PIPE_USER_RIGHTS: u32 = 0x0012_019B;

/// The groups `--group` may name by their SDDL alias, with their SIDs.
const WELL_KNOWN: &[(&str, &str, &str)] = &[
    ("BU", "S-1-5-32-545", "BUILTIN\\Users"),
    ("AU", "S-1-5-11", "Authenticated Users"),
    ("IU", "S-1-5-4", "INTERACTIVE"),
    ("BA", "S-1-5-32-544", "BUILTIN\\Administrators"),
];

/// The SID of the administrators group (`BA`).
pub const ADMINISTRATORS_SID: &str = "S-1-5-32-544";
/// The SID of LocalSystem (`SY`), the account the service itself runs as.
pub const LOCAL_SYSTEM_SID: &str = "S-1-5-18";

/// The SID (string form) of the group `name`: an SDDL alias from the table above
/// (`BU`, `AU`, `IU`, `BA`) or a SID itself.
///
/// # Errors
/// A message naming the value and what is accepted.
pub fn group_sid(name: &str) -> Result<String, String> {
    if let Some((_, sid, _)) = WELL_KNOWN
        .iter()
        .find(|(alias, _, _)| alias.eq_ignore_ascii_case(name))
    {
        return Ok((*sid).to_string());
    }
    if crate::accounts::is_sid(name) {
        return Ok(name.to_string());
    }
    let aliases: Vec<String> = WELL_KNOWN
        .iter()
        .map(|(alias, _, what)| format!("{alias} ({what})"))
        .collect();
    Err(format!(
        "the group {name:?} is neither a SID (S-1-5-…) nor one of {}",
        aliases.join(", ")
    ))
}

/// The pipe's security descriptor: owned by LocalSystem, a protected DACL (nothing
/// inherited) giving LocalSystem and Administrators full access and `group_sid` read
/// and write without creating instances ([`PIPE_USER_RIGHTS`]). Everyone else, and
/// remote clients (the pipe also rejects those), cannot open it at all.
///
/// # Errors
/// `group_sid` is not a SID.
pub fn pipe_sddl(group_sid: &str) -> Result<String, String> {
    if !crate::accounts::is_sid(group_sid) {
        return Err(format!("{group_sid:?} is not a security identifier"));
    }
    Ok(format!(
        "O:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x{PIPE_USER_RIGHTS:x};;;{group_sid})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_named_by_alias_or_sid() {
        assert_eq!(group_sid("BU").unwrap(), "S-1-5-32-545");
        assert_eq!(group_sid("iu").unwrap(), "S-1-5-4");
        assert_eq!(
            group_sid("S-1-5-21-1-2-3-1105").unwrap(),
            "S-1-5-21-1-2-3-1105"
        );
        let err = group_sid("corridor").unwrap_err();
        assert!(
            err.contains("\"corridor\"") && err.contains("BU (BUILTIN\\Users)"),
            "{err}"
        );
    }

    #[test]
    fn users_may_talk_on_the_pipe_but_not_serve_it() {
        let sddl = pipe_sddl("S-1-5-32-545").unwrap();
        assert_eq!(
            sddl,
            "O:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;S-1-5-32-545)"
        );
        const FILE_CREATE_PIPE_INSTANCE: u32 = 0x4;
        const FILE_READ_DATA: u32 = 0x1;
        const FILE_WRITE_DATA: u32 = 0x2;
        const SYNCHRONIZE: u32 = 0x0010_0000;
        assert_eq!(PIPE_USER_RIGHTS & FILE_CREATE_PIPE_INSTANCE, 0);
        for needed in [FILE_READ_DATA, FILE_WRITE_DATA, SYNCHRONIZE] {
            assert_eq!(PIPE_USER_RIGHTS & needed, needed);
        }
        assert!(pipe_sddl("BU)(A;;GA;;;WD").is_err());
    }
}

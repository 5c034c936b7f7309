//! Files only their owner may read: pre-shared-key backups written by the CLI, the
//! service's per-user profile edits, the key log. On Unix that is mode 0600. On
//! Windows a new file takes its folder's inherited ACL, which under a user's profile
//! or `ProgramData` may let other accounts read it; there the file gets a protected
//! DACL (inheritance cut) granting full control to its owner (the `OWNER RIGHTS`
//! principal, S-1-3-4), LocalSystem and the Administrators group, and nobody else.
//!
//! The restriction is applied to the open file before anything is written to it, so
//! no secret is ever readable under the looser permissions it was created with.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The DACL of a private file on Windows, in SDDL: protected (`P`: no inherited
/// entries), full file access (`FA`) for the owner (`OW`), LocalSystem (`SY`) and the
/// built-in Administrators (`BA`).
pub const PRIVATE_FILE_SDDL: &str = "D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)";

/// Opens `path` with `options` as a private file: created with mode 0600 on Unix, and
/// restricted (again, in case it existed with looser permissions) before returning.
pub fn open_private(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    let file = options.open(path)?;
    restrict_to_owner(&file)?;
    Ok(file)
}

/// Makes the open `file` readable and writable by its owner only (and, on Windows, by
/// the system and administrators, who can take any file anyway).
pub fn restrict_to_owner(file: &File) -> io::Result<()> {
    imp::restrict_to_owner(file)
}

#[cfg(unix)]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::PermissionsExt as _;

    pub(super) fn restrict_to_owner(file: &File) -> io::Result<()> {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
}

#[cfg(windows)]
mod imp {
    #![allow(unsafe_code)]
    use std::fs::File;
    use std::io;
    use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};

    use windows_sys::Win32::Foundation::{ERROR_SUCCESS, INVALID_HANDLE_VALUE, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
        SetSecurityInfo,
    };
    use windows_sys::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, READ_CONTROL, ReOpenFile, WRITE_DAC,
    };

    /// A security descriptor allocated by the system, freed with `LocalFree`.
    struct LocalDescriptor(PSECURITY_DESCRIPTOR);

    impl Drop for LocalDescriptor {
        fn drop(&mut self) {
            // SAFETY: the pointer came from ConvertStringSecurityDescriptorToSecurity-
            // DescriptorW, whose documentation says to free it with LocalFree, once.
            unsafe { LocalFree(self.0) };
        }
    }

    /// A second handle to the same open file with the right to read and change its
    /// DACL, which the handle std opened for reading or writing does not carry
    /// (`WRITE_DAC` is not part of `GENERIC_WRITE`). Reopening the handle, not the
    /// path, guarantees it is the very same file.
    fn security_handle(file: &File) -> io::Result<OwnedHandle> {
        // SAFETY: the original handle is the open file's, valid for the call.
        let handle = unsafe {
            ReOpenFile(
                file.as_raw_handle(),
                READ_CONTROL | WRITE_DAC,
                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                0,
            )
        };
        if handle == INVALID_HANDLE_VALUE || handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a valid handle ReOpenFile just returned, owned by nobody else.
        Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
    }

    /// The private DACL, built by the system's own SDDL parser.
    fn private_descriptor() -> io::Result<LocalDescriptor> {
        let sddl: Vec<u16> = super::PRIVATE_FILE_SDDL
            .encode_utf16()
            .chain(std::iter::once(0))
            .collect();
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `sddl` is NUL-terminated UTF-16 that outlives the call; the output
        // pointer is a live local; the size output is optional (null).
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(LocalDescriptor(descriptor))
    }

    /// The DACL inside `descriptor` (borrowed from it).
    fn dacl_in(descriptor: &LocalDescriptor) -> io::Result<*mut ACL> {
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: the descriptor is valid (built by the system); outputs are live locals.
        let ok = unsafe {
            GetSecurityDescriptorDacl(descriptor.0, &mut present, &mut dacl, &mut defaulted)
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        if present == 0 || dacl.is_null() {
            return Err(io::Error::other("the private file DACL did not parse"));
        }
        Ok(dacl)
    }

    pub(super) fn restrict_to_owner(file: &File) -> io::Result<()> {
        let handle = security_handle(file)?;
        let descriptor = private_descriptor()?;
        let dacl = dacl_in(&descriptor)?;
        // SAFETY: the handle is open with WRITE_DAC, valid for the call; `dacl` points
        // into `descriptor`, alive until the end of this function; owner, group and
        // SACL are not changed (null).
        let status = unsafe {
            SetSecurityInfo(
                handle.as_raw_handle(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            )
        };
        drop(descriptor);
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        Ok(())
    }

    /// One entry of a DACL, for tests: the trustee's SID string, the access mask and
    /// the entry's flags.
    #[cfg(test)]
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Entry {
        pub(super) sid: String,
        pub(super) mask: u32,
        pub(super) flags: u8,
    }

    /// Whether the private descriptor marks its DACL protected, and its entries.
    #[cfg(test)]
    pub(super) fn private_dacl() -> io::Result<(bool, Vec<Entry>)> {
        use windows_sys::Win32::Security::{GetSecurityDescriptorControl, SE_DACL_PROTECTED};
        let descriptor = private_descriptor()?;
        let dacl = dacl_in(&descriptor)?;
        let mut control = 0u16;
        let mut revision = 0u32;
        // SAFETY: the descriptor is alive; outputs are live locals.
        if unsafe { GetSecurityDescriptorControl(descriptor.0, &mut control, &mut revision) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((control & SE_DACL_PROTECTED != 0, entries(dacl)?))
    }

    #[cfg(test)]
    fn entries(dacl: *mut ACL) -> io::Result<Vec<Entry>> {
        use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
        use windows_sys::Win32::Security::{ACCESS_ALLOWED_ACE, GetAce};
        // SAFETY: `dacl` points into a live descriptor (checked non-null by dacl_in).
        let count = unsafe { (*dacl).AceCount };
        let mut entries = Vec::new();
        for index in 0..u32::from(count) {
            let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
            // SAFETY: index is below the ACL's count; the output is a live local.
            if unsafe { GetAce(dacl, index, &mut ace) } == 0 {
                return Err(io::Error::last_os_error());
            }
            let ace = ace.cast::<ACCESS_ALLOWED_ACE>();
            // SAFETY: every entry of this DACL is an access-allowed entry (the only
            // kind written); its SID starts at `SidStart` inside the entry.
            let (mask, flags, sid) = unsafe {
                (
                    (*ace).Mask,
                    (*ace).Header.AceFlags,
                    std::ptr::addr_of_mut!((*ace).SidStart).cast::<core::ffi::c_void>(),
                )
            };
            let mut text: *mut u16 = std::ptr::null_mut();
            // SAFETY: `sid` points at a SID inside the live ACL; the output is a live
            // local, freed with LocalFree below.
            if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: the system returned a NUL-terminated UTF-16 string.
            let sid = unsafe {
                let len = (0..).take_while(|&i| *text.add(i) != 0).count();
                let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
                LocalFree(text.cast());
                sid
            };
            entries.push(Entry { sid, mask, flags });
        }
        Ok(entries)
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    pub(super) fn restrict_to_owner(_file: &std::fs::File) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "private files are not supported on this operating system",
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_private_file_is_its_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.json");
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let file = open_private(&mut options, &path).unwrap();
        check_private(&file);
    }

    #[test]
    fn an_existing_file_is_restricted_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keylog.txt");
        std::fs::write(&path, "").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        let file = open_private(&mut options, &path).unwrap();
        check_private(&file);
    }

    #[cfg(unix)]
    fn check_private(file: &File) {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    /// The file was restricted without error (above). What it was restricted to is
    /// checked on the descriptor itself: Wine accepts a file's DACL but does not keep
    /// it, so reading the file's back would test Wine, not us.
    #[cfg(windows)]
    fn check_private(_file: &File) {}

    #[cfg(windows)]
    #[test]
    fn the_private_dacl_is_protected_and_names_owner_system_and_administrators() {
        const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
        const INHERITED_ACE: u8 = 0x10;
        let (protected, entries) = imp::private_dacl().unwrap();
        assert!(protected, "the folder's entries must not be inherited");
        let sids: Vec<&str> = entries.iter().map(|e| e.sid.as_str()).collect();
        assert_eq!(sids, ["S-1-3-4", "S-1-5-18", "S-1-5-32-544"], "{entries:?}");
        for entry in &entries {
            assert_eq!(entry.mask, FILE_ALL_ACCESS, "{entry:?}");
            assert_eq!(entry.flags & INHERITED_ACE, 0, "{entry:?}");
        }
    }
}

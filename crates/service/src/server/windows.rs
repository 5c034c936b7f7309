//! The Windows transport: a local named pipe whose DACL admits LocalSystem,
//! Administrators and the service's users group (see [`crate::pipe_access`]), each
//! client identified by the token of the process at the other end.
//!
//! The pipe is created with `FILE_FLAG_FIRST_PIPE_INSTANCE` (so a second service, or a
//! squatter that created the name first, is detected instead of shared) and rejects
//! remote clients. A fresh server instance is created before each connected one is
//! handed to its task, so there is always an instance waiting, as the named-pipe server
//! pattern requires.

// The Win32 security calls below have no safe wrapper in the chosen dependencies;
// each unsafe block states why it is sound.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::os::windows::io::AsRawHandle as _;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::windows::named_pipe::{NamedPipeServer, PipeMode, ServerOptions};
use windows_sys::Win32::Foundation::{CloseHandle, ERROR_ACCESS_DENIED, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, LookupAccountSidW, PSECURITY_DESCRIPTOR, PSID, SECURITY_ATTRIBUTES,
    SID_AND_ATTRIBUTES, TOKEN_GROUPS, TOKEN_INFORMATION_CLASS, TOKEN_QUERY, TOKEN_USER,
    TokenGroups, TokenUser,
};
use windows_sys::Win32::System::Pipes::GetNamedPipeClientProcessId;
use windows_sys::Win32::System::Threading::{
    OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
};

use super::{ServerError, Service};
use crate::accounts::Accounts;
use crate::caller::Caller;
use crate::pipe_access::{ADMINISTRATORS_SID, LOCAL_SYSTEM_SID, pipe_sddl};

/// `SE_GROUP_ENABLED` (winnt.h): the group counts for access checks. A UAC-filtered
/// token carries Administrators as deny-only, without this bit.
const SE_GROUP_ENABLED: u32 = 0x4;

/// What the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The pipe's name (`\\.\pipe\corridord`).
    pub pipe: PathBuf,
    /// The SID of the group whose members may connect (besides LocalSystem and
    /// Administrators).
    pub group_sid: String,
    /// SIDs to account numbers.
    pub accounts: Arc<Accounts>,
}

/// The pipe's security descriptor, allocated by
/// `ConvertStringSecurityDescriptorToSecurityDescriptorW` and freed with `LocalFree`.
#[derive(Debug)]
struct SecurityDescriptor(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is a self-contained block of memory that nothing mutates after
// creation; Windows only reads it when a pipe instance is created, from any thread.
unsafe impl Send for SecurityDescriptor {}
// SAFETY: as above: shared references only ever read it.
unsafe impl Sync for SecurityDescriptor {}

impl SecurityDescriptor {
    fn from_sddl(sddl: &str) -> std::io::Result<Self> {
        let wide = wide(sddl);
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated and outlives the call; `descriptor` is a
        // valid out pointer; the size out pointer may be null.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self(descriptor))
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from the conversion above, which documents LocalFree
        // as its release, and is freed once.
        unsafe { LocalFree(self.0) };
    }
}

/// The pipe, with the next instance waiting for a client.
#[derive(Debug)]
pub struct Listener {
    next: NamedPipeServer,
    descriptor: SecurityDescriptor,
    name: PathBuf,
}

impl Listener {
    fn instance(&self) -> std::io::Result<NamedPipeServer> {
        create_instance(&self.name, &self.descriptor, false)
    }
}

fn create_instance(
    name: &std::path::Path,
    descriptor: &SecurityDescriptor,
    first: bool,
) -> std::io::Result<NamedPipeServer> {
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: u32::try_from(std::mem::size_of::<SECURITY_ATTRIBUTES>()).unwrap_or(u32::MAX),
        lpSecurityDescriptor: descriptor.0,
        bInheritHandle: 0,
    };
    let mut options = ServerOptions::new();
    options
        .first_pipe_instance(first)
        .reject_remote_clients(true)
        .pipe_mode(PipeMode::Byte);
    // SAFETY: `attributes` is a valid SECURITY_ATTRIBUTES whose descriptor lives in
    // `descriptor`, borrowed for the call; the call only reads it.
    unsafe {
        options.create_with_security_attributes_raw(name, (&raw mut attributes).cast::<c_void>())
    }
}

/// Creates the pipe's first instance with its DACL; refuses to share the name with a
/// running service (or anyone who created it first).
///
/// # Errors
/// [`ServerError`].
pub async fn bind(config: &ServerConfig) -> Result<Listener, ServerError> {
    let listen_err = |source| ServerError::Listen {
        path: config.pipe.clone(),
        source,
    };
    let sddl = pipe_sddl(&config.group_sid)
        .map_err(|e| listen_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let descriptor = SecurityDescriptor::from_sddl(&sddl).map_err(listen_err)?;
    let next = match create_instance(&config.pipe, &descriptor, true) {
        Ok(next) => next,
        Err(e) if e.raw_os_error() == i32::try_from(ERROR_ACCESS_DENIED).ok() => {
            return Err(ServerError::AlreadyRunning(config.pipe.clone()));
        }
        Err(e) => return Err(listen_err(e)),
    };
    Ok(Listener {
        next,
        descriptor,
        name: config.pipe.clone(),
    })
}

/// Accepts clients until `shutdown` resolves.
pub async fn serve(
    mut listener: Listener,
    config: ServerConfig,
    service: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            connected = listener.next.connect() => {
                if let Err(e) = connected {
                    tracing::warn!(error = %e, "a client could not connect");
                }
                let fresh = match listener.instance() {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot create the next pipe instance");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let stream = std::mem::replace(&mut listener.next, fresh);
                let caller = identify(&stream, &config);
                let service = Arc::clone(&service);
                tokio::spawn(async move { super::client(stream, caller, service).await });
            }
        }
    }
}

/// The caller at the other end of `pipe`, from its process's token.
fn identify(pipe: &NamedPipeServer, config: &ServerConfig) -> Result<Caller, String> {
    let token = ClientToken::of(pipe.as_raw_handle())
        .map_err(|e| format!("cannot identify the client: {e}"))?;
    let user = token
        .user_sid()
        .map_err(|e| format!("cannot read the client's account: {e}"))?;
    let groups = token
        .enabled_group_sids()
        .map_err(|e| format!("cannot read the client's groups: {e}"))?;
    let admin = user.string == LOCAL_SYSTEM_SID || groups.iter().any(|g| g == ADMINISTRATORS_SID);
    if !admin && !groups.iter().any(|g| *g == config.group_sid) {
        return Err(format!(
            "{} is not a member of the service's group {}",
            user.name.as_deref().unwrap_or(&user.string),
            config.group_sid
        ));
    }
    let uid = config
        .accounts
        .number_of(&user.string)
        .map_err(|e| e.to_string())?;
    Ok(Caller {
        uid,
        gid: uid,
        pid: i32::try_from(token.pid).ok(),
        user: user.name,
        admin,
    })
}

/// An account as the token names it.
struct Account {
    /// `S-1-5-21-…`.
    string: String,
    /// `DOMAIN\user`, when it can be looked up.
    name: Option<String>,
}

/// A handle closed on drop.
struct OwnedHandle(HANDLE);

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this module, is valid and closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// The access token of the pipe client's process, opened for queries.
struct ClientToken {
    token: OwnedHandle,
    pid: u32,
}

impl ClientToken {
    fn of(pipe: std::os::windows::io::RawHandle) -> std::io::Result<Self> {
        let mut pid = 0u32;
        // SAFETY: `pipe` is the server end of a connected pipe, alive for the call
        // (borrowed from its NamedPipeServer); `pid` is a valid out pointer.
        if unsafe { GetNamedPipeClientProcessId(pipe as HANDLE, &mut pid) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: plain call; a null result is handled.
        let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
        if process.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let process = OwnedHandle(process);
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: `process` is a valid process handle; `token` a valid out pointer.
        if unsafe { OpenProcessToken(process.0, TOKEN_QUERY, &mut token) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self {
            token: OwnedHandle(token),
            pid,
        })
    }

    /// One `GetTokenInformation` class, in a buffer aligned for the structures it holds.
    fn information(&self, class: TOKEN_INFORMATION_CLASS) -> std::io::Result<Vec<u64>> {
        let mut needed = 0u32;
        // SAFETY: a size query: null buffer of length 0, valid out pointer.
        unsafe { GetTokenInformation(self.token.0, class, std::ptr::null_mut(), 0, &mut needed) };
        if needed == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
        let length = u32::try_from(buffer.len() * 8).unwrap_or(u32::MAX);
        // SAFETY: `buffer` is writable for `length` bytes and 8-byte aligned, enough for
        // the token structures; `needed` is a valid out pointer.
        let ok = unsafe {
            GetTokenInformation(
                self.token.0,
                class,
                buffer.as_mut_ptr().cast(),
                length,
                &mut needed,
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(buffer)
    }

    fn user_sid(&self) -> std::io::Result<Account> {
        let buffer = self.information(TokenUser)?;
        // SAFETY: GetTokenInformation(TokenUser) filled the aligned buffer with a
        // TOKEN_USER whose SID points into the same buffer, alive while it is used.
        let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
        Ok(Account {
            string: sid_string(sid)?,
            name: account_name(sid),
        })
    }

    /// The SIDs of the groups enabled in the token (not deny-only ones).
    fn enabled_group_sids(&self) -> std::io::Result<Vec<String>> {
        let buffer = self.information(TokenGroups)?;
        let groups = buffer.as_ptr().cast::<TOKEN_GROUPS>();
        // SAFETY: GetTokenInformation(TokenGroups) filled the buffer with a TOKEN_GROUPS
        // whose `Groups` array holds `GroupCount` entries, all inside the buffer.
        let entries: &[SID_AND_ATTRIBUTES] = unsafe {
            std::slice::from_raw_parts(
                (&raw const (*groups).Groups).cast::<SID_AND_ATTRIBUTES>(),
                (*groups).GroupCount as usize,
            )
        };
        entries
            .iter()
            .filter(|g| g.Attributes & SE_GROUP_ENABLED != 0)
            .map(|g| sid_string(g.Sid))
            .collect()
    }
}

/// `S-1-…` for a SID.
fn sid_string(sid: PSID) -> std::io::Result<String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` points to a valid SID (from a token buffer alive for the call);
    // `text` is a valid out pointer, set to a LocalAlloc'd NUL-terminated string.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `text` is NUL-terminated (see above); read up to the NUL, then freed once.
    let string = unsafe {
        let mut len = 0;
        while *text.add(len) != 0 {
            len += 1;
        }
        let string = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        string
    };
    Ok(string)
}

/// `DOMAIN\user` for a SID, for logs and the hello; `None` when it cannot be looked up.
fn account_name(sid: PSID) -> Option<String> {
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let mut name_len = 256u32;
    let mut domain_len = 256u32;
    let mut kind = 0;
    // SAFETY: `sid` is valid for the call; both buffers are writable for the lengths
    // passed, which the call updates to the characters written (without the NUL).
    let ok = unsafe {
        LookupAccountSidW(
            std::ptr::null(),
            sid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if ok == 0 {
        return None;
    }
    let name = String::from_utf16_lossy(name.get(..name_len as usize)?);
    let domain = String::from_utf16_lossy(domain.get(..domain_len as usize)?);
    Some(if domain.is_empty() {
        name
    } else {
        format!("{domain}\\{name}")
    })
}

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

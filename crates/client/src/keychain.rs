//! Passwords the user asked Corridor to remember, in the user's own keychain: the
//! Secret Service (GNOME Keyring, KWallet) on a Linux desktop, the kernel's key
//! retention service (keyutils) without one, the login Keychain on macOS, the
//! Credential Manager on Windows. They never reach the service's disk: the CLI reads
//! them here and hands them over for one connection.
//!
//! `CORRIDOR_KEYCHAIN=secret-service|keyutils` picks the Linux store explicitly.
//!
//! Every call blocks (the Secret Service is asked over D-Bus): async code calls them
//! from a blocking task (`tokio::task::spawn_blocking`), never on a runtime worker.

use std::sync::{Arc, OnceLock};

use corridor_model::{Secret, Uuid};
use keyring_core::{CredentialStore, Entry};

/// Which secret of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The EAP password.
    Password,
    /// The client certificate's (PKCS#12) password.
    KeyPassphrase,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Password => "password",
            Kind::KeyPassphrase => "key-passphrase",
        }
    }
}

/// The entries' service name.
const SERVICE: &str = "corridor";

fn store() -> Result<Arc<CredentialStore>, String> {
    static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();
    STORE.get_or_init(open_store).clone()
}

#[cfg(target_os = "linux")]
fn open_store() -> Result<Arc<CredentialStore>, String> {
    let chosen = std::env::var("CORRIDOR_KEYCHAIN").ok();
    let secret_service = match chosen.as_deref() {
        Some("secret-service") => true,
        Some("keyutils") => false,
        Some(other) => {
            return Err(format!(
                "CORRIDOR_KEYCHAIN={other} is not a keychain (secret-service or keyutils)"
            ));
        }
        // A desktop session has a session bus, and on it the Secret Service.
        None => std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
    };
    if secret_service {
        let store = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| format!("the Secret Service is not available: {e}"))?;
        Ok(store)
    } else {
        let store = linux_keyutils_keyring_store::Store::new()
            .map_err(|e| format!("the kernel keyring is not available: {e}"))?;
        Ok(store)
    }
}

#[cfg(target_os = "macos")]
fn open_store() -> Result<Arc<CredentialStore>, String> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| format!("the Keychain is not available: {e}"))?;
    Ok(store)
}

#[cfg(windows)]
fn open_store() -> Result<Arc<CredentialStore>, String> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| format!("the Credential Manager is not available: {e}"))?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn open_store() -> Result<Arc<CredentialStore>, String> {
    Err("no keychain on this system".to_string())
}

fn entry(profile: Uuid, kind: Kind) -> Result<Entry, String> {
    let store = store()?;
    Entry::new_in_store(&store, SERVICE, &format!("{profile}:{}", kind.label()))
        .map_err(|e| format!("cannot open the keychain entry: {e}"))
}

/// The remembered secret, if there is one. A keychain that cannot be reached counts as
/// empty (the caller asks instead) and is mentioned at debug level only.
pub fn get(profile: Uuid, kind: Kind) -> Option<Secret> {
    match entry(profile, kind).and_then(|e| e.get_password().map_err(|e| e.to_string())) {
        Ok(text) => Some(Secret::new(text)),
        Err(_) => None,
    }
}

/// Remembers `secret` for `profile`.
///
/// # Errors
/// The keychain refused, in words for the user.
pub fn set(profile: Uuid, kind: Kind, secret: &Secret) -> Result<(), String> {
    entry(profile, kind)?
        .set_password(secret.expose())
        .map_err(|e| format!("the keychain refused to store the {}: {e}", kind.label()))
}

/// Forgets both secrets of `profile`; returns how many were there.
pub fn forget(profile: Uuid) -> usize {
    [Kind::Password, Kind::KeyPassphrase]
        .into_iter()
        .filter(|kind| {
            entry(profile, *kind)
                .map(|e| e.delete_credential().is_ok())
                .unwrap_or(false)
        })
        .count()
}

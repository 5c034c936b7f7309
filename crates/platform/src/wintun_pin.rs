//! The one wintun.dll Corridor loads: WireGuard LLC's signed build, pinned by its
//! SHA-256. The installer build checks the hash and the Authenticode signature
//! (scripts/build-msi reads the pin from here); the service checks the hash again just
//! before loading, so a DLL replaced after installation (or pointed to with
//! `CORRIDOR_WINTUN_DLL`) is refused instead of run inside a LocalSystem process.
//!
//! Comparing the exact bytes is stricter than a signature check (which any other
//! wintun build signed by the same company would pass) and needs no certificate store
//! or revocation lookup at connection time.

use crate::error::{Error, Result};

/// SHA-256 of wintun.dll 0.14.1 for amd64, as shipped in WireGuard LLC's release.
pub const WINTUN_DLL_SHA256: &str =
    "e5da8447dc2c320edc0fc52fa01885c103de8c118481f683643cacc3220dafce";

/// Checks that `bytes`, read from `path`, are the pinned wintun.dll.
pub fn check_wintun_dll(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    check_pinned(path, bytes, WINTUN_DLL_SHA256)
}

fn check_pinned(path: &std::path::Path, bytes: &[u8], pinned: &str) -> Result<()> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let actual: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    if actual == pinned {
        return Ok(());
    }
    Err(Error::Tun {
        name: "wintun".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not the wintun.dll Corridor ships (SHA-256 {actual}, expected \
                 {pinned}); reinstall Corridor",
                path.display()
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    #[test]
    fn the_pin_is_a_sha256_in_lower_case_hex() {
        assert_eq!(WINTUN_DLL_SHA256.len(), 64);
        assert!(
            WINTUN_DLL_SHA256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn matching_bytes_pass_and_others_are_refused_by_name() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        check_pinned(Path::new("wintun.dll"), b"abc", abc).unwrap();
        let err = check_pinned(Path::new(r"C:\x\wintun.dll"), b"abd", abc).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(r"C:\x\wintun.dll"), "{text}");
        assert!(
            text.contains("is not the wintun.dll Corridor ships"),
            "{text}"
        );
        assert!(text.contains(abc), "{text}");
        assert!(
            check_wintun_dll(Path::new("wintun.dll"), b"not a DLL").is_err(),
            "anything but the pinned build is refused"
        );
    }
}

//! Loading the captured test vectors.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One datagram of tests/data/strongswan with what charon logged about it.
pub(crate) struct Vector {
    /// File stem, e.g. `05-ike_auth-req-mid1`.
    pub(crate) name: String,
    /// The UDP payload as sent (with the non-ESP marker on port 4500).
    pub(crate) datagram: Vec<u8>,
    /// Decrypted inner payloads of its SK/SKF payload, padding removed.
    pub(crate) plain: Option<Vec<u8>>,
    /// The associated data charon fed to AES-GCM for it.
    pub(crate) aad: Option<Vec<u8>>,
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/strongswan")
}

fn read_hex(path: &Path) -> Option<Vec<u8>> {
    std::fs::read_to_string(path).ok().map(|s| hex(&s))
}

/// All vectors, in capture order (read once per test binary).
pub(crate) fn vectors() -> &'static [Vector] {
    static VECTORS: OnceLock<Vec<Vector>> = OnceLock::new();
    VECTORS.get_or_init(load)
}

fn load() -> Vec<Vector> {
    let dir = data_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hex") && !n.ends_with(".plain.hex") && !n.ends_with(".aad.hex"))
        .map(|n| n.trim_end_matches(".hex").to_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Vector {
            datagram: read_hex(&dir.join(format!("{name}.hex"))).unwrap(),
            plain: read_hex(&dir.join(format!("{name}.plain.hex"))),
            aad: read_hex(&dir.join(format!("{name}.aad.hex"))),
            name,
        })
        .collect()
}

/// The vector whose name starts with `prefix` (e.g. "05-").
pub(crate) fn vector(prefix: &str) -> &'static Vector {
    vectors()
        .iter()
        .find(|v| v.name.starts_with(prefix))
        .unwrap()
}

/// The IKE message inside a datagram: port-500 datagrams start with the (non-zero)
/// initiator SPI, port-4500 ones with the non-ESP marker.
pub(crate) fn ike_bytes(v: &Vector) -> &[u8] {
    corridor_wire::udp_encap::strip_non_esp_marker(&v.datagram).unwrap_or(&v.datagram)
}

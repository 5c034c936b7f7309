//! Opt-in logging of IKE and ESP keys for packet analysis in Wireshark.
//!
//! Setting `CORRIDOR_KEYLOG` to a directory makes Corridor append every key it derives to
//! two files there, in the formats of Wireshark's user tables (UAT):
//!
//! - `ikev2_decryption_table`: one line per IKE SA — initiator SPI, responder SPI, SK_ei,
//!   SK_er, encryption algorithm, SK_ai, SK_ar, integrity algorithm;
//! - `esp_sa`: one line per direction of each Child SA — protocol, source, destination
//!   (both `*`, so NAT does not matter), SPI, encryption algorithm and key, integrity
//!   algorithm and key.
//!
//! A Wireshark profile directory (or `~/.config/wireshark`) pointed at by the variable
//! makes captures decrypt with no further step. Anyone holding these files can read the
//! captured traffic, so they are created with mode 0600, the directory with 0700, and a
//! warning goes to standard error whenever logging is on.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use corridor_crypto::{EncrAlgorithm, IntegAlgorithm};
use corridor_ike::{ChildKeyMaterial, IkeKeyMaterial, KeyMaterial};

/// The environment variable that turns key logging on.
pub const ENV_VAR: &str = "CORRIDOR_KEYLOG";
/// File name of the IKE SA table.
pub const IKE_TABLE: &str = "ikev2_decryption_table";
/// File name of the ESP SA table.
pub const ESP_TABLE: &str = "esp_sa";

/// An open key log.
#[derive(Debug)]
pub struct KeyLog {
    dir: PathBuf,
    ike: File,
    esp: File,
}

impl KeyLog {
    /// The key log named by `CORRIDOR_KEYLOG`, if set; prints the warning.
    pub fn from_env() -> io::Result<Option<Self>> {
        let Some(dir) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let log = Self::open(Path::new(&dir))?;
        // Written straight to stderr: the person who set the variable must see it even
        // when no log subscriber is installed.
        let _ = writeln!(
            io::stderr(),
            "WARNING: {ENV_VAR} is set: IKE and ESP keys are written to {}; anyone with \
             these files can decrypt this connection's traffic",
            log.dir.display()
        );
        Ok(Some(log))
    }

    /// Opens (creating them when missing) the two tables in `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            ike: open_private(&dir.join(IKE_TABLE))?,
            esp: open_private(&dir.join(ESP_TABLE))?,
        })
    }

    /// The directory the tables are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends the lines for `keys`. `ipv6` tells the ESP table which protocol the
    /// outer packets use.
    pub fn log(&mut self, keys: &KeyMaterial, ipv6: bool) -> io::Result<()> {
        match keys {
            KeyMaterial::Ike(k) => {
                self.ike.write_all(ike_line(k).as_bytes())?;
                self.ike.flush()
            }
            KeyMaterial::Child(k) => {
                for line in esp_lines(k, ipv6) {
                    self.esp.write_all(line.as_bytes())?;
                }
                self.esp.flush()
            }
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    match std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn open_private(path: &Path) -> io::Result<File> {
    // An older file may have been created with looser permissions: restricted again.
    corridor_platform::private_file::open_private(
        OpenOptions::new().append(true).create(true),
        path,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The name of an IKE encryption algorithm in Wireshark's IKEv2 table.
fn ike_encr_name(e: EncrAlgorithm) -> &'static str {
    match e {
        EncrAlgorithm::AesGcm16 { key_bits: 128 } => "AES-GCM-128 with 16 octet ICV [RFC5282]",
        EncrAlgorithm::AesGcm16 { .. } => "AES-GCM-256 with 16 octet ICV [RFC5282]",
        EncrAlgorithm::AesCbc { key_bits: 128 } => "AES-CBC-128 [RFC3602]",
        EncrAlgorithm::AesCbc { .. } => "AES-CBC-256 [RFC3602]",
        EncrAlgorithm::ChaCha20Poly1305 => "CHACHA20-POLY1305 [RFC7634]",
    }
}

/// The name of an IKE integrity algorithm in Wireshark's IKEv2 table.
fn ike_integ_name(i: Option<IntegAlgorithm>) -> &'static str {
    match i {
        None => "NONE [RFC4306]",
        Some(IntegAlgorithm::HmacSha1_96) => "HMAC_SHA1_96 [RFC2404]",
        Some(IntegAlgorithm::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(IntegAlgorithm::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(IntegAlgorithm::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
    }
}

/// One `ikev2_decryption_table` line.
pub fn ike_line(k: &IkeKeyMaterial) -> String {
    let auth = |key: &[u8]| {
        if k.integ.is_some() {
            hex(key)
        } else {
            String::new()
        }
    };
    // Byte fields of a UAT file are bare hex; text and enumerated fields are quoted.
    format!(
        "{:016x},{:016x},{},{},\"{}\",{},{},\"{}\"\n",
        k.spi_i,
        k.spi_r,
        hex(k.sk_ei.expose()),
        hex(k.sk_er.expose()),
        ike_encr_name(k.encr),
        auth(k.sk_ai.expose()),
        auth(k.sk_ar.expose()),
        ike_integ_name(k.integ),
    )
}

fn esp_encr_name(e: EncrAlgorithm) -> &'static str {
    match e {
        EncrAlgorithm::AesGcm16 { .. } => "AES-GCM with 16 octet ICV [RFC4106]",
        EncrAlgorithm::AesCbc { .. } => "AES-CBC [RFC3602]",
        EncrAlgorithm::ChaCha20Poly1305 => "ChaCha20 with Poly1305 [RFC7634]",
    }
}

fn esp_integ_name(i: Option<IntegAlgorithm>) -> &'static str {
    match i {
        None => "NULL",
        Some(IntegAlgorithm::HmacSha1_96) => "HMAC-SHA-1-96 [RFC2404]",
        Some(IntegAlgorithm::HmacSha256_128) => "HMAC-SHA-256-128 [RFC4868]",
        Some(IntegAlgorithm::HmacSha384_192) => "HMAC-SHA-384-192 [RFC4868]",
        Some(IntegAlgorithm::HmacSha512_256) => "HMAC-SHA-512-256 [RFC4868]",
    }
}

/// The two `esp_sa` lines of a Child SA: what we send (initiator keys, the gateway's
/// SPI) and what we receive (responder keys, our SPI).
pub fn esp_lines(k: &ChildKeyMaterial, ipv6: bool) -> [String; 2] {
    let proto = if ipv6 { "IPv6" } else { "IPv4" };
    let line = |spi: u32, encr: &[u8], integ: &[u8]| {
        let integ = if k.suite.integ.is_some() {
            format!("0x{}", hex(integ))
        } else {
            String::new()
        };
        format!(
            "\"{proto}\",\"*\",\"*\",\"0x{spi:08x}\",\"{}\",\"0x{}\",\"{}\",\"{}\"\n",
            esp_encr_name(k.suite.encr),
            hex(encr),
            esp_integ_name(k.suite.integ),
            integ,
        )
    };
    [
        line(
            k.outbound_spi,
            k.keys.encr_i.expose(),
            k.keys.integ_i.expose(),
        ),
        line(
            k.inbound_spi,
            k.keys.encr_r.expose(),
            k.keys.integ_r.expose(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_crypto::{ChildSaKeys, SecretBytes};
    use corridor_ike::EspSuite;

    #[test]
    fn ike_line_format() {
        let k = IkeKeyMaterial {
            spi_i: 0x0102030405060708,
            spi_r: 0x1112131415161718,
            encr: EncrAlgorithm::AesCbc { key_bits: 128 },
            integ: Some(IntegAlgorithm::HmacSha256_128),
            sk_ei: SecretBytes::new(vec![0xaa; 2]),
            sk_er: SecretBytes::new(vec![0xbb; 2]),
            sk_ai: SecretBytes::new(vec![0xcc; 2]),
            sk_ar: SecretBytes::new(vec![0xdd; 2]),
        };
        assert_eq!(
            ike_line(&k),
            "0102030405060708,1112131415161718,aaaa,bbbb,\"AES-CBC-128 [RFC3602]\",\
             cccc,dddd,\"HMAC_SHA2_256_128 [RFC4868]\"\n"
        );
    }

    #[test]
    fn esp_lines_format_and_file_mode() {
        let k = ChildKeyMaterial {
            inbound_spi: 0xc0000001,
            outbound_spi: 0x0000abcd,
            suite: EspSuite {
                encr: EncrAlgorithm::AesGcm16 { key_bits: 128 },
                integ: None,
                esn: false,
            },
            keys: ChildSaKeys {
                encr_i: SecretBytes::new(vec![1; 2]),
                integ_i: SecretBytes::new(vec![]),
                encr_r: SecretBytes::new(vec![2; 2]),
                integ_r: SecretBytes::new(vec![]),
            },
        };
        let [out, inb] = esp_lines(&k, false);
        assert_eq!(
            out,
            "\"IPv4\",\"*\",\"*\",\"0x0000abcd\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x0101\",\"NULL\",\"\"\n"
        );
        assert!(inb.contains("0xc0000001") && inb.contains("0x0202"));

        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("keys");
        let mut log = KeyLog::open(&sub).unwrap();
        log.log(&KeyMaterial::Child(k), false).unwrap();
        let text = std::fs::read_to_string(sub.join(ESP_TABLE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(sub.join(ESP_TABLE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

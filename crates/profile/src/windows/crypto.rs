//! Windows IPsec cryptography constants as strongSwan proposal strings.
//!
//! ProfileXML's `CryptographySuite` and `Set-VpnConnectionIPsecConfiguration` take the
//! same six settings (the `MDM_VPNv2_CryptographySuite` class and the cmdlet's
//! parameters): the IKE SA's encryption, integrity (which is also its PRF) and
//! Diffie-Hellman group, and the ESP SA's cipher, integrity and PFS group. Windows
//! proposes exactly one IKE and one ESP transform set built from them, so they become one
//! IKE and one ESP proposal. The values are matched case-insensitively, as PowerShell
//! does; ProfileXML's `AES_GCM_128` spellings and the cmdlet's `GCMAES128` are both read.

use corridor_model::proposal::{EspProposal, IkeProposal, ProposalError};

/// The six settings, by their Windows names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Setting {
    AuthenticationTransformConstants,
    CipherTransformConstants,
    EncryptionMethod,
    IntegrityCheckMethod,
    DhGroup,
    PfsGroup,
}

impl Setting {
    pub(crate) const ALL: [Setting; 6] = [
        Setting::AuthenticationTransformConstants,
        Setting::CipherTransformConstants,
        Setting::EncryptionMethod,
        Setting::IntegrityCheckMethod,
        Setting::DhGroup,
        Setting::PfsGroup,
    ];

    /// The name ProfileXML and PowerShell use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Setting::AuthenticationTransformConstants => "AuthenticationTransformConstants",
            Setting::CipherTransformConstants => "CipherTransformConstants",
            Setting::EncryptionMethod => "EncryptionMethod",
            Setting::IntegrityCheckMethod => "IntegrityCheckMethod",
            Setting::DhGroup => "DHGroup",
            Setting::PfsGroup => "PfsGroup",
        }
    }

    /// The setting with this name (case-insensitive).
    pub(crate) fn from_name(name: &str) -> Option<Setting> {
        Setting::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The accepted values and the strongSwan keyword each stands for ("" for none;
    /// `aead` for the GCM integrity constants, which the cipher covers; `mm` for "the
    /// same group as the IKE SA").
    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Setting::AuthenticationTransformConstants => &[
                ("MD596", "md5"),
                ("SHA196", "sha1"),
                ("SHA256128", "sha256"),
                ("GCMAES128", "aead"),
                ("GCMAES192", "aead"),
                ("GCMAES256", "aead"),
                ("None", ""),
            ],
            Setting::CipherTransformConstants => &[
                ("DES", "des"),
                ("DES3", "3des"),
                ("AES128", "aes128"),
                ("AES192", "aes192"),
                ("AES256", "aes256"),
                ("GCMAES128", "aes128gcm16"),
                ("GCMAES192", "aes192gcm16"),
                ("GCMAES256", "aes256gcm16"),
                ("None", "null"),
            ],
            Setting::EncryptionMethod => &[
                ("DES", "des"),
                ("DES3", "3des"),
                ("AES128", "aes128"),
                ("AES192", "aes192"),
                ("AES256", "aes256"),
                ("AES_GCM_128", "aes128gcm16"),
                ("AES_GCM_256", "aes256gcm16"),
                ("GCMAES128", "aes128gcm16"),
                ("GCMAES256", "aes256gcm16"),
            ],
            Setting::IntegrityCheckMethod => &[
                ("MD5", "md5"),
                ("SHA196", "sha1"),
                ("SHA1", "sha1"),
                ("SHA256", "sha256"),
                ("SHA384", "sha384"),
            ],
            Setting::DhGroup => &[
                ("None", ""),
                ("Group1", "modp768"),
                ("Group2", "modp1024"),
                ("Group14", "modp2048"),
                ("ECP256", "ecp256"),
                ("ECP384", "ecp384"),
                ("Group24", "modp2048s256"),
            ],
            Setting::PfsGroup => &[
                ("None", ""),
                ("PFS1", "modp768"),
                ("PFS2", "modp1024"),
                ("PFS2048", "modp2048"),
                ("PFS14", "modp2048"),
                ("ECP256", "ecp256"),
                ("ECP384", "ecp384"),
                ("PFSMM", "mm"),
                ("PFS24", "modp2048s256"),
            ],
        }
    }

    /// The strongSwan keyword for a value, or why it is not one of the setting's values.
    pub(crate) fn keyword(self, value: &str) -> Result<&'static str, String> {
        let value = value.trim();
        self.table()
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(value))
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let known: Vec<&str> = self.table().iter().map(|(v, _)| *v).collect();
                format!(
                    "unknown {} value \"{value}\"; expected one of {}",
                    self.name(),
                    known.join(", ")
                )
            })
    }
}

/// The proposals built from a complete set of the six settings.
#[derive(Debug)]
pub(crate) struct Suite {
    pub ike: IkeProposal,
    pub esp: EspProposal,
}

/// A problem with the settings: which one, and why.
#[derive(Debug)]
pub(crate) struct SuiteError {
    pub setting: Option<Setting>,
    pub reason: String,
}

/// Builds the IKE and ESP proposals. `value` returns the value given for a setting;
/// Windows needs all six, so a missing one is an error.
pub(crate) fn suite(value: impl Fn(Setting) -> Option<String>) -> Result<Suite, SuiteError> {
    let mut words = Vec::new();
    for setting in Setting::ALL {
        let text = value(setting).ok_or_else(|| SuiteError {
            setting: Some(setting),
            reason: "missing; Windows needs all six cryptography settings together".to_string(),
        })?;
        let word = setting.keyword(&text).map_err(|reason| SuiteError {
            setting: Some(setting),
            reason,
        })?;
        words.push((setting, text, word));
    }
    let word = |s: Setting| {
        words
            .iter()
            .find(|(w, _, _)| *w == s)
            .map(|(_, _, k)| *k)
            .unwrap_or_default()
    };
    let fail = |setting: Setting, reason: String| SuiteError {
        setting: Some(setting),
        reason,
    };

    let encryption = word(Setting::EncryptionMethod);
    let integrity = word(Setting::IntegrityCheckMethod);
    let dh = word(Setting::DhGroup);
    if dh.is_empty() {
        // RFC 7296 §3.3.2: the IKE SA's key exchange transform is mandatory.
        return Err(fail(
            Setting::DhGroup,
            "None: an IKEv2 SA needs a Diffie-Hellman group (RFC 7296 §3.3.2)".to_string(),
        ));
    }
    // With an AEAD cipher the integrity algorithm names the PRF (RFC 5282 §8: no separate
    // integrity transform).
    let ike = if encryption.contains("gcm") {
        format!("{encryption}-prf{integrity}-{dh}")
    } else {
        format!("{encryption}-{integrity}-{dh}")
    };

    let cipher = word(Setting::CipherTransformConstants);
    let auth = word(Setting::AuthenticationTransformConstants);
    let aead = cipher.contains("gcm");
    if auth == "aead" && !aead {
        return Err(fail(
            Setting::AuthenticationTransformConstants,
            "a GCM integrity constant needs a GCM CipherTransformConstants value".to_string(),
        ));
    }
    let mut esp = cipher.to_string();
    if !aead && !auth.is_empty() {
        esp.push('-');
        esp.push_str(auth);
    }
    let pfs = match word(Setting::PfsGroup) {
        "mm" => dh,
        other => other,
    };
    if !pfs.is_empty() {
        esp.push('-');
        esp.push_str(pfs);
    }

    let blame = |e: ProposalError, kinds: &[Setting]| -> SuiteError {
        let word = match &e {
            ProposalError::Refused { word, .. }
            | ProposalError::Unknown { word, .. }
            | ProposalError::Misplaced { word, .. } => Some(word.as_str()),
            _ => None,
        };
        let setting = word.and_then(|w| kinds.iter().copied().find(|s| word_of(s, &words) == w));
        SuiteError {
            setting,
            reason: e.to_string(),
        }
    };
    let ike: IkeProposal = ike.parse().map_err(|e| {
        blame(
            e,
            &[
                Setting::EncryptionMethod,
                Setting::IntegrityCheckMethod,
                Setting::DhGroup,
            ],
        )
    })?;
    let esp: EspProposal = esp.parse().map_err(|e| {
        blame(
            e,
            &[
                Setting::CipherTransformConstants,
                Setting::AuthenticationTransformConstants,
                Setting::PfsGroup,
            ],
        )
    })?;
    Ok(Suite { ike, esp })
}

fn word_of(setting: &Setting, words: &[(Setting, String, &'static str)]) -> &'static str {
    words
        .iter()
        .find(|(s, _, _)| s == setting)
        .map(|(_, _, k)| *k)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(values: [&str; 6]) -> Result<Suite, SuiteError> {
        suite(|s| {
            let i = Setting::ALL.iter().position(|x| *x == s).unwrap();
            Some(values[i].to_string())
        })
    }

    #[test]
    fn gcm_and_cbc_suites() {
        let s = build([
            "GCMAES256",
            "GCMAES256",
            "AES_GCM_256",
            "SHA384",
            "ECP384",
            "PFSMM",
        ])
        .unwrap();
        assert_eq!(s.ike.as_str(), "aes256gcm16-prfsha384-ecp384");
        assert_eq!(s.esp.as_str(), "aes256gcm16-ecp384");
        let s = build(["SHA256128", "AES256", "AES256", "SHA256", "Group14", "None"]).unwrap();
        assert_eq!(s.ike.as_str(), "aes256-sha256-modp2048");
        assert_eq!(s.esp.as_str(), "aes256-sha256");
    }

    #[test]
    fn weak_and_unknown_values_name_the_setting() {
        let e = build(["SHA256128", "AES256", "AES256", "SHA256", "Group1", "None"]).unwrap_err();
        assert_eq!(e.setting, Some(Setting::DhGroup));
        assert!(e.reason.contains("768-bit"), "{}", e.reason);
        let e = build(["SHA256128", "AES256", "AES256", "SHA256", "Group99", "None"]).unwrap_err();
        assert_eq!(e.setting, Some(Setting::DhGroup));
        assert!(e.reason.starts_with("unknown DHGroup value \"Group99\""));
        let e = build(["MD596", "AES256", "AES256", "SHA256", "Group14", "None"]).unwrap_err();
        assert_eq!(e.setting, Some(Setting::AuthenticationTransformConstants));
    }
}

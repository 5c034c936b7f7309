//! IKEv2 transforms (RFC 7296 §3.3.2) and strongSwan's proposal keywords.
//!
//! Numbers are the IANA "IKEv2 Parameters" registry values. Keywords follow strongSwan's
//! `proposal_keywords_static.txt`, so a proposal string that works in strongSwan means the
//! same here; keywords for algorithms that are broken, strongSwan-private or not worth
//! implementing are recognised and refused with a reason instead of "unknown".

use std::fmt;

/// Defines a transform enum with its IANA number and IANA name in one table.
macro_rules! transform_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $num:literal, $iana_name:literal; )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The Transform ID from the IANA registry.
            pub const fn iana(self) -> u16 {
                match self { $( Self::$variant => $num, )+ }
            }

            /// The name the IANA registry gives this transform.
            pub const fn iana_name(self) -> &'static str {
                match self { $( Self::$variant => $iana_name, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.iana_name())
            }
        }
    };
}

transform_enum! {
    /// Transform Type 1: encryption algorithms (RFC 7296 §3.3.2, RFC 8247 §2.1).
    EncryptionAlgorithm {
        /// Triple DES in CBC mode.
        TripleDes = 3, "ENCR_3DES";
        /// No encryption (ESP only: integrity without confidentiality).
        Null = 11, "ENCR_NULL";
        /// AES in CBC mode (RFC 3602).
        AesCbc = 12, "ENCR_AES_CBC";
        /// AES in counter mode (RFC 3686).
        AesCtr = 13, "ENCR_AES_CTR";
        /// AES-CCM with an 8-octet ICV (RFC 4309).
        AesCcm8 = 14, "ENCR_AES_CCM_8";
        /// AES-CCM with a 12-octet ICV.
        AesCcm12 = 15, "ENCR_AES_CCM_12";
        /// AES-CCM with a 16-octet ICV.
        AesCcm16 = 16, "ENCR_AES_CCM_16";
        /// AES-GCM with an 8-octet ICV (RFC 4106).
        AesGcm8 = 18, "ENCR_AES_GCM_8";
        /// AES-GCM with a 12-octet ICV.
        AesGcm12 = 19, "ENCR_AES_GCM_12";
        /// AES-GCM with a 16-octet ICV.
        AesGcm16 = 20, "ENCR_AES_GCM_16";
        /// AES-GMAC: integrity only, no confidentiality (RFC 4543).
        NullAuthAesGmac = 21, "ENCR_NULL_AUTH_AES_GMAC";
        /// Camellia in CBC mode (RFC 5529).
        CamelliaCbc = 23, "ENCR_CAMELLIA_CBC";
        /// Camellia in counter mode.
        CamelliaCtr = 24, "ENCR_CAMELLIA_CTR";
        /// Camellia-CCM with an 8-octet ICV.
        CamelliaCcm8 = 25, "ENCR_CAMELLIA_CCM_8_ICV";
        /// Camellia-CCM with a 12-octet ICV.
        CamelliaCcm12 = 26, "ENCR_CAMELLIA_CCM_12_ICV";
        /// Camellia-CCM with a 16-octet ICV.
        CamelliaCcm16 = 27, "ENCR_CAMELLIA_CCM_16_ICV";
        /// ChaCha20-Poly1305 (RFC 7634).
        Chacha20Poly1305 = 28, "ENCR_CHACHA20_POLY1305";
    }
}

impl EncryptionAlgorithm {
    /// Whether this is a combined-mode (AEAD) algorithm, which carries its own integrity
    /// protection and so is proposed without an integrity transform (RFC 5282 §8).
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            Self::AesCcm8
                | Self::AesCcm12
                | Self::AesCcm16
                | Self::AesGcm8
                | Self::AesGcm12
                | Self::AesGcm16
                | Self::NullAuthAesGmac
                | Self::CamelliaCcm8
                | Self::CamelliaCcm12
                | Self::CamelliaCcm16
                | Self::Chacha20Poly1305
        )
    }
}

transform_enum! {
    /// Transform Type 2: pseudorandom functions (RFC 8247 §2.2).
    Prf {
        /// HMAC-SHA1 (RFC 2104).
        HmacSha1 = 2, "PRF_HMAC_SHA1";
        /// AES-XCBC-PRF-128 (RFC 4434).
        Aes128Xcbc = 4, "PRF_AES128_XCBC";
        /// HMAC-SHA2-256 (RFC 4868).
        HmacSha2_256 = 5, "PRF_HMAC_SHA2_256";
        /// HMAC-SHA2-384.
        HmacSha2_384 = 6, "PRF_HMAC_SHA2_384";
        /// HMAC-SHA2-512.
        HmacSha2_512 = 7, "PRF_HMAC_SHA2_512";
        /// AES-CMAC-PRF-128 (RFC 4615).
        Aes128Cmac = 8, "PRF_AES128_CMAC";
    }
}

transform_enum! {
    /// Transform Type 3: integrity algorithms (RFC 8247 §2.3).
    Integrity {
        /// HMAC-SHA1 truncated to 96 bits (RFC 2404).
        HmacSha1_96 = 2, "AUTH_HMAC_SHA1_96";
        /// AES-XCBC-MAC-96 (RFC 3566).
        AesXcbc96 = 5, "AUTH_AES_XCBC_96";
        /// HMAC-SHA1 untruncated (160 bits).
        HmacSha1_160 = 7, "AUTH_HMAC_SHA1_160";
        /// AES-CMAC-96 (RFC 4494).
        AesCmac96 = 8, "AUTH_AES_CMAC_96";
        /// AES-128-GMAC (RFC 4543).
        Aes128Gmac = 9, "AUTH_AES_128_GMAC";
        /// AES-192-GMAC.
        Aes192Gmac = 10, "AUTH_AES_192_GMAC";
        /// AES-256-GMAC.
        Aes256Gmac = 11, "AUTH_AES_256_GMAC";
        /// HMAC-SHA2-256 truncated to 128 bits (RFC 4868).
        HmacSha2_256_128 = 12, "AUTH_HMAC_SHA2_256_128";
        /// HMAC-SHA2-384 truncated to 192 bits.
        HmacSha2_384_192 = 13, "AUTH_HMAC_SHA2_384_192";
        /// HMAC-SHA2-512 truncated to 256 bits.
        HmacSha2_512_256 = 14, "AUTH_HMAC_SHA2_512_256";
    }
}

impl Integrity {
    /// The PRF strongSwan assumes when an IKE proposal names integrity algorithms but no
    /// PRF (its `integ_prf_map`): the PRF built on the same primitive.
    pub const fn matching_prf(self) -> Option<Prf> {
        match self {
            Self::HmacSha1_96 | Self::HmacSha1_160 => Some(Prf::HmacSha1),
            Self::HmacSha2_256_128 => Some(Prf::HmacSha2_256),
            Self::HmacSha2_384_192 => Some(Prf::HmacSha2_384),
            Self::HmacSha2_512_256 => Some(Prf::HmacSha2_512),
            Self::AesXcbc96 => Some(Prf::Aes128Xcbc),
            Self::AesCmac96 => Some(Prf::Aes128Cmac),
            Self::Aes128Gmac | Self::Aes192Gmac | Self::Aes256Gmac => None,
        }
    }
}

transform_enum! {
    /// Transform Type 4: key exchange methods (RFC 8247 §2.4, RFC 9370, ML-KEM).
    KeyExchange {
        /// No key exchange: in ESP proposals, "PFS is optional"; in additional key
        /// exchanges, "this round is optional".
        None = 0, "NONE";
        /// 1024-bit MODP group 2 (RFC 2409); weak, kept for old gateways.
        Modp1024 = 2, "MODP_1024";
        /// 1536-bit MODP group 5 (RFC 3526).
        Modp1536 = 5, "MODP_1536";
        /// 2048-bit MODP group 14 (RFC 3526).
        Modp2048 = 14, "MODP_2048";
        /// 3072-bit MODP group 15.
        Modp3072 = 15, "MODP_3072";
        /// 4096-bit MODP group 16.
        Modp4096 = 16, "MODP_4096";
        /// 6144-bit MODP group 17.
        Modp6144 = 17, "MODP_6144";
        /// 8192-bit MODP group 18.
        Modp8192 = 18, "MODP_8192";
        /// NIST P-256 (RFC 5903).
        Ecp256 = 19, "ECP_256";
        /// NIST P-384.
        Ecp384 = 20, "ECP_384";
        /// NIST P-521.
        Ecp521 = 21, "ECP_521";
        /// 1024-bit MODP with 160-bit prime order subgroup (RFC 5114).
        Modp1024S160 = 22, "MODP_1024_160";
        /// 2048-bit MODP with 224-bit prime order subgroup (RFC 5114).
        Modp2048S224 = 23, "MODP_2048_224";
        /// 2048-bit MODP with 256-bit prime order subgroup (RFC 5114).
        Modp2048S256 = 24, "MODP_2048_256";
        /// NIST P-192 (RFC 5114).
        Ecp192 = 25, "ECP_192";
        /// NIST P-224 (RFC 5114).
        Ecp224 = 26, "ECP_224";
        /// brainpoolP224r1 (RFC 6954).
        Ecp224Bp = 27, "ECP_224_BP";
        /// brainpoolP256r1.
        Ecp256Bp = 28, "ECP_256_BP";
        /// brainpoolP384r1.
        Ecp384Bp = 29, "ECP_384_BP";
        /// brainpoolP512r1.
        Ecp512Bp = 30, "ECP_512_BP";
        /// Curve25519 (RFC 8031).
        Curve25519 = 31, "CURVE_25519";
        /// Curve448 (RFC 8031).
        Curve448 = 32, "CURVE_448";
        /// GOST R 34.10-2012 256-bit (RFC 9385).
        Gost3410_256 = 33, "GOST3410_2012_256";
        /// GOST R 34.10-2012 512-bit (RFC 9385).
        Gost3410_512 = 34, "GOST3410_2012_512";
        /// ML-KEM-512 (FIPS 203), post-quantum.
        MlKem512 = 35, "ML_KEM_512";
        /// ML-KEM-768 (FIPS 203), post-quantum.
        MlKem768 = 36, "ML_KEM_768";
        /// ML-KEM-1024 (FIPS 203), post-quantum.
        MlKem1024 = 37, "ML_KEM_1024";
    }
}

transform_enum! {
    /// Transform Type 5: extended sequence numbers (RFC 7296 §3.3.2; ESP only).
    Esn {
        /// 32-bit sequence numbers.
        No = 0, "NO_ESN";
        /// 64-bit extended sequence numbers (RFC 4303 §2.2.1).
        Yes = 1, "ESN";
    }
}

/// An encryption transform with its key length attribute (RFC 7296 §3.3.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Encryption {
    /// The algorithm.
    pub algorithm: EncryptionAlgorithm,
    /// The Key Length attribute in bits, for algorithms with variable key sizes
    /// (AES, Camellia); `None` for fixed-size ones (3DES, ChaCha20-Poly1305, NULL).
    pub key_bits: Option<u16>,
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key_bits {
            Some(bits) => write!(f, "{}_{bits}", self.algorithm),
            None => write!(f, "{}", self.algorithm),
        }
    }
}

/// What a keyword stands for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Token {
    Encryption(Encryption),
    Prf(Prf),
    Integrity(Integrity),
    KeyExchange(KeyExchange),
    Esn(Esn),
    /// A keyword strongSwan knows that Corridor refuses, with the reason.
    Refused(&'static str),
}

const BROKEN_DES: &str = "DES is broken; RFC 8247 and RFC 8221 forbid it (MUST NOT)";
const BROKEN_MD5: &str = "HMAC-MD5 is broken; RFC 8247 and RFC 8221 forbid it (MUST NOT)";
const BROKEN_MODP768: &str = "the 768-bit MODP group is broken; RFC 8247 forbids it (MUST NOT)";
const PRIVATE: &str = "strongSwan-specific algorithm without an IANA number";
const OBSOLETE_64BIT: &str = "obsolete 64-bit block cipher that Corridor does not implement";

fn enc(algorithm: EncryptionAlgorithm, bits: u16) -> Token {
    Token::Encryption(Encryption {
        algorithm,
        key_bits: if bits == 0 { None } else { Some(bits) },
    })
}

/// Looks up one strongSwan proposal keyword (case-sensitive, as in strongSwan).
pub(crate) fn keyword(word: &str) -> Option<Token> {
    use EncryptionAlgorithm as E;
    use Integrity as I;
    use KeyExchange as K;

    // AES / Camellia families: <cipher><bits><mode><icv>, e.g. aes256gcm16, camellia128ccm96.
    if let Some(t) = sized_cipher(word) {
        return Some(t);
    }
    let token = match word {
        "null" => enc(E::Null, 0),
        "3des" => enc(E::TripleDes, 0),
        "chacha20poly1305" => enc(E::Chacha20Poly1305, 0),
        "des" => Token::Refused(BROKEN_DES),
        "blowfish" | "blowfish128" | "blowfish192" | "blowfish256" | "cast128" => {
            Token::Refused(OBSOLETE_64BIT)
        }
        "serpent" | "serpent128" | "serpent192" | "serpent256" | "twofish" | "twofish128"
        | "twofish192" | "twofish256" | "sha256_96" | "sha2_256_96" | "camelliaxcbc"
        | "prfcamelliaxcbc" | "modpnull" => Token::Refused(PRIVATE),
        "chacha20poly1305compat" => {
            Token::Refused("strongSwan-specific compatibility variant; use chacha20poly1305")
        }
        "sha" | "sha1" => Token::Integrity(I::HmacSha1_96),
        "sha1_160" => Token::Integrity(I::HmacSha1_160),
        "sha256" | "sha2_256" => Token::Integrity(I::HmacSha2_256_128),
        "sha384" | "sha2_384" => Token::Integrity(I::HmacSha2_384_192),
        "sha512" | "sha2_512" => Token::Integrity(I::HmacSha2_512_256),
        "aesxcbc" => Token::Integrity(I::AesXcbc96),
        "aescmac" => Token::Integrity(I::AesCmac96),
        "md5" | "md5_128" | "prfmd5" => Token::Refused(BROKEN_MD5),
        "prfsha1" => Token::Prf(Prf::HmacSha1),
        "prfsha256" => Token::Prf(Prf::HmacSha2_256),
        "prfsha384" => Token::Prf(Prf::HmacSha2_384),
        "prfsha512" => Token::Prf(Prf::HmacSha2_512),
        "prfaesxcbc" => Token::Prf(Prf::Aes128Xcbc),
        "prfaescmac" => Token::Prf(Prf::Aes128Cmac),
        "none" | "modpnone" => Token::KeyExchange(K::None),
        "modp768" => Token::Refused(BROKEN_MODP768),
        "modp1024" => Token::KeyExchange(K::Modp1024),
        "modp1536" => Token::KeyExchange(K::Modp1536),
        "modp2048" => Token::KeyExchange(K::Modp2048),
        "modp3072" => Token::KeyExchange(K::Modp3072),
        "modp4096" => Token::KeyExchange(K::Modp4096),
        "modp6144" => Token::KeyExchange(K::Modp6144),
        "modp8192" => Token::KeyExchange(K::Modp8192),
        "ecp192" => Token::KeyExchange(K::Ecp192),
        "ecp224" => Token::KeyExchange(K::Ecp224),
        "ecp256" => Token::KeyExchange(K::Ecp256),
        "ecp384" => Token::KeyExchange(K::Ecp384),
        "ecp521" => Token::KeyExchange(K::Ecp521),
        "modp1024s160" => Token::KeyExchange(K::Modp1024S160),
        "modp2048s224" => Token::KeyExchange(K::Modp2048S224),
        "modp2048s256" => Token::KeyExchange(K::Modp2048S256),
        "ecp224bp" => Token::KeyExchange(K::Ecp224Bp),
        "ecp256bp" => Token::KeyExchange(K::Ecp256Bp),
        "ecp384bp" => Token::KeyExchange(K::Ecp384Bp),
        "ecp512bp" => Token::KeyExchange(K::Ecp512Bp),
        "curve25519" | "x25519" => Token::KeyExchange(K::Curve25519),
        "curve448" | "x448" => Token::KeyExchange(K::Curve448),
        "gost256" => Token::KeyExchange(K::Gost3410_256),
        "gost512" => Token::KeyExchange(K::Gost3410_512),
        "mlkem512" => Token::KeyExchange(K::MlKem512),
        "mlkem768" => Token::KeyExchange(K::MlKem768),
        "mlkem1024" => Token::KeyExchange(K::MlKem1024),
        "noesn" => Token::Esn(Esn::No),
        "esn" => Token::Esn(Esn::Yes),
        _ => return None,
    };
    Some(token)
}

/// Parses the AES and Camellia keyword families: `aes`, `aes192`, `aes256ctr`,
/// `aes128gcm16` (ICV in octets), `aes128gcm128` (ICV in bits), `aes256gmac`,
/// `camellia256ccm12` and so on. A bare `aes128gcm`/`aes128ccm` means a 16-octet ICV.
fn sized_cipher(word: &str) -> Option<Token> {
    use EncryptionAlgorithm as E;

    let (rest, camellia) = if let Some(r) = word.strip_prefix("camellia") {
        (r, true)
    } else if let Some(r) = word.strip_prefix("aes") {
        (r, false)
    } else {
        return None;
    };
    // Integrity keywords that start with "aes" are handled by the main table.
    if rest == "xcbc" || rest == "cmac" {
        return None;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (bits_text, mode) = rest.split_at(digits);
    let bits: u16 = match bits_text {
        "" => 128,
        "128" => 128,
        "192" => 192,
        "256" => 256,
        _ => return None,
    };
    // A plain "aes"/"camellia" only exists without a mode suffix.
    if bits_text.is_empty() && !mode.is_empty() {
        return None;
    }
    let icv = |m: &str, prefix: &str| -> Option<u8> {
        match m.strip_prefix(prefix)? {
            "8" | "64" => Some(8),
            "12" | "96" => Some(12),
            "16" | "128" | "" => Some(16),
            _ => None,
        }
    };
    let algorithm = match mode {
        "" => {
            if camellia {
                E::CamelliaCbc
            } else {
                E::AesCbc
            }
        }
        "ctr" => {
            if camellia {
                E::CamelliaCtr
            } else {
                E::AesCtr
            }
        }
        "gmac" if !camellia => E::NullAuthAesGmac,
        m if m.starts_with("ccm") => match (icv(m, "ccm")?, camellia) {
            (8, false) => E::AesCcm8,
            (12, false) => E::AesCcm12,
            (_, false) => E::AesCcm16,
            (8, true) => E::CamelliaCcm8,
            (12, true) => E::CamelliaCcm12,
            (_, true) => E::CamelliaCcm16,
        },
        // strongSwan has no Camellia-GCM.
        m if m.starts_with("gcm") && !camellia => match icv(m, "gcm")? {
            8 => E::AesGcm8,
            12 => E::AesGcm12,
            _ => E::AesGcm16,
        },
        _ => return None,
    };
    // Camellia CCM without an explicit ICV size is not a strongSwan keyword.
    if camellia && mode == "ccm" {
        return None;
    }
    Some(enc(algorithm, bits))
}

/// Every keyword [`keyword`] accepts or refuses, for "did you mean" suggestions.
pub(crate) fn all_keywords() -> impl Iterator<Item = String> {
    const PLAIN: &[&str] = &[
        "null",
        "3des",
        "chacha20poly1305",
        "sha1",
        "sha1_160",
        "sha256",
        "sha384",
        "sha512",
        "aesxcbc",
        "aescmac",
        "prfsha1",
        "prfsha256",
        "prfsha384",
        "prfsha512",
        "prfaesxcbc",
        "prfaescmac",
        "none",
        "modp1024",
        "modp1536",
        "modp2048",
        "modp3072",
        "modp4096",
        "modp6144",
        "modp8192",
        "ecp192",
        "ecp224",
        "ecp256",
        "ecp384",
        "ecp521",
        "modp1024s160",
        "modp2048s224",
        "modp2048s256",
        "ecp224bp",
        "ecp256bp",
        "ecp384bp",
        "ecp512bp",
        "curve25519",
        "x25519",
        "curve448",
        "x448",
        "gost256",
        "gost512",
        "mlkem512",
        "mlkem768",
        "mlkem1024",
        "noesn",
        "esn",
    ];
    let sized = ["aes", "camellia"].into_iter().flat_map(|c| {
        ["128", "192", "256"].into_iter().flat_map(move |b| {
            [
                "", "ctr", "gcm16", "gcm12", "gcm8", "ccm16", "ccm12", "ccm8", "gmac",
            ]
            .into_iter()
            .filter(move |m| c == "aes" || !(m.starts_with("gcm") || *m == "gmac"))
            .map(move |m| format!("{c}{b}{m}"))
        })
    });
    PLAIN.iter().map(|s| (*s).to_string()).chain(sized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_of(word: &str) -> Encryption {
        match keyword(word) {
            Some(Token::Encryption(e)) => e,
            other => panic!("{word}: {other:?}"),
        }
    }

    #[test]
    fn aes_family() {
        use EncryptionAlgorithm as E;
        assert_eq!(
            enc_of("aes"),
            Encryption {
                algorithm: E::AesCbc,
                key_bits: Some(128)
            }
        );
        assert_eq!(
            enc_of("aes256"),
            Encryption {
                algorithm: E::AesCbc,
                key_bits: Some(256)
            }
        );
        assert_eq!(enc_of("aes192ctr").algorithm, E::AesCtr);
        assert_eq!(
            enc_of("aes256gcm16"),
            Encryption {
                algorithm: E::AesGcm16,
                key_bits: Some(256)
            }
        );
        assert_eq!(enc_of("aes256gcm128").algorithm, E::AesGcm16);
        assert_eq!(enc_of("aes128gcm").algorithm, E::AesGcm16);
        assert_eq!(enc_of("aes128gcm8").algorithm, E::AesGcm8);
        assert_eq!(enc_of("aes128gcm64").algorithm, E::AesGcm8);
        assert_eq!(enc_of("aes192gcm96").algorithm, E::AesGcm12);
        assert_eq!(enc_of("aes128ccm12").algorithm, E::AesCcm12);
        assert_eq!(enc_of("aes256gmac").algorithm, E::NullAuthAesGmac);
        assert_eq!(enc_of("camellia").algorithm, E::CamelliaCbc);
        assert_eq!(enc_of("camellia256ccm16").algorithm, E::CamelliaCcm16);
        assert_eq!(enc_of("chacha20poly1305").key_bits, None);
        for bad in [
            "aes512",
            "aesgcm16",
            "aes128gcm10",
            "camellia128gcm16",
            "aes128foo",
        ] {
            assert_eq!(keyword(bad), None, "{bad}");
        }
    }

    #[test]
    fn iana_numbers() {
        assert_eq!(EncryptionAlgorithm::AesGcm16.iana(), 20);
        assert_eq!(EncryptionAlgorithm::Chacha20Poly1305.iana(), 28);
        assert_eq!(Prf::HmacSha2_384.iana(), 6);
        assert_eq!(Integrity::HmacSha2_256_128.iana(), 12);
        assert_eq!(KeyExchange::Ecp384.iana(), 20);
        assert_eq!(KeyExchange::Curve25519.iana(), 31);
        assert_eq!(KeyExchange::MlKem768.iana(), 36);
        assert_eq!(KeyExchange::Modp2048.iana(), 14);
        assert_eq!(Esn::Yes.iana(), 1);
    }

    #[test]
    fn every_listed_keyword_is_recognised() {
        for word in all_keywords() {
            assert!(keyword(&word).is_some(), "{word}");
        }
    }
}

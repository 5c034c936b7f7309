//! Transform types, the Transform IDs of each type, and transform attribute types.

registry! {
    /// Transform Type Values (RFC 7296 §3.3.2, RFC 9370 §2.2.1).
    pub struct TransformType(u8);
    /// Encryption Algorithm.
    ENCR = 1,
    /// Pseudorandom Function.
    PRF = 2,
    /// Integrity Algorithm.
    INTEG = 3,
    /// Key Exchange Method (formerly Diffie-Hellman group).
    KE = 4,
    /// Extended Sequence Numbers.
    ESN = 5,
    /// Additional Key Exchange 1 (RFC 9370).
    ADDKE1 = 6,
    ADDKE2 = 7,
    ADDKE3 = 8,
    ADDKE4 = 9,
    ADDKE5 = 10,
    ADDKE6 = 11,
    ADDKE7 = 12,
}

impl TransformType {
    /// Whether Transform IDs of this type are Key Exchange Method IDs ([`KeMethod`]): the
    /// KE type and the seven additional key exchanges of RFC 9370.
    pub const fn is_key_exchange(self) -> bool {
        matches!(self.0, 4 | 6..=12)
    }
}

registry! {
    /// Transform Type 1 - Encryption Algorithm Transform IDs.
    pub struct EncrId(u16);
    ENCR_DES_IV64 = 1,
    ENCR_DES = 2,
    ENCR_3DES = 3,
    ENCR_RC5 = 4,
    ENCR_IDEA = 5,
    ENCR_CAST = 6,
    ENCR_BLOWFISH = 7,
    ENCR_3IDEA = 8,
    ENCR_DES_IV32 = 9,
    ENCR_NULL = 11,
    /// RFC 3602.
    ENCR_AES_CBC = 12,
    /// RFC 3686.
    ENCR_AES_CTR = 13,
    /// RFC 4309, RFC 5282.
    ENCR_AES_CCM_8 = 14,
    ENCR_AES_CCM_12 = 15,
    ENCR_AES_CCM_16 = 16,
    /// RFC 4106, RFC 5282.
    ENCR_AES_GCM_8 = 18,
    ENCR_AES_GCM_12 = 19,
    ENCR_AES_GCM_16 = 20,
    /// RFC 4543.
    ENCR_NULL_AUTH_AES_GMAC = 21,
    /// RFC 5529.
    ENCR_CAMELLIA_CBC = 23,
    ENCR_CAMELLIA_CTR = 24,
    ENCR_CAMELLIA_CCM_8_ICV = 25,
    ENCR_CAMELLIA_CCM_12_ICV = 26,
    ENCR_CAMELLIA_CCM_16_ICV = 27,
    /// RFC 7634.
    ENCR_CHACHA20_POLY1305 = 28,
    /// RFC 8750.
    ENCR_AES_CCM_8_IIV = 29,
    ENCR_AES_GCM_16_IIV = 30,
    ENCR_CHACHA20_POLY1305_IIV = 31,
}

registry! {
    /// Transform Type 2 - Pseudorandom Function Transform IDs.
    pub struct PrfId(u16);
    PRF_HMAC_MD5 = 1,
    PRF_HMAC_SHA1 = 2,
    PRF_HMAC_TIGER = 3,
    /// RFC 4434.
    PRF_AES128_XCBC = 4,
    /// RFC 4868.
    PRF_HMAC_SHA2_256 = 5,
    PRF_HMAC_SHA2_384 = 6,
    PRF_HMAC_SHA2_512 = 7,
    /// RFC 4615.
    PRF_AES128_CMAC = 8,
    /// RFC 9385.
    PRF_HMAC_STREEBOG_512 = 9,
}

registry! {
    /// Transform Type 3 - Integrity Algorithm Transform IDs.
    pub struct IntegId(u16);
    NONE = 0,
    AUTH_HMAC_MD5_96 = 1,
    AUTH_HMAC_SHA1_96 = 2,
    AUTH_DES_MAC = 3,
    AUTH_KPDK_MD5 = 4,
    AUTH_AES_XCBC_96 = 5,
    AUTH_HMAC_MD5_128 = 6,
    AUTH_HMAC_SHA1_160 = 7,
    AUTH_AES_CMAC_96 = 8,
    AUTH_AES_128_GMAC = 9,
    AUTH_AES_192_GMAC = 10,
    AUTH_AES_256_GMAC = 11,
    /// RFC 4868.
    AUTH_HMAC_SHA2_256_128 = 12,
    AUTH_HMAC_SHA2_384_192 = 13,
    AUTH_HMAC_SHA2_512_256 = 14,
}

registry! {
    /// Transform Type 4 - Key Exchange Method Transform IDs (RFC 9370 renamed the
    /// Diffie-Hellman Group Transform IDs); also used by the ADDKE types and by the KE
    /// payload and INVALID_KE_PAYLOAD.
    pub struct KeMethod(u16);
    NONE = 0,
    MODP_768 = 1,
    MODP_1024 = 2,
    MODP_1536 = 5,
    /// RFC 3526.
    MODP_2048 = 14,
    MODP_3072 = 15,
    MODP_4096 = 16,
    MODP_6144 = 17,
    MODP_8192 = 18,
    /// RFC 5903.
    ECP_256 = 19,
    ECP_384 = 20,
    ECP_521 = 21,
    /// RFC 5114.
    MODP_1024_160 = 22,
    MODP_2048_224 = 23,
    MODP_2048_256 = 24,
    ECP_192 = 25,
    ECP_224 = 26,
    /// RFC 6954.
    BRAINPOOLP224R1 = 27,
    BRAINPOOLP256R1 = 28,
    BRAINPOOLP384R1 = 29,
    BRAINPOOLP512R1 = 30,
    /// RFC 8031.
    CURVE25519 = 31,
    CURVE448 = 32,
    /// RFC 9385.
    GOST3410_2012_256 = 33,
    GOST3410_2012_512 = 34,
    /// ML-KEM (draft-ietf-ipsecme-ikev2-mlkem, used with RFC 9370).
    ML_KEM_512 = 35,
    ML_KEM_768 = 36,
    ML_KEM_1024 = 37,
}

registry! {
    /// Transform Type 5 - Extended Sequence Numbers Transform IDs.
    pub struct EsnId(u16);
    NO_ESN = 0,
    ESN = 1,
}

registry! {
    /// IKEv2 Transform Attribute Types (RFC 7296 §3.3.5).
    pub struct TransformAttributeType(u16);
    /// Key Length in bits, always TV format.
    KEY_LENGTH = 14,
}

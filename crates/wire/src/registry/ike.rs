//! Exchange and payload types, protocol ids and the registries used inside payloads.

registry! {
    /// IKEv2 Exchange Types (RFC 7296 §3.1).
    pub struct ExchangeType(u8);
    IKE_SA_INIT = 34,
    IKE_AUTH = 35,
    CREATE_CHILD_SA = 36,
    INFORMATIONAL = 37,
    /// RFC 5723.
    IKE_SESSION_RESUME = 38,
    /// RFC 9242.
    IKE_INTERMEDIATE = 43,
    /// RFC 9370.
    IKE_FOLLOWUP_KE = 44,
}

registry! {
    /// IKEv2 Payload Types (RFC 7296 §3.2), named by their RFC notation.
    pub struct PayloadType(u8);
    /// No Next Payload.
    NONE = 0,
    /// Security Association.
    SA = 33,
    /// Key Exchange.
    KE = 34,
    /// Identification - Initiator.
    IDI = 35,
    /// Identification - Responder.
    IDR = 36,
    /// Certificate.
    CERT = 37,
    /// Certificate Request.
    CERTREQ = 38,
    /// Authentication.
    AUTH = 39,
    /// Nonce (Ni, Nr).
    NONCE = 40,
    /// Notify.
    NOTIFY = 41,
    /// Delete.
    DELETE = 42,
    /// Vendor ID.
    VENDOR_ID = 43,
    /// Traffic Selector - Initiator.
    TSI = 44,
    /// Traffic Selector - Responder.
    TSR = 45,
    /// Encrypted and Authenticated.
    SK = 46,
    /// Configuration.
    CP = 47,
    /// Extensible Authentication.
    EAP = 48,
    /// Generic Secure Password Methods (RFC 6467); not parsed here.
    GSPM = 49,
    /// Group Identification (G-IKEv2); not parsed here.
    IDG = 50,
    /// Group Security Association (G-IKEv2); not parsed here.
    GSA = 51,
    /// Key Download (G-IKEv2); not parsed here.
    KD = 52,
    /// Encrypted and Authenticated Fragment (RFC 7383).
    SKF = 53,
    /// Puzzle Solution (RFC 8019); not parsed here.
    PS = 54,
}

registry! {
    /// Security Protocol Identifiers (RFC 7296 §3.3.1).
    pub struct ProtocolId(u8);
    /// No protocol: the value a Notify without SPI carries.
    NONE = 0,
    IKE = 1,
    AH = 2,
    ESP = 3,
}

registry! {
    /// IKEv2 Identification Payload ID Types (RFC 7296 §3.5).
    pub struct IdType(u8);
    ID_IPV4_ADDR = 1,
    ID_FQDN = 2,
    ID_RFC822_ADDR = 3,
    ID_IPV6_ADDR = 5,
    ID_DER_ASN1_DN = 9,
    ID_DER_ASN1_GN = 10,
    ID_KEY_ID = 11,
    /// RFC 4595.
    ID_FC_NAME = 12,
    /// RFC 7619.
    ID_NULL = 13,
}

registry! {
    /// IKEv2 Certificate Encodings (RFC 7296 §3.6).
    pub struct CertEncoding(u8);
    PKCS7_WRAPPED_X509 = 1,
    PGP_CERTIFICATE = 2,
    DNS_SIGNED_KEY = 3,
    X509_CERTIFICATE_SIGNATURE = 4,
    KERBEROS_TOKEN = 6,
    CERTIFICATE_REVOCATION_LIST = 7,
    AUTHORITY_REVOCATION_LIST = 8,
    SPKI_CERTIFICATE = 9,
    X509_CERTIFICATE_ATTRIBUTE = 10,
    RAW_RSA_KEY = 11,
    HASH_AND_URL_X509_CERTIFICATE = 12,
    HASH_AND_URL_X509_BUNDLE = 13,
    /// RFC 4806.
    OCSP_CONTENT = 14,
    /// RFC 7670.
    RAW_PUBLIC_KEY = 15,
}

registry! {
    /// IKEv2 Authentication Methods (RFC 7296 §3.8, RFC 7427).
    pub struct AuthMethod(u8);
    RSA_DIGITAL_SIGNATURE = 1,
    SHARED_KEY_MESSAGE_INTEGRITY_CODE = 2,
    DSS_DIGITAL_SIGNATURE = 3,
    /// RFC 4754.
    ECDSA_SHA256_P256 = 9,
    /// RFC 4754.
    ECDSA_SHA384_P384 = 10,
    /// RFC 4754.
    ECDSA_SHA512_P521 = 11,
    /// RFC 6467.
    GENERIC_SECURE_PASSWORD = 12,
    /// RFC 7619.
    NULL_AUTHENTICATION = 13,
    /// RFC 7427.
    DIGITAL_SIGNATURE = 14,
}

registry! {
    /// IKEv2 Traffic Selector Types (RFC 7296 §3.13.1).
    pub struct TsType(u8);
    TS_IPV4_ADDR_RANGE = 7,
    TS_IPV6_ADDR_RANGE = 8,
    /// RFC 4595.
    TS_FC_ADDR_RANGE = 9,
    /// RFC 9478.
    TS_SECLABEL = 10,
}

registry! {
    /// IKEv2 Hash Algorithms (RFC 7427 §7).
    pub struct HashAlgorithm(u16);
    SHA1 = 1,
    SHA2_256 = 2,
    SHA2_384 = 3,
    SHA2_512 = 4,
    /// RFC 8420.
    IDENTITY = 5,
    /// RFC 9385.
    STREEBOG_256 = 6,
    /// RFC 9385.
    STREEBOG_512 = 7,
}

registry! {
    /// EAP Codes (RFC 3748 §4, RFC 6696).
    pub struct EapCode(u8);
    REQUEST = 1,
    RESPONSE = 2,
    SUCCESS = 3,
    FAILURE = 4,
    INITIATE = 5,
    FINISH = 6,
}

registry! {
    /// EAP method types (RFC 3748 §5), the few a remote-access client meets.
    pub struct EapType(u8);
    IDENTITY = 1,
    NOTIFICATION = 2,
    NAK = 3,
    MD5_CHALLENGE = 4,
    GTC = 6,
    TLS = 13,
    TTLS = 21,
    PEAP = 25,
    MSCHAP_V2 = 26,
    EXPANDED = 254,
}

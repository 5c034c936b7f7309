//! Configuration payload types and attribute types (RFC 7296 §3.15, RFC 8598).

registry! {
    /// IKEv2 Configuration Payload CFG Types (RFC 7296 §3.15).
    pub struct ConfigType(u8);
    CFG_REQUEST = 1,
    CFG_REPLY = 2,
    CFG_SET = 3,
    CFG_ACK = 4,
}

registry! {
    /// IKEv2 Configuration Payload Attribute Types (RFC 7296 §3.15.1 and later RFCs).
    pub struct ConfigAttributeType(u16);
    INTERNAL_IP4_ADDRESS = 1,
    INTERNAL_IP4_NETMASK = 2,
    INTERNAL_IP4_DNS = 3,
    INTERNAL_IP4_NBNS = 4,
    INTERNAL_IP4_DHCP = 6,
    APPLICATION_VERSION = 7,
    INTERNAL_IP6_ADDRESS = 8,
    INTERNAL_IP6_DNS = 10,
    INTERNAL_IP6_DHCP = 12,
    INTERNAL_IP4_SUBNET = 13,
    SUPPORTED_ATTRIBUTES = 14,
    INTERNAL_IP6_SUBNET = 15,
    /// RFC 5026.
    MIP6_HOME_PREFIX = 16,
    /// RFC 5739.
    INTERNAL_IP6_LINK = 17,
    INTERNAL_IP6_PREFIX = 18,
    /// RFC 5555.
    HOME_AGENT_ADDRESS = 19,
    /// RFC 7651.
    P_CSCF_IP4_ADDRESS = 20,
    P_CSCF_IP6_ADDRESS = 21,
    FTT_KAT = 22,
    EXTERNAL_SOURCE_IP4_NAT_INFO = 23,
    TIMEOUT_PERIOD_FOR_LIVENESS_CHECK = 24,
    /// RFC 8598.
    INTERNAL_DNS_DOMAIN = 25,
    /// RFC 8598.
    INTERNAL_DNSSEC_TA = 26,
}

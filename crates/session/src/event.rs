//! What a session reports to its driver, and the options it runs with.

use std::time::Duration;

use corridor_crypto::DhGroup;
use corridor_esp::{EspError, Lifetime};
use corridor_ike::{AssignedConfig, EspSuite, Identity, IkeSuite, KeyMaterial, NatStatus};
use corridor_wire::payload::IpRange;

/// Settings of the session itself (IKE settings live in [`corridor_ike::IkeConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// How long the session may stay silent towards the gateway before it sends a
    /// NAT-keepalive, when a NAT was detected. RFC 3948 §4 suggests 20 seconds.
    pub nat_keepalive_interval: Duration,
    /// The path MTU towards the gateway, for [`ConnectionInfo::inner_mtu`].
    pub path_mtu: usize,
    /// Rekey (soft) and expiry (hard) limits of the Child SA, both directions. The
    /// session rekeys at the soft limit (less a random share of up to 10% of the soft
    /// age), and each new Child SA starts its own lifetimes.
    pub esp_lifetime: Lifetime,
    /// How long after it is set up (or rekeyed) the IKE SA is rekeyed (RFC 7296
    /// §2.18); `None`: only when the gateway asks.
    pub ike_rekey_interval: Option<Duration>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            nat_keepalive_interval: Duration::from_secs(20),
            path_mtu: 1500,
            esp_lifetime: Lifetime::default(),
            ike_rekey_interval: None,
        }
    }
}

/// What the platform layer needs once the tunnel is up. Holds no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Addresses, DNS servers and domains the gateway assigned.
    pub assigned: AssignedConfig,
    /// The networks reachable through the tunnel: the gateway's traffic selectors as it
    /// narrowed them (TSr). These are the routes to install.
    pub routes: Vec<IpRange>,
    /// Our side of the traffic selectors (TSi), normally the assigned address.
    pub local_traffic_selectors: Vec<IpRange>,
    /// The negotiated IKE suite.
    pub ike_suite: IkeSuite,
    /// The negotiated ESP transform.
    pub esp_suite: EspSuite,
    /// The identity the gateway proved.
    pub gateway_identity: Identity,
    /// What NAT detection found.
    pub nat: NatStatus,
    /// The gateway port in use (4500: ESP in UDP).
    pub remote_port: u16,
    /// SPI of the ESP packets we receive.
    pub inbound_spi: u32,
    /// SPI of the ESP packets we send.
    pub outbound_spi: u32,
    /// The largest inner packet that fits the path MTU after the outer IP and UDP
    /// headers and the ESP overhead: the TUN device's MTU.
    pub inner_mtu: usize,
}

/// Why the Child SA should be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RekeyReason {
    /// A soft byte, packet or age lifetime, or the sequence number soft limit
    /// ([`corridor_esp::SEQUENCE_SOFT_MARGIN`]).
    SoftLifetime,
}

/// Why a session ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// [`crate::Session::disconnect`] was called.
    Requested,
    /// The gateway deleted the IKE SA.
    ByGateway,
    /// The gateway deleted the Child SA; without a Child SA there is no tunnel, so the
    /// session closed the IKE SA too.
    ChildSaDeleted,
    /// The gateway stopped answering: a liveness check (or another request) went
    /// unanswered through all retransmissions (RFC 7296 §2.4). A driver may reconnect.
    PeerDead,
}

/// A Child SA replaced by a rekey, for status displays. Holds no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRekeyInfo {
    /// The new Child SA's ESP transform (its `Display` is the suite string, e.g.
    /// `aes256gcm16-noesn`).
    pub esp_suite: EspSuite,
    /// The PFS group of the rekey, if any.
    pub pfs_group: Option<DhGroup>,
    /// SPI of the ESP packets we receive on the new Child SA.
    pub inbound_spi: u32,
    /// SPI of the ESP packets we send on it.
    pub outbound_spi: u32,
    /// Our inbound SPI of the Child SA it replaces.
    pub old_inbound_spi: u32,
    /// Our outbound SPI of the Child SA it replaces.
    pub old_outbound_spi: u32,
    /// Whether the gateway started the rekey.
    pub by_gateway: bool,
}

/// An IKE SA replaced by a rekey, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeRekeyInfo {
    /// The new IKE suite.
    pub ike_suite: IkeSuite,
    /// Our new IKE SPI.
    pub spi_local: u64,
    /// The gateway's new IKE SPI.
    pub spi_remote: u64,
    /// Whether the gateway started the rekey.
    pub by_gateway: bool,
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The IKE SA failed.
    #[error(transparent)]
    Ike(#[from] corridor_ike::Error),
    /// The negotiated Child SA cannot be set up for ESP.
    #[error("cannot set up the ESP Child SA: {0}")]
    Esp(#[from] EspError),
    /// The gateway is reachable without NAT and UDP encapsulation was not forced, so it
    /// expects plain ESP (IP protocol 50), which this data plane does not speak.
    #[error(
        "ESP would travel without UDP encapsulation; set force_udp_encapsulation in the IKE configuration"
    )]
    NotEncapsulated,
}

/// Something the driver must know about.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The tunnel is up: configure the TUN device and routes from this.
    Connected(Box<ConnectionInfo>),
    /// Keys were derived; log them only if the user asked for it.
    KeyMaterial(KeyMaterial),
    /// The Child SA reached a soft limit. No longer emitted: the session now rekeys
    /// the Child SA by itself and reports [`SessionEvent::ChildSaRekeyed`].
    RekeyNeeded(RekeyReason),
    /// A Child SA was rekeyed: traffic moved (or moves, once the gateway deletes the
    /// old one) to the new SPIs without losing packets.
    ChildSaRekeyed(Box<ChildRekeyInfo>),
    /// The IKE SA was rekeyed; the Child SAs carry on.
    IkeSaRekeyed(Box<IkeRekeyInfo>),
    /// The Child SA reached a hard limit: data is dropped from now on.
    ChildSaExpired,
    /// The session ended cleanly.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// The session failed and is closed.
    Failed(SessionError),
}

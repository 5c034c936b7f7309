//! What a session reports to its driver, and the options it runs with.

use std::time::Duration;

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
    /// Rekey (soft) and expiry (hard) limits of the Child SA, both directions.
    pub esp_lifetime: Lifetime,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            nat_keepalive_interval: Duration::from_secs(20),
            path_mtu: 1500,
            esp_lifetime: Lifetime::default(),
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
    /// The Child SA reached a soft limit. Rekeying is not implemented yet: a driver
    /// may reconnect before the hard limit.
    RekeyNeeded(RekeyReason),
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

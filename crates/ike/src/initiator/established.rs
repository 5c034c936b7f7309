//! What the initiator reports: events, and the description of an established IKE SA
//! with its Child SA.

use corridor_crypto::ChildSaKeys;
use corridor_wire::payload::IpRange;

use crate::Error;
use crate::config_payload::AssignedConfig;
use crate::identity::Identity;
use crate::keys::{ChildKeyMaterial, IkeKeyMaterial};
use crate::nat::NatStatus;
use crate::proposal::{EspSuite, IkeSuite};

/// Something the driver must know about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Keys were derived. Emitted for consumers that log keys on purpose (for packet
    /// analysis); ignoring it is always safe.
    KeyMaterial(KeyMaterial),
    /// The IKE SA and its first Child SA are up.
    Established(Box<Established>),
    /// The gateway deleted the Child SA; the IKE SA lives on.
    ChildSaDeleted {
        /// Our inbound SPI of the deleted Child SA.
        inbound_spi: u32,
        /// Our outbound SPI of it.
        outbound_spi: u32,
    },
    /// Setting up or running the IKE SA failed; the initiator is closed.
    Failed(Error),
    /// The IKE SA was deleted; the initiator is closed.
    Closed {
        /// Whether the gateway deleted it (otherwise we did, on `disconnect`).
        by_gateway: bool,
    },
}

/// Key material for logging.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// The IKE SA's SK_e and SK_a keys.
    Ike(IkeKeyMaterial),
    /// A Child SA's keys.
    Child(ChildKeyMaterial),
}

/// An established IKE SA with its Child SA: everything the data plane and the platform
/// layer need.
#[derive(Debug, Clone)]
pub struct Established {
    /// Our IKE SPI.
    pub spi_i: u64,
    /// The gateway's IKE SPI.
    pub spi_r: u64,
    /// The negotiated IKE suite.
    pub ike_suite: IkeSuite,
    /// The negotiated ESP transform.
    pub esp_suite: EspSuite,
    /// The identity the gateway proved.
    pub gateway_identity: Identity,
    /// Addresses, DNS servers and domains the gateway assigned.
    pub assigned: AssignedConfig,
    /// Our side of the Child SA's traffic selectors, as narrowed by the gateway.
    pub local_traffic_selectors: Vec<IpRange>,
    /// The gateway's side (the networks reachable through the tunnel).
    pub remote_traffic_selectors: Vec<IpRange>,
    /// SPI of ESP packets we receive.
    pub inbound_spi: u32,
    /// SPI of ESP packets we send.
    pub outbound_spi: u32,
    /// The Child SA's keys (`Debug` prints `***`).
    pub child_keys: ChildSaKeys,
    /// What NAT detection found.
    pub nat: NatStatus,
    /// ESP must be UDP-encapsulated on port 4500 (RFC 3948).
    pub udp_encapsulation: bool,
    /// The gateway's port in use for IKE (and ESP-in-UDP): 500 or 4500.
    pub remote_port: u16,
    /// The gateway supports IKE fragmentation.
    pub fragmentation: bool,
}

/// The established stage: the Child SA it knows about.
#[derive(Debug)]
pub(crate) struct EstablishedSa {
    pub(crate) inbound_spi: u32,
    pub(crate) outbound_spi: u32,
    pub(crate) child_alive: bool,
}

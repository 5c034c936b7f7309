//! Corridor's tunnel layer: runs the sans-IO protocol crates over real sockets and
//! clocks (tokio), and turns a stored profile into their configuration.
//!
//! - [`profile_config`]: a [`corridor_model::Profile`] and the secrets asked for at
//!   connection time become an [`corridor_ike::IkeConfig`];
//! - [`ike_driver`]: resolves the gateway, opens the UDP sockets and drives an
//!   [`corridor_ike::Initiator`] until the IKE SA is up, then keeps or deletes it;
//! - [`session_driver`]: runs a whole [`corridor_session::Session`] (IKE SA and ESP
//!   Child SA) over the sockets, exchanging inner packets with a packet device;
//! - [`packet_device`]: what such a device offers (batched reads and writes), and a
//!   channel-backed one for tests;
//! - [`keylog`]: opt-in key logging in Wireshark's formats, for packet analysis.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod dn;
pub mod ike_driver;
pub mod keylog;
pub mod packet_device;
pub mod profile_config;
pub mod session_driver;
mod udp_batch;

pub use ike_driver::{DriverError, IkeDriver, Progress, Stats};
pub use keylog::KeyLog;
pub use packet_device::{DeviceChannels, PacketDevice};
pub use profile_config::{ConfigError, ConnectSecrets, ike_config};
pub use session_driver::{DriverStats, SessionDriver, SessionEnd};

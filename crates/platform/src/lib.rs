//! The OS-facing layer of the Corridor tunnel: the TUN device that carries inner IP
//! packets, the routes that steer traffic into it, and a crash-safe journal of every
//! change so that a restart after `kill -9` puts the host back as it was.
//!
//! Each OS-facing piece is a trait ([`Tun`], [`NetworkOs`]) with one module per OS,
//! chosen at compile time; [`Platform`] adds the journal on top and is the same on
//! every OS. Linux is implemented; other systems build and answer
//! [`Error::Unsupported`].

#![deny(clippy::unwrap_used)]

pub mod dns;
mod error;
pub mod journal;
mod types;

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod imp;
#[cfg(not(target_os = "linux"))]
#[path = "unsupported.rs"]
mod imp;

mod platform;

pub use dns::DnsConfig;
pub use error::{Error, Result};
pub use imp::{OsNetwork, TunDevice};
pub use journal::{Change, Journal};
pub use platform::Platform;
pub use types::{
    Family, IpNet, MAIN_TABLE, Route, RouteKind, TunCapabilities, TunConfig, check_ifname,
    split_default_routes,
};

use std::future::Future;

/// A layer-3 virtual interface: every read and write is one IP packet.
pub trait Tun: Send + Sync + std::fmt::Debug {
    /// Interface name.
    fn name(&self) -> &str;
    /// What the device offers beyond plain packets.
    fn capabilities(&self) -> TunCapabilities;
    /// Waits for the next packet the host routed into the tunnel; returns its length.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = Result<usize>> + Send;
    /// Hands one decrypted inner packet to the host stack.
    fn send(&self, packet: &[u8]) -> impl Future<Output = Result<usize>> + Send;
}

/// The host's network configuration, per OS. Removal operations are idempotent:
/// they answer `Ok(false)` when there was nothing to remove, which is what makes
/// journal replay after a crash safe.
pub trait NetworkOs: Send + Sync {
    /// The TUN device type of this OS.
    type Tun: Tun;
    /// Creates the interface `name` with `mtu` and brings it up (no addresses yet).
    fn create_tun(&self, name: &str, mtu: u16) -> impl Future<Output = Result<Self::Tun>> + Send;
    /// Deletes the interface `name`; `Ok(false)` if it does not exist.
    fn delete_link(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Assigns `net` to `device`.
    fn add_address(&self, device: &str, net: IpNet) -> impl Future<Output = Result<()>> + Send;
    /// Removes `net` from `device`; `Ok(false)` if absent (or the device is gone).
    fn remove_address(&self, device: &str, net: IpNet)
    -> impl Future<Output = Result<bool>> + Send;
    /// Adds `route`.
    fn add_route(&self, route: &Route) -> impl Future<Output = Result<()>> + Send;
    /// Removes `route`; `Ok(false)` if absent (or its device is gone).
    fn remove_route(&self, route: &Route) -> impl Future<Output = Result<bool>> + Send;
    /// Unicast routes of `family` in `table`.
    fn list_routes(
        &self,
        family: Family,
        table: u32,
    ) -> impl Future<Output = Result<Vec<Route>>> + Send;
}

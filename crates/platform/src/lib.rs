//! The OS-facing layer of the Corridor tunnel: the TUN device that carries inner IP
//! packets, the routes that steer traffic into it, and a crash-safe journal of every
//! change so that a restart after `kill -9` puts the host back as it was.
//!
//! Each OS-facing piece is a trait ([`Tun`], [`NetworkOs`]) with one module per OS,
//! chosen at compile time; [`Platform`] adds the journal on top and is the same on
//! every OS. Linux, Windows and macOS are implemented; other systems build and answer
//! [`Error::Unsupported`].
//!
//! The kill switch ([`KillSwitch`], [`Platform::block_outside_tunnel`]) is a policy
//! value turned into unreachable routes on Linux, WFP filters on Windows
//! ([`wfp_rules`]) and a pf anchor on macOS ([`pf_rules`]); the rules are computed
//! by pure functions tested on every OS.

#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod awake;
pub mod dns;
// The macOS dictionaries, routing-socket requests and utun names are plain data, so
// they are built (and tested) everywhere the tests run.
#[cfg(any(target_os = "macos", test))]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod dynstore;
mod error;
pub mod journal;
pub mod killswitch;
pub mod nrpt;
pub mod pf_rules;
pub mod private_file;
mod route_events;
mod socket_buffers;
#[cfg(any(target_os = "linux", test))]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod tun_coalesce;
mod types;
pub mod wfp_rules;
pub mod wintun_pin;

#[cfg(target_os = "macos")]
mod pf;
#[cfg(windows)]
mod wfp;

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod imp;
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
#[path = "unsupported.rs"]
mod imp;
#[cfg(target_os = "macos")]
mod macos_dns;
#[cfg(any(target_os = "macos", test))]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod route_map;
#[cfg(any(target_os = "macos", test))]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod utun;

mod platform;
#[cfg(target_os = "linux")]
pub mod resolved;

pub use awake::awake_time;
pub use dns::{DnsBackend, DnsConfig, DnsMode};
pub use error::{Error, Result};
pub use imp::{OsNetwork, TunDevice};
pub use journal::{Change, Journal};
pub use killswitch::KillSwitch;
pub use platform::{KillSwitchBackend, Platform};
pub use route_events::RouteEvents;
pub use socket_buffers::{SocketBuffers, TUNNEL_SOCKET_BUFFER, enlarge_socket_buffers};
pub use types::{
    Family, IpNet, MAIN_TABLE, Route, RouteKind, TunCapabilities, TunConfig, check_ifname,
    split_default_routes,
};

use std::future::Future;
use std::ops::Range;

/// The TUN interface name callers use unless told otherwise. macOS names utun
/// interfaces itself, so there it means "the next free utun" (see `utun.rs`); the
/// device's real name is [`Tun::name`].
#[cfg(target_os = "macos")]
pub const DEFAULT_TUN_NAME: &str = "utun";
/// The TUN interface name callers use unless told otherwise.
#[cfg(not(target_os = "macos"))]
pub const DEFAULT_TUN_NAME: &str = "corridor0";

/// How many packets one [`Tun::recv_batch`] may need room for: a TCP super-packet of
/// 64 KiB split at an MTU of 576 or more fits.
pub const TUN_BATCH: usize = 128;

/// A layer-3 virtual interface carrying IP packets, one at a time ([`Tun::recv`],
/// [`Tun::send`]) or in batches ([`Tun::recv_batch`], [`Tun::send_batch`]). Whatever
/// offloads the device uses internally, callers only ever see plain IP packets no
/// larger than the MTU.
pub trait Tun: Send + Sync + std::fmt::Debug {
    /// Interface name.
    fn name(&self) -> &str;
    /// What the device offers beyond plain packets.
    fn capabilities(&self) -> TunCapabilities;
    /// Waits for the next packet the host routed into the tunnel; returns its length.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = Result<usize>> + Send;
    /// Hands one decrypted inner packet to the host stack.
    fn send(&self, packet: &[u8]) -> impl Future<Output = Result<usize>> + Send;

    /// Waits for packets the host routed into the tunnel and writes them to the front of
    /// `bufs` (packet `i` is `bufs[i][..sizes[i]]`); returns how many. Give
    /// [`TUN_BATCH`] buffers of at least the MTU each: with segmentation offload one
    /// read may yield dozens of packets. Cancel-safe: no packet is lost when the
    /// future is dropped before it completes.
    ///
    /// Takes `&self` so that one task can read while another writes.
    ///
    /// The default reads one packet with [`Tun::recv`].
    fn recv_batch(
        &self,
        bufs: &mut [&mut [u8]],
        sizes: &mut [usize],
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            let (Some(buf), Some(size)) = (bufs.first_mut(), sizes.first_mut()) else {
                return Err(Error::Invalid {
                    what: "batch buffers",
                    detail: "none given".into(),
                });
            };
            *size = self.recv(buf).await?;
            Ok(1)
        }
    }

    /// Hands decrypted inner packets to the host stack, coalescing what the device's
    /// offloads allow: packet `i` is `bytes[packets[i]]` (the layout of a batch of
    /// datagrams stored back to back). Returns how many packets were taken. An error
    /// means some (not necessarily all) packets were dropped.
    ///
    /// The default writes them one by one with [`Tun::send`].
    fn send_batch(
        &self,
        bytes: &[u8],
        packets: &[Range<usize>],
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            let mut sent = 0;
            for range in packets {
                let packet = bytes.get(range.clone()).ok_or_else(|| Error::Invalid {
                    what: "packet range",
                    detail: format!("{range:?} lies outside {} bytes", bytes.len()),
                })?;
                self.send(packet).await?;
                sent += 1;
            }
            Ok(sent)
        }
    }
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

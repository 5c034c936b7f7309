//! macOS: the TUN device is a utun interface (the kernel control `com.apple.net.utun_control`
//! that every VPN client on macOS uses), opened through tun-rs; addresses are set
//! with the `SIOCAIFADDR` / `SIOCAIFADDR_IN6` ioctls (tun-rs again), routes go through
//! the PF_ROUTE routing socket (`route(4)`), and DNS through the SystemConfiguration
//! dynamic store (`macos_dns.rs`).
//!
//! A utun interface lives exactly as long as its control socket: when the socket is
//! closed (the device dropped, or the process ended in any way, `kill -9` included)
//! the kernel detaches the interface with every address and every route through it
//! (xnu `bsd/net/if_utun.c`, `utun_ctl_disconnect`). Only routes through other
//! interfaces (the gateway's host route) and the DNS keys outlive the process, and
//! those are what the journal puts back after a crash. That is why removing an
//! address from, or deleting, a device this process no longer holds answers
//! `Ok(false)`: there is nothing left to remove, and a utun of the same name now
//! belongs to someone else.
//!
//! tun-rs adds a route for each address it assigns unless told not to; it is told not
//! to, because Corridor decides (and journals) every route itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::route_map::{self, RouteRequest};
use crate::types::{Family, IpNet, MAIN_TABLE, Route, TunCapabilities};
use crate::{NetworkOs, Tun, utun};

/// A utun interface. tun-rs strips the 4-byte address-family header utun puts in
/// front of every packet on reads and adds it on writes (the device is opened without
/// "packet information"), so callers see plain IP packets.
pub struct TunDevice {
    name: String,
    dev: Arc<tun_rs::AsyncDevice>,
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TunDevice {
    fn error(&self, source: std::io::Error) -> Error {
        Error::Tun {
            name: self.name.clone(),
            source,
        }
    }
}

impl Tun for TunDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> TunCapabilities {
        // utun has no segmentation offload towards user space.
        TunCapabilities::default()
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.dev.recv(buf).await.map_err(|e| self.error(e))
    }

    async fn send(&self, packet: &[u8]) -> Result<usize> {
        self.dev.send(packet).await.map_err(|e| self.error(e))
    }
}

/// The utun devices this process holds, by their real name. Weak: a device is owned
/// by its [`TunDevice`] alone, and is gone (with its addresses) once that is dropped.
type Devices = Arc<Mutex<BTreeMap<String, Weak<tun_rs::AsyncDevice>>>>;

/// utun devices, the routing socket and the dynamic store.
#[derive(Clone, Default)]
pub struct OsNetwork {
    devices: Devices,
}

impl std::fmt::Debug for OsNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("OsNetwork")
            .field("devices", &names)
            .finish()
    }
}

impl OsNetwork {
    /// Nothing to open up front: each routing-socket request opens its own socket,
    /// and the dynamic store is opened when DNS is set or restored.
    pub fn connect() -> Result<Self> {
        Ok(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Weak<tun_rs::AsyncDevice>>> {
        self.devices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live device `name` this process created, if any.
    fn device(&self, name: &str) -> Option<Arc<tun_rs::AsyncDevice>> {
        let mut devices = self.lock();
        let dev = devices.get(name).and_then(Weak::upgrade);
        if dev.is_none() {
            devices.remove(name);
        }
        dev
    }

    /// The interface index of `name` (`if_nametoindex(3)`), `None` if there is no
    /// such interface.
    pub fn link_index(&self, name: &str) -> Result<Option<u32>> {
        match nix::net::if_::if_nametoindex(name) {
            Ok(index) => Ok(Some(index)),
            Err(Errno::ENXIO | Errno::ENODEV) => Ok(None),
            Err(e) => Err(Error::Os {
                op: format!("look up interface {name}"),
                detail: e.desc().to_string(),
            }),
        }
    }

    /// The routing library's route for `request`, `None` when its interface is gone.
    fn manager_route(&self, request: &RouteRequest) -> Result<Option<route_manager::Route>> {
        let mut route =
            route_manager::Route::new(request.destination.addr(), request.destination.prefix());
        if let Some(gateway) = request.gateway {
            route = route.with_gateway(gateway);
        }
        if let Some(device) = &request.device {
            let Some(index) = self.link_index(device)? else {
                return Ok(None);
            };
            route = route.with_if_index(index);
        }
        if request.reject {
            route = route.with_kind(route_manager::RouteKind::Unreachable);
        }
        Ok(Some(route))
    }
}

fn os_error(op: String, e: &std::io::Error) -> Error {
    Error::Os {
        op,
        detail: e.to_string(),
    }
}

/// `198.19.0.0/24 dev utun4`, `0.0.0.0/1 reject`, `203.0.113.9/32 via 192.168.1.1 dev en0`.
fn describe(request: &RouteRequest) -> String {
    let mut text = request.destination.to_string();
    if let Some(gateway) = request.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    if let Some(device) = &request.device {
        text.push_str(&format!(" dev {device}"));
    }
    if request.reject {
        text.push_str(" reject");
    }
    text
}

impl NetworkOs for OsNetwork {
    type Tun = TunDevice;

    async fn create_tun(&self, name: &str, mtu: u16) -> Result<TunDevice> {
        let wanted = utun::requested_name(name);
        if wanted.is_none() && name != "utun" {
            tracing::info!(
                requested = name,
                "macOS names utun interfaces itself; taking the next free one"
            );
        }
        let mut builder = tun_rs::DeviceBuilder::new()
            .mtu(mtu)
            .associate_route(false)
            .enable(true);
        if let Some(wanted) = wanted {
            builder = builder.name(wanted);
        }
        let dev = builder.build_async().map_err(|source| Error::Tun {
            name: name.to_string(),
            source,
        })?;
        let real = dev.name().map_err(|source| Error::Tun {
            name: name.to_string(),
            source,
        })?;
        let dev = Arc::new(dev);
        self.lock().insert(real.clone(), Arc::downgrade(&dev));
        tracing::debug!(name = %real, mtu, "utun interface created");
        Ok(TunDevice { name: real, dev })
    }

    async fn delete_link(&self, name: &str) -> Result<bool> {
        // The interface goes when its device (the control socket) is dropped; a utun
        // of this name that this process does not hold is another process's.
        let ours = self.lock().remove(name);
        Ok(ours.is_some_and(|dev| dev.strong_count() > 0))
    }

    async fn add_address(&self, device: &str, net: IpNet) -> Result<()> {
        let dev = self
            .device(device)
            .ok_or_else(|| Error::NoSuchInterface(device.to_string()))?;
        // utun is point-to-point: tun-rs makes the destination the prefix's broadcast
        // address, which for a /32 is the address itself (as `ifconfig utun4 inet
        // 198.19.100.2 198.19.100.2` does).
        let done = match net.addr() {
            std::net::IpAddr::V4(addr) => dev.add_address_v4(addr, net.prefix()),
            std::net::IpAddr::V6(addr) => dev.add_address_v6(addr, net.prefix()),
        };
        match done {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(Errno::EEXIST as i32) => Ok(()),
            Err(e) => Err(os_error(format!("add address {net} to {device}"), &e)),
        }
    }

    async fn remove_address(&self, device: &str, net: IpNet) -> Result<bool> {
        let Some(dev) = self.device(device) else {
            return Ok(false);
        };
        match dev.remove_address(net.addr()) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(Errno::EADDRNOTAVAIL as i32) => Ok(false),
            Err(e) => Err(os_error(format!("remove address {net} from {device}"), &e)),
        }
    }

    async fn add_route(&self, route: &Route) -> Result<()> {
        let request = route_map::request(route)?;
        let Some(entry) = self.manager_route(&request)? else {
            return Err(Error::NoSuchInterface(
                request.device.clone().unwrap_or_default(),
            ));
        };
        let mut manager = route_manager::RouteManager::new()
            .map_err(|e| os_error("open the routing socket".into(), &e))?;
        match manager.add(&entry) {
            Ok(()) => Ok(()),
            // "File exists": the same route is in place already.
            Err(e) if e.raw_os_error() == Some(Errno::EEXIST as i32) => Ok(()),
            Err(e) => Err(os_error(format!("add route {}", describe(&request)), &e)),
        }
    }

    async fn remove_route(&self, route: &Route) -> Result<bool> {
        let request = route_map::request(route)?;
        let Some(entry) = self.manager_route(&request)? else {
            return Ok(false);
        };
        let mut manager = route_manager::RouteManager::new()
            .map_err(|e| os_error("open the routing socket".into(), &e))?;
        match manager.delete(&entry) {
            Ok(()) => Ok(true),
            // route(4): ESRCH "if the route is not in the table".
            Err(e) if e.raw_os_error() == Some(Errno::ESRCH as i32) => Ok(false),
            Err(e) => Err(os_error(format!("remove route {}", describe(&request)), &e)),
        }
    }

    async fn list_routes(&self, family: Family, table: u32) -> Result<Vec<Route>> {
        if table != MAIN_TABLE {
            return Err(Error::Unsupported("routing tables other than the main one"));
        }
        let mut manager = route_manager::RouteManager::new()
            .map_err(|e| os_error("open the routing socket".into(), &e))?;
        let listed = manager
            .list()
            .map_err(|e| os_error("list routes".into(), &e))?;
        Ok(listed
            .into_iter()
            // A scoped route (RTF_IFSCOPE) serves only sockets bound to its interface;
            // every interface has its own scoped default route, and none of them is
            // the default the host uses.
            .filter(|r| !r.if_scope())
            .filter_map(|r| {
                let destination = IpNet::new(r.destination(), r.prefix()).ok()?;
                if destination.family() != family {
                    return None;
                }
                Some(route_map::route_of(RouteRequest {
                    destination,
                    gateway: r.gateway(),
                    device: r.if_name().cloned(),
                    reject: r.kind() != route_manager::RouteKind::Unicast,
                }))
            })
            .collect())
    }
}

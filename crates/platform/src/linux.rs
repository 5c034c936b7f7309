//! Linux: TUN through `/dev/net/tun` (tun-rs), addresses and routes through
//! rtnetlink. No `ioctl` or `unsafe` here: the crates own those.

use std::collections::HashMap;
use std::net::IpAddr;

use futures_util::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteScope, RouteType,
};
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::{Error, Result};
use crate::types::{Family, IpNet, Route, RouteKind, TunCapabilities};
use crate::{NetworkOs, Tun};

const ENODEV: i32 = 19;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;

/// A Linux TUN device (`IFF_TUN | IFF_NO_PI`), removed by the kernel when dropped.
pub struct TunDevice {
    name: String,
    dev: tun_rs::AsyncDevice,
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.name)
            .finish()
    }
}

impl Tun for TunDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> TunCapabilities {
        TunCapabilities { offload: false }
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        self.dev.recv(buf).await.map_err(|source| Error::Tun {
            name: self.name.clone(),
            source,
        })
    }

    async fn send(&self, packet: &[u8]) -> Result<usize> {
        self.dev.send(packet).await.map_err(|source| Error::Tun {
            name: self.name.clone(),
            source,
        })
    }
}

/// rtnetlink connection to the current network namespace.
#[derive(Debug, Clone)]
pub struct OsNetwork {
    handle: Handle,
}

fn nl_err(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let op = op.into();
    move |e| Error::Netlink {
        op,
        detail: e.to_string(),
    }
}

/// The errno a netlink request was refused with, if it was.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

impl OsNetwork {
    /// Opens a netlink socket in the calling thread's network namespace. Must run
    /// inside a tokio runtime (the connection task is spawned on it).
    pub fn connect() -> Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| Error::Netlink {
            op: "open netlink socket".into(),
            detail: e.to_string(),
        })?;
        tokio::spawn(conn);
        Ok(Self { handle })
    }

    /// Index of interface `name`, `None` if there is none.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(Some(msg.header.index)),
            Ok(None) => Ok(None),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(e) => Err(nl_err(format!("look up link {name}"))(e)),
        }
    }

    async fn require_index(&self, name: &str) -> Result<u32> {
        self.link_index(name)
            .await?
            .ok_or_else(|| Error::NoSuchInterface(name.to_string()))
    }

    async fn link_names(&self) -> Result<HashMap<u32, String>> {
        use netlink_packet_route::link::LinkAttribute;
        let mut out = HashMap::new();
        let mut links = self.handle.link().get().execute();
        while let Some(msg) = links.try_next().await.map_err(nl_err("list links"))? {
            for attr in &msg.attributes {
                if let LinkAttribute::IfName(n) = attr {
                    out.insert(msg.header.index, n.clone());
                }
            }
        }
        Ok(out)
    }

    fn route_message(route: &Route, oif: Option<u32>) -> Result<RouteMessage> {
        fn bad<E: std::fmt::Debug>(dst: IpNet) -> impl Fn(E) -> Error {
            move |e| Error::Invalid {
                what: "route",
                detail: format!("{dst}: {e:?}"),
            }
        }
        let mut b = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(route.destination.addr(), route.destination.prefix())
            .map_err(bad(route.destination))?
            .table_id(route.table_or_main());
        if route.kind == RouteKind::Unreachable {
            b = b.kind(RouteType::Unreachable);
        } else if let Some(gw) = route.gateway {
            b = b.gateway(gw).map_err(bad(route.destination))?;
        } else {
            b = b.scope(RouteScope::Link);
        }
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        if let Some(m) = route.metric {
            b = b.priority(m);
        }
        Ok(b.build())
    }
}

impl NetworkOs for OsNetwork {
    type Tun = TunDevice;

    async fn create_tun(&self, name: &str, mtu: u16) -> Result<TunDevice> {
        let dev = tun_rs::DeviceBuilder::new()
            .name(name)
            .mtu(mtu)
            .enable(true)
            .build_async()
            .map_err(|source| Error::Tun {
                name: name.to_string(),
                source,
            })?;
        Ok(TunDevice {
            name: name.to_string(),
            dev,
        })
    }

    async fn delete_link(&self, name: &str) -> Result<bool> {
        let Some(index) = self.link_index(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(false),
            Err(e) => Err(nl_err(format!("delete link {name}"))(e)),
        }
    }

    async fn add_address(&self, device: &str, net: IpNet) -> Result<()> {
        let index = self.require_index(device).await?;
        self.handle
            .address()
            .add(index, net.addr(), net.prefix())
            .execute()
            .await
            .map_err(nl_err(format!("add address {net} to {device}")))
    }

    async fn remove_address(&self, device: &str, net: IpNet) -> Result<bool> {
        let Some(index) = self.link_index(device).await? else {
            return Ok(false);
        };
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(msg) = addrs.try_next().await.map_err(nl_err("list addresses"))? {
            let matches = msg.header.prefix_len == net.prefix()
                && msg
                    .attributes
                    .iter()
                    .any(|a| matches!(a, AddressAttribute::Address(ip) if *ip == net.addr()));
            if matches {
                return match self.handle.address().del(msg).execute().await {
                    Ok(()) => Ok(true),
                    Err(e) if matches!(errno(&e), Some(EADDRNOTAVAIL | ENODEV)) => Ok(false),
                    Err(e) => Err(nl_err(format!("remove address {net} from {device}"))(e)),
                };
            }
        }
        Ok(false)
    }

    async fn add_route(&self, route: &Route) -> Result<()> {
        let oif = match &route.device {
            Some(d) => Some(self.require_index(d).await?),
            None => None,
        };
        let msg = Self::route_message(route, oif)?;
        self.handle
            .route()
            .add(msg)
            .execute()
            .await
            .map_err(nl_err(format!("add route {}", route.destination)))
    }

    async fn remove_route(&self, route: &Route) -> Result<bool> {
        let oif = match &route.device {
            Some(d) => match self.link_index(d).await? {
                Some(i) => Some(i),
                // The kernel drops a device's routes with the device.
                None => return Ok(false),
            },
            None => None,
        };
        let msg = Self::route_message(route, oif)?;
        match self.handle.route().del(msg).execute().await {
            Ok(()) => Ok(true),
            Err(e) if matches!(errno(&e), Some(ESRCH | ENODEV)) => Ok(false),
            Err(e) => Err(nl_err(format!("remove route {}", route.destination))(e)),
        }
    }

    async fn list_routes(&self, family: Family, table: u32) -> Result<Vec<Route>> {
        let names = self.link_names().await?;
        let filter = match family {
            Family::V4 => RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
            Family::V6 => RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        };
        let want_af = match family {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        };
        let mut out = Vec::new();
        let mut routes = self.handle.route().get(filter).execute();
        while let Some(msg) = routes.try_next().await.map_err(nl_err("list routes"))? {
            let kind = match msg.header.kind {
                RouteType::Unicast => RouteKind::Unicast,
                RouteType::Unreachable => RouteKind::Unreachable,
                _ => continue,
            };
            if msg.header.address_family != want_af {
                continue;
            }
            let mut msg_table = u32::from(msg.header.table);
            let mut dst = None;
            let mut gateway = None;
            let mut device = None;
            let mut metric = None;
            for attr in &msg.attributes {
                match attr {
                    RouteAttribute::Table(t) => msg_table = *t,
                    RouteAttribute::Destination(a) => dst = route_ip(a),
                    RouteAttribute::Gateway(a) => gateway = route_ip(a),
                    RouteAttribute::Oif(i) => device = names.get(i).cloned(),
                    RouteAttribute::Priority(p) => metric = Some(*p),
                    _ => {}
                }
            }
            if msg_table != table {
                continue;
            }
            let dst = dst.unwrap_or(match family {
                Family::V4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            });
            out.push(Route {
                destination: IpNet::new(dst, msg.header.destination_prefix_length)?,
                device,
                gateway,
                table: Some(msg_table),
                metric,
                kind,
            });
        }
        Ok(out)
    }
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

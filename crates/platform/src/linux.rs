//! Linux: TUN through `/dev/net/tun` (tun-rs, with its virtio-net offloads), addresses
//! and routes through rtnetlink. No `ioctl` or `unsafe` here: the crates own those.

use std::collections::HashMap;
use std::io::IoSlice;
use std::net::IpAddr;
use std::ops::Range;

use futures_util::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteScope, RouteType,
};
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::error::{Error, Result};
use crate::tun_coalesce::{self, Coalescer};
use crate::types::{Family, IpNet, Route, RouteKind, TunCapabilities};
use crate::{NetworkOs, Tun};

const ENODEV: i32 = 19;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;

/// A Linux TUN device (`IFF_TUN | IFF_NO_PI`), removed by the kernel when dropped.
///
/// Opened with `IFF_VNET_HDR` and TCP (and, from Linux 6.2, UDP) segmentation
/// offload when the kernel allows: the host stack then hands over super-packets of up
/// to 64 KiB, one read for dozens of MTU-sized packets, and takes coalesced ones, which
/// spares it most of its per-packet work. tun-rs splits what the host sends; what
/// goes to the host is joined by [`Coalescer`] and written with one vectored write per
/// super-packet, payloads in place (tun-rs's own coalescing copies every packet twice
/// and allocates for each). This type keeps the state both need, so that the data path
/// does not allocate.
pub struct TunDevice {
    name: String,
    dev: tun_rs::AsyncDevice,
    capabilities: TunCapabilities,
    mtu: usize,
    /// Read-side scratch, locked for the length of one read, so that a reading task and
    /// a writing task can share the device (each side has one user, so the locks are
    /// uncontended).
    rx: tokio::sync::Mutex<RxScratch>,
    /// Write-side state (coalescing), likewise.
    tx: tokio::sync::Mutex<Coalescer>,
}

/// What a read of an offload device needs beyond the caller's buffers.
#[derive(Default)]
struct RxScratch {
    /// One raw read: the virtio-net header and a (super-)packet.
    raw: Vec<u8>,
    /// Packets of the last super-packet that [`Tun::recv`] has not returned yet,
    /// `mtu` bytes apart in `storage`.
    storage: Vec<u8>,
    sizes: Vec<usize>,
    next: usize,
    count: usize,
}

// The coalescer writes the header the device expects.
const _: () = assert!(tun_coalesce::VNET_HDR_LEN == tun_rs::VIRTIO_NET_HDR_LEN);
/// The header of a write that asks for no offload: the packet is complete as it is.
const PLAIN_VNET_HDR: [u8; tun_rs::VIRTIO_NET_HDR_LEN] = [0; tun_rs::VIRTIO_NET_HDR_LEN];
/// The largest raw read from an offload device: the header and a 64 KiB super-packet.
const RAW_READ: usize = tun_rs::VIRTIO_NET_HDR_LEN + 65_535;
/// A batched read reads again while this many buffers are left, enough for one more
/// super-packet split at the smallest MTU we configure (1280: IPv6's minimum).
const ROOM_FOR_ANOTHER_READ: usize = 65_535 / 1280 + 1;

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.name)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

impl TunDevice {
    fn error(&self, source: std::io::Error) -> Error {
        tun_error(&self.name, source)
    }
}

fn tun_error(name: &str, source: std::io::Error) -> Error {
    Error::Tun {
        name: name.to_string(),
        source,
    }
}

impl Tun for TunDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> TunCapabilities {
        self.capabilities
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.capabilities.offload {
            return self.dev.recv(buf).await.map_err(|e| self.error(e));
        }
        let mut rx = self.rx.lock().await;
        let rx = &mut *rx;
        while rx.next >= rx.count {
            rx.raw.resize(RAW_READ, 0);
            rx.storage.resize(self.mtu * tun_rs::IDEAL_BATCH_SIZE, 0);
            rx.sizes.resize(tun_rs::IDEAL_BATCH_SIZE, 0);
            let mut bufs: Vec<&mut [u8]> = rx.storage.chunks_mut(self.mtu).collect();
            rx.count = self
                .dev
                .recv_multiple(&mut rx.raw, &mut bufs, &mut rx.sizes, 0)
                .await
                .map_err(|e| self.error(e))?;
            rx.next = 0;
        }
        let index = rx.next;
        rx.next += 1;
        let size = rx.sizes.get(index).copied().unwrap_or(0);
        let start = index * self.mtu;
        let packet = rx.storage.get(start..start + size).unwrap_or_default();
        let Some(out) = buf.get_mut(..packet.len()) else {
            return Err(self.error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("a {} byte packet does not fit the buffer", packet.len()),
            )));
        };
        out.copy_from_slice(packet);
        Ok(packet.len())
    }

    async fn send(&self, packet: &[u8]) -> Result<usize> {
        if !self.capabilities.offload {
            return self.dev.send(packet).await.map_err(|e| self.error(e));
        }
        let parts = [IoSlice::new(&PLAIN_VNET_HDR), IoSlice::new(packet)];
        let n = self
            .dev
            .send_vectored(&parts)
            .await
            .map_err(|e| self.error(e))?;
        Ok(n.saturating_sub(PLAIN_VNET_HDR.len()))
    }

    async fn recv_batch(&self, bufs: &mut [&mut [u8]], sizes: &mut [usize]) -> Result<usize> {
        let len = bufs.len().min(sizes.len());
        let (bufs, sizes) = (&mut bufs[..len], &mut sizes[..len]);
        if len == 0 {
            return Err(Error::Invalid {
                what: "batch buffers",
                detail: "none given".into(),
            });
        }
        let mut rx = self.rx.lock().await;
        let rx = &mut *rx;
        // Packets a single `recv` left behind come first.
        if rx.next < rx.count {
            let mut n = 0;
            while rx.next < rx.count && n < len {
                let size = rx.sizes.get(rx.next).copied().unwrap_or(0);
                let start = rx.next * self.mtu;
                let packet = rx.storage.get(start..start + size).unwrap_or_default();
                if let Some(out) = bufs[n].get_mut(..packet.len()) {
                    out.copy_from_slice(packet);
                    sizes[n] = packet.len();
                    n += 1;
                }
                rx.next += 1;
            }
            return Ok(n);
        }
        if !self.capabilities.offload {
            sizes[0] = self
                .dev
                .recv(bufs[0])
                .await
                .map_err(|e| tun_error(&self.name, e))?;
            let mut n = 1;
            // More packets already queued come along without waiting.
            while n < len {
                match self.dev.try_recv(bufs[n]) {
                    Ok(size) => {
                        sizes[n] = size;
                        n += 1;
                    }
                    Err(_) => break,
                }
            }
            return Ok(n);
        }
        rx.raw.resize(RAW_READ, 0);
        let mut n = self
            .dev
            .recv_multiple(&mut rx.raw, bufs, sizes, 0)
            .await
            .map_err(|e| tun_error(&self.name, e))?;
        while len - n >= ROOM_FOR_ANOTHER_READ {
            match self
                .dev
                .try_recv_multiple(&mut rx.raw, &mut bufs[n..], &mut sizes[n..], 0)
            {
                Ok(more) => n += more,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // That packet is lost; those already split are returned.
                Err(e) => {
                    tracing::trace!(error = %e, device = %self.name, "dropped a TUN read");
                    break;
                }
            }
        }
        Ok(n)
    }

    async fn send_batch(&self, bytes: &[u8], packets: &[Range<usize>]) -> Result<usize> {
        let mut taken = 0;
        let mut failure = None;
        if !self.capabilities.offload {
            for range in packets {
                let Some(packet) = bytes.get(range.clone()) else {
                    continue;
                };
                match self.dev.send(packet).await {
                    Ok(_) => taken += 1,
                    Err(e) => failure = Some(e),
                }
            }
        } else {
            let mut tx = self.tx.lock().await;
            let tx = &mut *tx;
            tx.coalesce(bytes, packets);
            for (header, parts) in tx.writes() {
                // One vectored write per (super-)packet: the header area, then the
                // payloads where decryption left them.
                let mut slices = [IoSlice::new(&[]); 1 + tun_coalesce::MAX_SEGMENTS];
                let mut used = 1;
                slices[0] = IoSlice::new(header);
                for (slice, part) in slices[1..].iter_mut().zip(parts) {
                    *slice = IoSlice::new(bytes.get(part.clone()).unwrap_or_default());
                    used += 1;
                }
                match self.dev.send_vectored(&slices[..used]).await {
                    // Each part is one of the batch's packets.
                    Ok(_) => taken += parts.len(),
                    Err(e) => failure = Some(e),
                }
            }
        }
        match failure {
            // Packets went out before or after it: report those, the rest are dropped.
            Some(e) if taken == 0 => Err(self.error(e)),
            Some(e) => {
                tracing::trace!(error = %e, device = %self.name, "a TUN write failed");
                Ok(taken)
            }
            None => Ok(taken),
        }
    }
}

impl TunDevice {
    /// Opens `name` with offloads if the kernel allows, else as a plain TUN device.
    fn open(name: &str, mtu: u16) -> Result<Self> {
        let build = |offload: bool| {
            tun_rs::DeviceBuilder::new()
                .name(name)
                .mtu(mtu)
                .offload(offload)
                .enable(true)
                .build_async()
        };
        let dev = match build(true) {
            Ok(dev) => dev,
            Err(e) => {
                tracing::debug!(error = %e, "TUN offloads refused; plain packets");
                build(false).map_err(|source| Error::Tun {
                    name: name.to_string(),
                    source,
                })?
            }
        };
        let capabilities = TunCapabilities {
            offload: dev.tcp_gso(),
            udp_offload: dev.udp_gso(),
        };
        Ok(Self {
            name: name.to_string(),
            dev,
            capabilities,
            mtu: usize::from(mtu),
            rx: tokio::sync::Mutex::new(RxScratch::default()),
            tx: tokio::sync::Mutex::new(Coalescer::new(capabilities.udp_offload)),
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
        TunDevice::open(name, mtu)
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

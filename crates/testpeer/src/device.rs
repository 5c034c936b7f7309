//! The TUN device in the gateway's namespace, and bursts of packets through it.
//!
//! Everything that touches the device is here, behind [`Device::recv_burst`] and
//! [`Device::send_burst`]. They use the platform's batch calls, so where the kernel
//! allows the device carries virtio-net headers with TCP segmentation offload: the
//! host stack hands over (and takes) TCP super-packets of up to 64 KiB, one system call
//! and one trip through the forwarding path for dozens of MTU-sized packets.

use std::net::IpAddr;
use std::ops::Range;

use anyhow::{Context, Result};
use corridor_platform::{IpNet, NetworkOs as _, OsNetwork, Route, TUN_BATCH, Tun as _, TunDevice};

use crate::args::Cidr4;

/// Packets read from the device in one burst: [`TUN_BATCH`] buffers of one MTU each,
/// allocated once.
#[derive(Debug)]
pub(crate) struct Burst {
    storage: Vec<u8>,
    slot: usize,
    sizes: Vec<usize>,
    len: usize,
}

impl Burst {
    fn new(slot: usize) -> Self {
        Self {
            storage: vec![0; slot * TUN_BATCH],
            slot,
            sizes: vec![0; TUN_BATCH],
            len: 0,
        }
    }

    /// Packet `i`.
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let size = self.sizes.get(i).copied().unwrap_or(0).min(self.slot);
        self.storage
            .get(i * self.slot..i * self.slot + size)
            .unwrap_or_default()
    }
}

/// The gateway's TUN device with the pool routed into it. Dropping it removes the
/// device, and the kernel removes its route with it.
#[derive(Debug)]
pub(crate) struct Device {
    tun: TunDevice,
    mtu: usize,
}

impl Device {
    /// Creates `name`, brings it up and routes `pool` into it. The device needs no
    /// address: the kernel forwards between it and the LAN.
    pub(crate) async fn open(name: &str, mtu: u16, pool: Cidr4) -> Result<Self> {
        corridor_platform::check_ifname(name)?;
        let os = OsNetwork::connect().context("opening netlink")?;
        let tun = os
            .create_tun(name, mtu)
            .await
            .with_context(|| format!("creating TUN device {name}"))?;
        tracing::debug!(capabilities = ?tun.capabilities(), "TUN device {name}");
        let net = IpNet::new(IpAddr::V4(pool.network), pool.len)?;
        os.add_route(&Route::via_device(net, name))
            .await
            .with_context(|| format!("routing {pool} into {name}"))?;
        Ok(Self {
            tun,
            mtu: usize::from(mtu),
        })
    }

    /// Buffers for [`Device::recv_burst`].
    pub(crate) fn burst(&self) -> Burst {
        Burst::new(self.mtu)
    }

    /// Waits for packets, then takes whatever else is already queued (a super-packet
    /// arrives split into MTU-sized packets). Returns how many `burst` now holds; 0
    /// when a malformed read was dropped.
    ///
    /// # Errors
    /// The device failed.
    pub(crate) async fn recv_burst(&self, burst: &mut Burst) -> Result<usize> {
        burst.len = 0;
        let Burst {
            storage,
            slot,
            sizes,
            ..
        } = burst;
        let mut bufs: [&mut [u8]; TUN_BATCH] = {
            let mut chunks = storage.chunks_exact_mut(*slot);
            std::array::from_fn(|_| chunks.next().unwrap_or_default())
        };
        match self.tun.recv_batch(&mut bufs, sizes).await {
            Ok(n) => burst.len = n,
            Err(corridor_platform::Error::Tun { source, .. })
                if source.raw_os_error().is_none() =>
            {
                tracing::trace!("dropped a TUN read: {source}");
            }
            Err(e) => return Err(e).context("reading the TUN device"),
        }
        Ok(burst.len)
    }

    /// Hands the packets at `ranges` of `bytes` to the host stack, coalescing what the
    /// offloads allow; returns how many were refused.
    pub(crate) async fn send_burst(&self, bytes: &[u8], ranges: &[Range<usize>]) -> usize {
        if ranges.is_empty() {
            return 0;
        }
        match self.tun.send_batch(bytes, ranges).await {
            Ok(taken) => ranges.len().saturating_sub(taken),
            Err(e) => {
                tracing::debug!("TUN write: {e}");
                ranges.len()
            }
        }
    }
}

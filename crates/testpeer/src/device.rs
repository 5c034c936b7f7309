//! The TUN device in the gateway's namespace, and bursts of packets through it.
//!
//! Everything that touches the device is here, behind [`Device::recv_burst`] and
//! [`Device::send_burst`], so that a device with batch reads and writes (virtio-net
//! header offloads) can replace the one-packet-per-call loop without the rest changing.

use std::net::IpAddr;
use std::ops::Range;

use anyhow::{Context, Result};
use corridor_platform::{IpNet, NetworkOs as _, OsNetwork, Route, Tun as _, TunDevice};
use futures_util::FutureExt as _;

use crate::args::Cidr4;

/// Room for one packet: a full IPv4 datagram, whatever the MTU.
pub(crate) const SLOT: usize = 65_536;

/// Packets per burst.
pub(crate) const BURST: usize = 32;

/// A reusable set of packet buffers and their lengths.
#[derive(Debug)]
pub(crate) struct Slots {
    buf: Vec<u8>,
    lens: Vec<usize>,
}

impl Slots {
    pub(crate) fn new() -> Self {
        Self {
            buf: vec![0; SLOT * BURST],
            lens: Vec::with_capacity(BURST),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lens.len()
    }

    /// Packet `i`.
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        &self.buf[i * SLOT..i * SLOT + self.lens[i]]
    }

    pub(crate) fn clear(&mut self) {
        self.lens.clear();
    }

    /// The next free slot's whole buffer, if there is one.
    pub(crate) fn next_free(&mut self) -> Option<&mut [u8]> {
        let i = self.lens.len();
        (i < BURST).then(|| &mut self.buf[i * SLOT..(i + 1) * SLOT])
    }

    /// Marks the slot [`next_free`](Self::next_free) returned as holding `len` bytes.
    pub(crate) fn commit(&mut self, len: usize) {
        self.lens.push(len.min(SLOT));
    }

    /// Slot `i`, mutably, for in-place work.
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut [u8] {
        let len = self.lens[i];
        &mut self.buf[i * SLOT..i * SLOT + len]
    }
}

/// The gateway's TUN device with the pool routed into it. Dropping it removes the
/// device, and the kernel removes its route with it.
#[derive(Debug)]
pub(crate) struct Device {
    tun: TunDevice,
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
        let net = IpNet::new(IpAddr::V4(pool.network), pool.len)?;
        os.add_route(&Route::via_device(net, name))
            .await
            .with_context(|| format!("routing {pool} into {name}"))?;
        Ok(Self { tun })
    }

    /// Waits for one packet, then takes whatever else is already queued, up to a full
    /// burst, without waiting again. Returns how many packets `slots` now holds.
    pub(crate) async fn recv_burst(&self, slots: &mut Slots) -> Result<usize> {
        slots.clear();
        let Some(first) = slots.next_free() else {
            return Ok(0);
        };
        let n = self.tun.recv(first).await?;
        slots.commit(n);
        while let Some(buf) = slots.next_free() {
            // Polled once: a read that would block is dropped unstarted (the device is
            // readiness-based, so nothing is lost).
            match self.tun.recv(buf).now_or_never() {
                Some(Ok(n)) => slots.commit(n),
                Some(Err(e)) => {
                    tracing::debug!("TUN read: {e}");
                    break;
                }
                None => break,
            }
        }
        Ok(slots.len())
    }

    /// Hands the packets at `ranges` (slot index, byte range within it) of `slots` to
    /// the host stack; returns how many were refused.
    pub(crate) async fn send_burst(
        &self,
        slots: &Slots,
        ranges: &[(usize, Range<usize>)],
    ) -> usize {
        let mut failed = 0;
        for (i, range) in ranges {
            let Some(p) = slots.get(*i).get(range.clone()) else {
                failed += 1;
                continue;
            };
            if let Err(e) = self.tun.send(p).await {
                tracing::debug!("TUN write: {e}");
                failed += 1;
            }
        }
        failed
    }
}

//! The gateway's tasks: IKE on port 500, the two data-path directions around the NAT-T
//! socket and the TUN device, and a timer that forgets half-open SAs.
//!
//! Each direction moves bursts: one batched receive (many datagrams from the socket,
//! or a split super-packet from the TUN device), each SA lock taken once per run of
//! packets of one client, and one batched send (coalesced TUN writes, or segmented UDP
//! sends), so that under load the per-packet costs of system calls, locks and the
//! host's network stack are shared.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use corridor_esp::DatagramBatch;
use corridor_platform::TUN_BATCH;
use tokio::net::UdpSocket;

use crate::dataplane::{self, Arrived};
use crate::device::Device;
use crate::gateway::{Gateway, Notice, Tables, Tunnel};
use crate::udp::{NatT, Received};

/// State shared by the tasks.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) gateway: Arc<Mutex<Gateway>>,
    pub(crate) tables: Arc<RwLock<Tables>>,
    pub(crate) device: Arc<Device>,
    pub(crate) ike: Arc<UdpSocket>,
    pub(crate) nat_t: Arc<NatT>,
}

/// Prints what the control plane reports, one line each, on standard output (tests
/// and scripts wait for these lines).
fn report(notices: Vec<Notice>) {
    for n in notices {
        match n {
            Notice::Connected { from, assigned } => {
                println!("connected {from} assigned {assigned}");
            }
            Notice::Deleted { assigned } => println!("deleted {assigned}"),
            Notice::Expired { assigned } => println!("expired half-open {assigned}"),
            Notice::PoolExhausted { from } => println!("pool exhausted, refused {from}"),
            Notice::ResponderFailed { from } => println!("dropped the SA of {from}"),
        }
    }
}

impl Shared {
    /// Runs one IKE datagram through the control plane and sends the answers.
    async fn ike(&self, socket: &UdpSocket, from: SocketAddr, datagram: &[u8]) {
        let port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
        let (replies, notices) = match self.gateway.lock() {
            Ok(mut gw) => (
                gw.handle_ike(Instant::now(), from, port, datagram),
                gw.take_notices(),
            ),
            Err(_) => return,
        };
        report(notices);
        for reply in replies {
            if let Err(e) = socket.send_to(&reply, from).await {
                tracing::warn!(%from, "sending an IKE message: {e}");
            }
        }
    }

    /// IKE on port 500.
    pub(crate) async fn ike_loop(self) -> Result<()> {
        let mut buf = vec![0u8; 65_536];
        let socket = self.ike.clone();
        loop {
            let (n, from) = socket.recv_from(&mut buf).await.context("receiving IKE")?;
            self.ike(&socket, from, &buf[..n]).await;
        }
    }

    /// Network → TUN: ESP from clients, plus IKE that arrives on the NAT-T port.
    pub(crate) async fn uplink(self) -> Result<()> {
        let mut rx = Received::new();
        let mut arrived: Vec<Arrived> = Vec::new();
        let mut inner: Vec<Range<usize>> = Vec::new();
        let mut ike: Vec<usize> = Vec::new();
        let nat_t = self.nat_t.clone();
        loop {
            nat_t
                .readable()
                .await
                .context("waiting on the NAT-T socket")?;
            match nat_t.try_recv(&mut rx) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => {
                    tracing::debug!("NAT-T receive: {e}");
                    continue;
                }
            }
            arrived.clear();
            if let Ok(tables) = self.tables.read() {
                let (storage, datagrams) = rx.parts_mut();
                dataplane::open_burst(&tables, storage, datagrams, &mut arrived);
            }
            inner.clear();
            ike.clear();
            for (i, (what, (from, range))) in arrived.iter().zip(&rx.datagrams).enumerate() {
                match what {
                    Arrived::Inner(r) => inner.push(range.start + r.start..range.start + r.end),
                    Arrived::Ike => ike.push(i),
                    Arrived::Dropped(why) => tracing::trace!(%from, "dropped: {why}"),
                }
            }
            for &i in &ike {
                let (from, range) = &rx.datagrams[i];
                let datagram = rx.storage().get(range.clone()).unwrap_or_default();
                self.ike(nat_t.socket(), *from, datagram).await;
            }
            let failed = self.device.send_burst(rx.storage(), &inner).await;
            if failed > 0 {
                tracing::debug!("{failed} packets refused by the TUN device");
            }
        }
    }

    /// TUN → network: packets for clients, encapsulated per burst into one batch.
    pub(crate) async fn downlink(self) -> Result<()> {
        let mut burst = self.device.burst();
        let mut batch = DatagramBatch::with_capacity(TUN_BATCH, TUN_BATCH * 2048);
        let mut targets: Vec<Option<Arc<Tunnel>>> = Vec::with_capacity(TUN_BATCH);
        let mut sends: Vec<(SocketAddr, Range<usize>)> = Vec::new();
        loop {
            let n = self.device.recv_burst(&mut burst).await?;
            targets.clear();
            if let Ok(tables) = self.tables.read() {
                targets.extend((0..n).map(|i| dataplane::route(&tables, burst.get(i))));
            }
            batch.clear();
            sends.clear();
            // Runs of packets for the same client go through one lock and one batch range.
            let mut i = 0;
            while i < targets.len() {
                let Some(tunnel) = targets[i].clone() else {
                    i += 1;
                    continue;
                };
                let mut end = i + 1;
                while end < targets.len()
                    && targets[end]
                        .as_ref()
                        .is_some_and(|t| Arc::ptr_eq(t, &tunnel))
                {
                    end += 1;
                }
                let first = batch.len();
                let (remote, failed) =
                    dataplane::seal(&tunnel, (i..end).map(|k| burst.get(k)), &mut batch);
                if failed > 0 {
                    tracing::debug!("{failed} packets could not be encapsulated");
                }
                if let Some(remote) = remote {
                    sends.push((remote, first..batch.len()));
                }
                i = end;
            }
            for (remote, range) in &sends {
                let segments = batch.segments().get(range.clone()).unwrap_or_default();
                let sent = self.nat_t.send(*remote, batch.as_bytes(), segments).await;
                if sent.errors > 0 {
                    tracing::debug!(%remote, "{} ESP datagrams not sent", sent.errors);
                }
            }
        }
    }

    /// Forgets half-open SAs every few seconds.
    pub(crate) async fn reaper(self) -> Result<()> {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Ok(mut gw) = self.gateway.lock() {
                gw.expire(Instant::now());
                report(gw.take_notices());
            }
        }
    }
}

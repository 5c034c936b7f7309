//! The gateway's tasks: IKE on port 500, the two data-path directions around the NAT-T
//! socket and the TUN device, and a timer that forgets half-open SAs.
//!
//! Each direction drains what is already queued before it goes back to waiting (up to
//! [`BURST`] packets), encapsulates a burst into one [`DatagramBatch`], and takes each
//! SA lock once per burst, so that under load the per-wakeup costs are shared.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use corridor_esp::DatagramBatch;
use tokio::net::UdpSocket;

use crate::dataplane::{self, Arrived};
use crate::device::{BURST, Device, Slots};
use crate::gateway::{Gateway, Notice, Tables, Tunnel};

/// State shared by the tasks.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) gateway: Arc<Mutex<Gateway>>,
    pub(crate) tables: Arc<RwLock<Tables>>,
    pub(crate) device: Arc<Device>,
    pub(crate) ike: Arc<UdpSocket>,
    pub(crate) nat_t: Arc<UdpSocket>,
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
        let mut slots = Slots::new();
        let mut froms: Vec<SocketAddr> = Vec::with_capacity(BURST);
        let mut inner: Vec<(usize, Range<usize>)> = Vec::with_capacity(BURST);
        let mut ike: Vec<usize> = Vec::new();
        let socket = self.nat_t.clone();
        loop {
            socket
                .readable()
                .await
                .context("waiting on the NAT-T socket")?;
            slots.clear();
            froms.clear();
            while let Some(buf) = slots.next_free() {
                match socket.try_recv_from(buf) {
                    Ok((n, from)) => {
                        slots.commit(n);
                        froms.push(from);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::debug!("NAT-T receive: {e}");
                        break;
                    }
                }
            }
            inner.clear();
            ike.clear();
            if let Ok(tables) = self.tables.read() {
                for (i, from) in froms.iter().enumerate() {
                    match dataplane::open(&tables, *from, slots.get_mut(i)) {
                        Arrived::Inner(range) => inner.push((i, range)),
                        Arrived::Ike => ike.push(i),
                        Arrived::Dropped(why) => tracing::trace!(%from, "dropped: {why}"),
                    }
                }
            }
            for &i in &ike {
                self.ike(&socket, froms[i], slots.get(i)).await;
            }
            let failed = self.device.send_burst(&slots, &inner).await;
            if failed > 0 {
                tracing::debug!("{failed} packets refused by the TUN device");
            }
        }
    }

    /// TUN → network: packets for clients, encapsulated per burst into one batch.
    pub(crate) async fn downlink(self) -> Result<()> {
        let mut slots = Slots::new();
        let mut batch = DatagramBatch::with_capacity(BURST, BURST * 2048);
        let mut targets: Vec<Option<Arc<Tunnel>>> = Vec::with_capacity(BURST);
        let mut sends: Vec<(SocketAddr, Range<usize>)> = Vec::new();
        loop {
            let n = self.device.recv_burst(&mut slots).await?;
            targets.clear();
            if let Ok(tables) = self.tables.read() {
                targets.extend((0..n).map(|i| dataplane::route(&tables, slots.get(i))));
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
                    dataplane::seal(&tunnel, (i..end).map(|k| slots.get(k)), &mut batch);
                if failed > 0 {
                    tracing::debug!("{failed} packets could not be encapsulated");
                }
                if let Some(remote) = remote {
                    sends.push((remote, first..batch.len()));
                }
                i = end;
            }
            for (remote, range) in &sends {
                for k in range.clone() {
                    let Some(datagram) = batch.get(k) else {
                        continue;
                    };
                    if let Err(e) = self.nat_t.send_to(datagram, *remote).await {
                        tracing::debug!(%remote, "ESP send: {e}");
                    }
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

//! The TUN device as the session driver sees it, across the whole life of a connection.
//!
//! The device exists only once the gateway has answered (its addresses and MTU come
//! from the answer), and it outlives each session: while a connection is re-established
//! the device and its routes stay, so that in a full tunnel nothing leaks past the
//! tunnel while it is down (packets wait in the device's queue or are dropped). A
//! [`TunSlot`] holds it; the driver gets a [`Lease`] borrowing the slot for one
//! session: reads wait until the device is there, writes before that are dropped.
//!
//! The slot also counts what goes through the device, for the once-a-second statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use corridor_platform::{Tun as _, TunDevice};
use corridor_tunnel::PacketDevice;
use corridor_tunnel::session_driver::DatagramBatch;
use tokio::sync::mpsc;

/// Inner traffic through the tunnel since the connection came up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes the device handed us to send (inner packets).
    pub bytes_out: u64,
    /// Inner packets sent.
    pub packets_out: u64,
    /// Bytes written to the device (decapsulated inner packets).
    pub bytes_in: u64,
    /// Inner packets received.
    pub packets_in: u64,
}

/// Counters shared between the data path and whoever reports them; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TrafficCounters(Arc<[AtomicU64; 4]>);

impl TrafficCounters {
    /// What was counted so far.
    pub fn snapshot(&self) -> Traffic {
        let [bytes_out, packets_out, bytes_in, packets_in] =
            std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed));
        Traffic {
            bytes_out,
            packets_out,
            bytes_in,
            packets_in,
        }
    }

    fn add_out(&self, packets: u64, bytes: u64) {
        self.0[0].fetch_add(bytes, Ordering::Relaxed);
        self.0[1].fetch_add(packets, Ordering::Relaxed);
    }

    fn add_in(&self, packets: u64, bytes: u64) {
        self.0[2].fetch_add(bytes, Ordering::Relaxed);
        self.0[3].fetch_add(packets, Ordering::Relaxed);
    }
}

/// A change to the slot, sent from outside the session that borrows it.
#[derive(Debug)]
enum Change {
    Install(Box<TunDevice>),
    Remove,
}

/// Where the connection's TUN device lives between sessions, and the way it arrives
/// (or goes) while a session already runs.
#[derive(Debug)]
pub struct TunSlot {
    device: Option<TunDevice>,
    sender: mpsc::UnboundedSender<Change>,
    changes: mpsc::UnboundedReceiver<Change>,
    counters: TrafficCounters,
}

/// Changes the slot's device while a session borrows the slot; the session sees the
/// change before its next read or write.
#[derive(Debug, Clone)]
pub struct Installer(mpsc::UnboundedSender<Change>);

impl Installer {
    /// Puts `tun` in the slot (replacing any device there); a session waiting to read
    /// starts reading it.
    pub fn install(&self, tun: TunDevice) {
        // The receiver lives in the slot, which outlives every installer use.
        let _ = self.0.send(Change::Install(Box::new(tun)));
    }

    /// Takes the device out and closes it.
    pub fn remove(&self) {
        let _ = self.0.send(Change::Remove);
    }
}

impl TunSlot {
    /// An empty slot counting into `counters`.
    pub fn new(counters: TrafficCounters) -> Self {
        let (sender, changes) = mpsc::unbounded_channel();
        Self {
            device: None,
            sender,
            changes,
            counters,
        }
    }

    /// A handle that changes the device while a session borrows the slot.
    pub fn installer(&self) -> Installer {
        Installer(self.sender.clone())
    }

    /// Applies the changes sent so far.
    fn apply_changes(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            self.apply(change);
        }
    }

    fn apply(&mut self, change: Change) {
        self.device = match change {
            Change::Install(tun) => Some(*tun),
            Change::Remove => None,
        };
    }

    /// Takes the device out (to delete it before the host is restored).
    pub fn remove(&mut self) -> Option<TunDevice> {
        self.apply_changes();
        self.device.take()
    }

    /// Whether a device is in.
    pub fn is_installed(&mut self) -> bool {
        self.apply_changes();
        self.device.is_some()
    }

    /// The slot as one session's packet device.
    pub fn lease(&mut self) -> Lease<'_> {
        Lease { slot: self }
    }
}

/// One session's use of a [`TunSlot`].
#[derive(Debug)]
pub struct Lease<'a> {
    slot: &'a mut TunSlot,
}

/// The platform's error as an I/O error, keeping the OS error code the driver uses to
/// tell a failed device from a dropped packet.
fn io_error(e: corridor_platform::Error) -> std::io::Error {
    match e {
        corridor_platform::Error::Tun { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    }
}

impl PacketDevice for Lease<'_> {
    async fn recv_batch(
        &mut self,
        bufs: &mut [&mut [u8]],
        sizes: &mut [usize],
    ) -> std::io::Result<usize> {
        let slot = &mut *self.slot;
        slot.apply_changes();
        loop {
            let TunSlot {
                device,
                changes,
                counters,
                ..
            } = &mut *slot;
            let change = match device {
                // Receiving from the channel is cancel-safe. The slot holds a sender, so
                // this waits until a device is installed.
                None => changes.recv().await,
                // Changes first: a device about to be removed must not be read again.
                // Both branches are cancel-safe (the device's batch read by its
                // contract).
                Some(tun) => tokio::select! {
                    biased;
                    change = changes.recv() => change,
                    read = tun.recv_batch(bufs, sizes) => {
                        let n = read.map_err(io_error)?;
                        let bytes: usize = sizes.iter().take(n).sum();
                        counters.add_out(n as u64, bytes as u64);
                        return Ok(n);
                    }
                },
            };
            match change {
                Some(change) => slot.apply(change),
                None => return Ok(0),
            }
        }
    }

    async fn send_batch(&mut self, packets: &DatagramBatch) -> std::io::Result<usize> {
        let slot = &mut *self.slot;
        slot.apply_changes();
        let Some(tun) = &mut slot.device else {
            return Ok(0);
        };
        let sent = tun
            .send_batch(packets.as_bytes(), packets.segments())
            .await
            .map_err(io_error)?;
        let bytes: usize = packets.iter().take(sent).map(<[u8]>::len).sum();
        slot.counters.add_in(sent as u64, bytes as u64);
        Ok(sent)
    }
}

//! The packet device a [`SessionDriver`](crate::SessionDriver) exchanges inner IP
//! packets with: a TUN device in production, a pair of channels in tests.
//!
//! Packets move in batches through buffers the driver owns, so that a steady data path
//! allocates nothing per packet and pays one wakeup (and, for a TUN device with
//! offloads, one system call) for many packets.

use std::future::Future;
use std::io;

use corridor_esp::DatagramBatch;
use tokio::sync::mpsc;

/// How many packets the driver gives room for in one [`PacketDevice::recv_batch`]:
/// enough for a 64 KiB TCP super-packet split at any MTU from 576 on.
pub const DEVICE_BATCH: usize = 128;
/// The size of each of the driver's receive buffers: the largest IP packet.
pub const MAX_PACKET: usize = 65_535;

/// Where inner packets come from and go to.
pub trait PacketDevice: Send {
    /// Waits for packets to send through the tunnel and writes them to the front of
    /// `bufs` (packet `i` is `bufs[i][..sizes[i]]`); returns how many. `Ok(0)` means
    /// the device is gone for good, which ends the session.
    ///
    /// Must be cancel-safe: the driver drops this future whenever a socket or a timer
    /// is ready first, and no packet may be lost then.
    ///
    /// # Errors
    /// An error with an OS error code means the device failed and ends the session;
    /// any other error means one read was dropped (a malformed packet).
    fn recv_batch(
        &mut self,
        bufs: &mut [&mut [u8]],
        sizes: &mut [usize],
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Hands packets that came out of the tunnel to the device; returns how many it
    /// took. Those it did not take are dropped, as a full device queue drops them.
    ///
    /// # Errors
    /// The device refused the batch; the driver counts its packets as dropped.
    fn send_batch(
        &mut self,
        packets: &DatagramBatch,
    ) -> impl Future<Output = io::Result<usize>> + Send;
}

/// A packet device made of two channels, one `Vec` per packet: for tests and for
/// callers that produce or consume packets themselves.
#[derive(Debug)]
pub struct DeviceChannels {
    /// Packets to send through the tunnel (what a TUN device reads from the OS).
    pub to_tunnel: mpsc::Receiver<Vec<u8>>,
    /// Packets that came out of the tunnel (what a TUN device writes to the OS).
    pub from_tunnel: mpsc::Sender<Vec<u8>>,
}

impl PacketDevice for DeviceChannels {
    async fn recv_batch(
        &mut self,
        bufs: &mut [&mut [u8]],
        sizes: &mut [usize],
    ) -> io::Result<usize> {
        let room = bufs.len().min(sizes.len());
        if room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no buffer to receive into",
            ));
        }
        // `recv` is cancel-safe; everything after it runs without waiting.
        let Some(first) = self.to_tunnel.recv().await else {
            return Ok(0);
        };
        let mut n = 0;
        let mut too_long = 0;
        let mut next = Some(first);
        while let Some(packet) = next {
            match bufs[n].get_mut(..packet.len()) {
                Some(buf) => {
                    buf.copy_from_slice(&packet);
                    sizes[n] = packet.len();
                    n += 1;
                }
                None => too_long += 1,
            }
            if n == room {
                break;
            }
            next = self.to_tunnel.try_recv().ok();
        }
        if n == 0 && too_long > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a packet is longer than the receive buffer",
            ));
        }
        Ok(n)
    }

    async fn send_batch(&mut self, packets: &DatagramBatch) -> io::Result<usize> {
        Ok(packets
            .iter()
            .filter(|packet| self.from_tunnel.try_send(packet.to_vec()).is_ok())
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channels_batch_what_is_queued_and_report_closing() {
        let (tx, to_tunnel) = mpsc::channel(8);
        let (from_tunnel, mut rx) = mpsc::channel(2);
        let mut device = DeviceChannels {
            to_tunnel,
            from_tunnel,
        };
        for packet in [&[1u8, 2][..], &[3], &[4, 5, 6]] {
            tx.send(packet.to_vec()).await.unwrap();
        }
        let mut storage = [0u8; 4 * 8];
        let mut bufs: Vec<&mut [u8]> = storage.chunks_mut(8).collect();
        let mut sizes = [0; 4];
        assert_eq!(device.recv_batch(&mut bufs, &mut sizes).await.unwrap(), 3);
        assert_eq!(&sizes[..3], &[2, 1, 3]);
        assert_eq!(&bufs[2][..3], &[4, 5, 6]);

        // A packet longer than the buffers is refused, not truncated.
        tx.send(vec![0; 9]).await.unwrap();
        assert!(device.recv_batch(&mut bufs, &mut sizes).await.is_err());
        drop(tx);
        assert_eq!(device.recv_batch(&mut bufs, &mut sizes).await.unwrap(), 0);

        // A full channel drops what does not fit.
        let mut out = DatagramBatch::new();
        for packet in [[7u8], [8], [9]] {
            out.push(&packet);
        }
        assert_eq!(device.send_batch(&out).await.unwrap(), 2);
        assert_eq!(rx.recv().await.unwrap(), vec![7]);
        assert_eq!(rx.recv().await.unwrap(), vec![8]);
    }
}

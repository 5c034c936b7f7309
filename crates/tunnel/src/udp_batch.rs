//! Batched I/O on the socket that carries ESP in UDP (port 4500): one system call
//! sends a run of equal-size datagrams (UDP generic segmentation offload, `UDP_SEGMENT`)
//! and one receives many (`recvmmsg`, with the kernel coalescing datagrams of a flow
//! into one buffer, `UDP_GRO`). quinn-udp owns the system calls and falls back to
//! one datagram per call where the kernel lacks either.
//!
//! It is switched on only once the Child SA is up: it also forbids IP fragmentation on
//! the socket (`IP_PMTUDISC_PROBE`), and an IKE_AUTH message with certificates may
//! need fragmenting when the gateway does not support IKE fragmentation (RFC 7383).
//! What IKE sends after that (informational exchanges, rekeying) is small.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::ops::Range;

use corridor_esp::DatagramBatch;
use quinn_udp::{BATCH_SIZE, RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Room for one receive buffer: the largest UDP payload, which is also the most the
/// kernel coalesces into one buffer.
const SLOT: usize = 65_536;
/// The most bytes one segmented send carries: a UDP datagram's length field (and the
/// IP packet around it) limit the whole, not one segment.
const MAX_GSO_BYTES: usize = 65_000;

/// What one segmented send covers: `bytes` of the batch, `count` datagrams of `size`
/// bytes each (the last may be shorter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) bytes: Range<usize>,
    pub(crate) size: usize,
    pub(crate) count: usize,
}

/// Splits back-to-back datagrams into runs that one segmented send can carry: equal
/// lengths, except that a shorter datagram may end a run (the kernel cuts the buffer
/// every `size` bytes), at most `max_segments` datagrams and [`MAX_GSO_BYTES`].
pub(crate) fn gso_runs(
    segments: &[Range<usize>],
    max_segments: usize,
) -> impl Iterator<Item = Run> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = segments.get(i)?;
        i += 1;
        let size = first.len();
        let mut run = Run {
            bytes: first.clone(),
            size,
            count: 1,
        };
        while run.count < max_segments && size > 0 {
            let Some(next) = segments.get(i) else { break };
            if next.start != run.bytes.end
                || next.len() > size
                || next.end - run.bytes.start > MAX_GSO_BYTES
            {
                break;
            }
            run.bytes.end = next.end;
            run.count += 1;
            i += 1;
            if next.len() < size {
                break;
            }
        }
        Some(run)
    })
}

/// The batched state of the ESP socket.
pub(crate) struct EspSocket {
    state: UdpSocketState,
    /// [`BATCH_SIZE`] receive buffers of [`SLOT`] bytes.
    storage: Vec<u8>,
    meta: [RecvMeta; BATCH_SIZE],
}

impl std::fmt::Debug for EspSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EspSocket")
            .field("gso_segments", &self.state.max_gso_segments())
            .field("gro_segments", &self.state.gro_segments())
            .finish()
    }
}

/// What a batched send did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) datagrams: u64,
    pub(crate) errors: u64,
}

impl EspSocket {
    /// Switches `socket` to batched I/O.
    pub(crate) fn new(socket: &UdpSocket) -> io::Result<Self> {
        let state = UdpSocketState::new(UdpSockRef::from(socket))?;
        tracing::debug!(
            gso_segments = state.max_gso_segments(),
            gro_segments = state.gro_segments(),
            "batched I/O on the ESP socket"
        );
        Ok(Self {
            state,
            storage: vec![0; SLOT * BATCH_SIZE],
            meta: [RecvMeta::default(); BATCH_SIZE],
        })
    }

    /// Reads what is queued on `socket` without waiting, at most [`BATCH_SIZE`]
    /// buffers, and hands every datagram in them to `each`. Returns the number of
    /// datagrams; `WouldBlock` when nothing was queued.
    pub(crate) fn try_recv(
        &mut self,
        socket: &UdpSocket,
        mut each: impl FnMut(&mut [u8]),
    ) -> io::Result<usize> {
        let received = {
            let mut chunks = self.storage.chunks_exact_mut(SLOT);
            let mut slices: [IoSliceMut<'_>; BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let (state, meta) = (&self.state, &mut self.meta);
            socket.try_io(Interest::READABLE, || {
                state.recv(UdpSockRef::from(socket), &mut slices, meta)
            })?
        };
        let mut datagrams = 0;
        for (slot, meta) in self
            .storage
            .chunks_exact_mut(SLOT)
            .zip(&self.meta)
            .take(received)
        {
            let data = slot.get_mut(..meta.len).unwrap_or_default();
            // Without coalescing the stride is the whole buffer.
            let stride = if meta.stride == 0 {
                data.len().max(1)
            } else {
                meta.stride
            };
            for datagram in data.chunks_mut(stride) {
                each(datagram);
                datagrams += 1;
            }
        }
        Ok(datagrams)
    }

    /// Sends every datagram of `batch` to `destination`, one system call per run of
    /// equal-size datagrams. A refused segmented send (a device without segmentation)
    /// is repeated one datagram at a time; quinn-udp stops segmenting from then on.
    pub(crate) async fn send(
        &self,
        socket: &UdpSocket,
        destination: SocketAddr,
        batch: &DatagramBatch,
    ) -> Sent {
        let mut sent = Sent::default();
        let bytes = batch.as_bytes();
        for run in gso_runs(batch.segments(), self.state.max_gso_segments().max(1)) {
            let contents = bytes.get(run.bytes.clone()).unwrap_or_default();
            match self
                .send_one(socket, destination, contents, run.count > 1, run.size)
                .await
            {
                Ok(()) => sent.datagrams += run.count as u64,
                Err(e) if run.count > 1 && self.state.max_gso_segments() <= 1 => {
                    tracing::debug!(error = %e, "segmented send refused; one by one");
                    for datagram in contents.chunks(run.size) {
                        match self.send_one(socket, destination, datagram, false, 0).await {
                            Ok(()) => sent.datagrams += 1,
                            Err(_) => sent.errors += 1,
                        }
                    }
                }
                Err(e) => {
                    tracing::trace!(error = %e, datagrams = run.count, "ESP send failed");
                    sent.errors += run.count as u64;
                }
            }
        }
        sent
    }

    async fn send_one(
        &self,
        socket: &UdpSocket,
        destination: SocketAddr,
        contents: &[u8],
        segmented: bool,
        size: usize,
    ) -> io::Result<()> {
        let transmit = Transmit {
            destination,
            ecn: None,
            contents,
            segment_size: segmented.then_some(size),
            src_ip: None,
        };
        socket
            .async_io(Interest::WRITABLE, || {
                self.state.try_send(UdpSockRef::from(socket), &transmit)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(lengths: &[usize]) -> DatagramBatch {
        let mut batch = DatagramBatch::new();
        for (i, len) in lengths.iter().enumerate() {
            batch.push(&vec![i as u8; *len]);
        }
        batch
    }

    fn runs(lengths: &[usize], max: usize) -> Vec<(usize, usize)> {
        let b = batch(lengths);
        gso_runs(b.segments(), max)
            .map(|r| (r.size, r.count))
            .collect()
    }

    #[test]
    fn equal_datagrams_go_in_one_run_a_shorter_one_ends_it() {
        assert_eq!(runs(&[100, 100, 100, 40, 100], 64), [(100, 4), (100, 1)]);
        assert_eq!(runs(&[40, 100, 100], 64), [(40, 1), (100, 2)]);
        assert_eq!(runs(&[], 64), []);
        assert_eq!(runs(&[100; 5], 2), [(100, 2), (100, 2), (100, 1)]);
        assert_eq!(runs(&[100; 3], 1), [(100, 1); 3]);
    }

    #[test]
    fn a_run_stays_within_one_udp_datagram() {
        let lengths = [1400; 100];
        let all = runs(&lengths, 64);
        assert!(all.iter().all(|(_, count)| count * 1400 <= MAX_GSO_BYTES));
        assert_eq!(all.iter().map(|(_, c)| c).sum::<usize>(), 100);
    }

    #[test]
    fn run_bytes_cover_the_batch_in_order() {
        let b = batch(&[10, 10, 5, 7, 7]);
        let covered: Vec<Range<usize>> = gso_runs(b.segments(), 64).map(|r| r.bytes).collect();
        assert_eq!(covered, [0..25, 25..39]);
    }

    #[tokio::test]
    async fn batched_datagrams_arrive_one_by_one() {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        let esp_out = EspSocket::new(&sender).unwrap();
        let mut esp_in = EspSocket::new(&receiver).unwrap();
        let b = batch(&[1200, 1200, 1200, 300, 1200]);
        let sent = esp_out.send(&sender, to, &b).await;
        assert_eq!(
            sent,
            Sent {
                datagrams: 5,
                errors: 0
            }
        );
        let mut got: Vec<Vec<u8>> = Vec::new();
        while got.len() < 5 {
            receiver.readable().await.unwrap();
            match esp_in.try_recv(&receiver, |d| got.push(d.to_vec())) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        let expected: Vec<Vec<u8>> = b.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(got, expected);
    }
}

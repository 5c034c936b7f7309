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

use corridor_esp::{DatagramBatch, gso_runs};
use quinn_udp::{BATCH_SIZE, RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Room for one receive buffer: the largest UDP payload, which is also the most the
/// kernel coalesces into one buffer.
const SLOT: usize = 65_536;
/// The batched state of the ESP socket.
pub(crate) struct EspSocket {
    state: UdpSocketState,
    /// [`BATCH_SIZE`] receive buffers of [`SLOT`] bytes, which also hold the inner
    /// packets decrypted in place: the batch the device gets, without a copy.
    received: DatagramBatch,
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
        match corridor_platform::enlarge_socket_buffers(
            socket,
            corridor_platform::TUNNEL_SOCKET_BUFFER,
        ) {
            Ok(sizes) => tracing::debug!(?sizes, "ESP socket buffers"),
            Err(e) => tracing::debug!(error = %e, "cannot size the ESP socket buffers"),
        }
        tracing::debug!(
            gso_segments = state.max_gso_segments(),
            gro_segments = state.gro_segments(),
            "batched I/O on the ESP socket"
        );
        Ok(Self {
            state,
            received: DatagramBatch::with_capacity(BATCH_SIZE * 64, SLOT * BATCH_SIZE),
            meta: [RecvMeta::default(); BATCH_SIZE],
        })
    }

    /// Reads what is queued on `socket` without waiting, at most [`BATCH_SIZE`]
    /// buffers, and hands every datagram in them to `each`, which may rewrite it in
    /// place and name the range of it to keep. Returns the number of datagrams;
    /// `WouldBlock` when nothing was queued. The kept ranges are then
    /// [`EspSocket::kept`], until the next receive.
    pub(crate) fn try_recv(
        &mut self,
        socket: &UdpSocket,
        mut each: impl FnMut(&mut [u8]) -> Option<Range<usize>>,
    ) -> io::Result<usize> {
        self.received.clear();
        let received = {
            let storage = self.received.buffer_mut(SLOT * BATCH_SIZE);
            let mut chunks = storage.chunks_exact_mut(SLOT);
            let mut slices: [IoSliceMut<'_>; BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let (state, meta) = (&self.state, &mut self.meta);
            socket.try_io(Interest::READABLE, || {
                state.recv(UdpSockRef::from(socket), &mut slices, meta)
            })?
        };
        let mut datagrams = 0;
        for (i, meta) in self.meta.iter().enumerate().take(received) {
            let start = i * SLOT;
            let len = meta.len.min(SLOT);
            // Without coalescing the stride is the whole buffer.
            let stride = if meta.stride == 0 {
                len.max(1)
            } else {
                meta.stride
            };
            let mut at = 0;
            while at < len {
                let end = (at + stride).min(len);
                let datagram = start + at..start + end;
                let buffer = self.received.buffer_mut(0);
                if let Some(keep) = buffer.get_mut(datagram.clone()).and_then(&mut each)
                    && keep.start <= keep.end
                    && keep.end <= datagram.len()
                {
                    // Within the buffer, which was checked just above.
                    let _ = self
                        .received
                        .push_in_place(datagram.start + keep.start..datagram.start + keep.end);
                }
                datagrams += 1;
                at = end;
            }
        }
        Ok(datagrams)
    }

    /// What [`EspSocket::try_recv`] kept of the last datagrams, in order.
    pub(crate) fn kept(&self) -> &DatagramBatch {
        &self.received
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

    #[tokio::test]
    async fn batched_datagrams_arrive_one_by_one() {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        let (esp_out, mut esp_in) = match (EspSocket::new(&sender), EspSocket::new(&receiver)) {
            (Ok(out), Ok(r#in)) => (out, r#in),
            (Err(e), _) | (_, Err(e)) => {
                // Linux and Windows 10+ have the socket options; Wine's Winsock lacks
                // some. The session driver then keeps one datagram per call
                // (`enable_batched_udp`), which is all this test could check here.
                if !cfg!(windows) {
                    panic!("batched I/O refused on this OS: {e}");
                }
                eprintln!("batched UDP I/O is not available here ({e}); nothing to test");
                return;
            }
        };
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
            match esp_in.try_recv(&receiver, |d| {
                got.push(d.to_vec());
                Some(1..d.len())
            }) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        let expected: Vec<Vec<u8>> = b.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(got, expected);
        // What the callback kept stays in place until the next receive.
        let kept = esp_in.kept();
        assert!(kept.iter().all(|d| d.iter().all(|&byte| byte == d[0])));
        assert!(kept.len() <= 5);
    }
}
